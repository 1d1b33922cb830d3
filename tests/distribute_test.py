"""tf.distribute: strategies from the config, 1 vs 2 replicas, two workers on localhost."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from helpers import CONFIGS, REPO
from tfgan_stable import distribute
from tfgan_stable import families as family_lib

pytestmark = [pytest.mark.slow, pytest.mark.heavy]  # long runs: make test-heavy

FAMILIES = family_lib.names()
# class-conditional GANs (tests/conditional_test.py): labels split over the replicas too
CONDITIONAL = ["conditional_wgan_gp", "conditional_r3gan"]


@pytest.fixture(scope="module")
def replica_runs():
    """Each family trained on one device and on two logical CPUs, one process each."""
    script = os.path.join(REPO, "tests", "replica_equivalence.py")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    processes = {family: subprocess.Popen([sys.executable, script, family], cwd=REPO, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True)
                 for family in FAMILIES + CONDITIONAL}
    results = {}
    for family, process in processes.items():
        out, err = process.communicate(timeout=600)
        results[family] = (process.returncode, out, err)
    return results


@pytest.mark.parametrize("family", FAMILIES + CONDITIONAL)
def test_two_replicas_give_the_losses_and_weights_of_one_device(replica_runs, family):
    returncode, out, err = replica_runs[family]
    assert returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    # the runs trained: the losses move from step to step
    assert len(set(np.round(result["losses"]["d_loss"], 7))) > 1
    worst_loss = max(result["loss_gap"].items(), key=lambda item: item[1])
    worst_weight = max(result["weight_gap"].items(), key=lambda item: item[1])
    assert worst_loss[1] < 1e-5, worst_loss
    assert worst_weight[1] < 1e-5, worst_weight
    assert len(result["weight_gap"]) > 4  # networks, EMA, optimizer slots, counters


def test_make_strategy_by_name():
    assert distribute.make_strategy("default") is tf.distribute.get_strategy()
    mirrored = distribute.make_strategy("mirrored", devices=["/cpu:0"])
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync == 1
    with pytest.raises(ValueError, match="train.strategy must be one of"):
        distribute.make_strategy("horovod")


def test_multi_worker_rejects_a_broken_tf_config(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{cluster: ")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        distribute.make_strategy("multi_worker")


class _Strategy:
    def __init__(self, cluster, task_type, task_id):
        self.cluster_resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)


def test_the_chief_is_the_chief_task_or_worker_0():
    two_workers = {"worker": ["localhost:1", "localhost:2"]}
    assert distribute.is_chief(_Strategy(two_workers, "worker", 0))
    assert not distribute.is_chief(_Strategy(two_workers, "worker", 1))
    with_chief = {"chief": ["localhost:0"], "worker": ["localhost:1"]}
    assert distribute.is_chief(_Strategy(with_chief, "chief", 0))
    assert not distribute.is_chief(_Strategy(with_chief, "worker", 0))
    assert distribute.worker_name(_Strategy(two_workers, "worker", 1)) == "worker_1"
    assert distribute.is_chief(tf.distribute.get_strategy())


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_on_localhost_train_and_the_chief_exports_their_weights(tmp_path):
    from tfgan_stable import export

    workers = [f"localhost:{port}" for port in _free_ports(2)]
    workdir, exports = tmp_path / "run", tmp_path / "exports"
    command = [sys.executable, "-m", "tfgan_stable.main",
               f"--config={os.path.join(CONFIGS, 'smoke', 'wgan_gp.yaml')}",
               f"--workdir={workdir}", "--override=train.strategy=multi_worker",
               f"--override=export.dir={exports}"]
    processes = []
    for index in range(2):
        cluster = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(cluster), TF_CPP_MIN_LOG_LEVEL="2")
        processes.append(subprocess.Popen(command, cwd=REPO, env=env, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-4000:]
        assert "trained 4 generator steps" in output
    chief = export.load_exported(str(exports / "smoke_wgan_gp" / "1"))
    worker = export.load_exported(
        str(workdir / "workers" / "worker_1" / "export" / "smoke_wgan_gp" / "1"))
    z = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.testing.assert_allclose(chief.generate(z), worker.generate(z), atol=1e-6)
    # the worker kept its own backup; the chief's is in the run folder
    assert (workdir / "backup" / "state.weights.h5").is_file()
    assert (workdir / "workers" / "worker_1" / "backup" / "state.weights.h5").is_file()
