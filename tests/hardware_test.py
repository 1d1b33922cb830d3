"""hardware: the precision ``train.mixed_precision: auto`` picks, from hand-written machines."""

import pytest

from tfgan_stable import hardware

AMX = frozenset({"avx2", "avx512f", "amx_tile", "amx_bf16", "avx512_bf16"})
ZEN4 = frozenset({"avx2", "avx512f", "avx512_bf16"})
OLD_CPU = frozenset({"sse4_2", "avx2", "fma"})


@pytest.mark.parametrize("cpu, gpus, tpu, policy, reason", [
    (AMX, [], False, "mixed_bfloat16", "AMX_BF16, AVX512_BF16"),
    (ZEN4, [], False, "mixed_bfloat16", "AVX512_BF16"),
    (OLD_CPU, [], False, "float32", "neither AMX-BF16 nor AVX512-BF16"),
    (frozenset(), [], False, "float32", "emulated"),
    # The GPUs decide, whatever the CPU has.
    (OLD_CPU, [("NVIDIA A100", (8, 0))], False, "mixed_bfloat16", "NVIDIA A100"),
    (AMX, [("NVIDIA H200", (9, 0)), ("NVIDIA H200", (9, 0))], False, "mixed_bfloat16", "H200"),
    (AMX, [("Tesla V100", (7, 0))], False, "float32", "Tesla V100 (7.0)"),
    (AMX, [("NVIDIA A100", (8, 0)), ("Tesla T4", (7, 5))], False, "float32", "Tesla T4 (7.5)"),
    (OLD_CPU, [], True, "mixed_bfloat16", "TPU"),
])
def test_choose_precision(cpu, gpus, tpu, policy, reason):
    chosen, why = hardware.choose_precision(cpu, gpus, tpu=tpu)
    assert chosen == policy
    assert reason in why


def test_cpu_flags_and_description_read_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU 9000\n"
                       "flags\t\t: fpu avx512f avx512_bf16 amx_tile\n\n"
                       "processor\t: 1\nmodel name\t: Example CPU 9000\nflags\t\t: fpu\n")
    assert hardware.cpu_flags(str(cpuinfo)) == {"fpu", "avx512f", "avx512_bf16", "amx_tile"}
    description = hardware.cpu_description(str(cpuinfo))
    assert description["model"] == "Example CPU 9000"
    assert description["bf16_features"] == ["avx512_bf16"]
    assert hardware.cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_auto_precision_on_this_machine_agrees_with_its_cpu():
    policy, reason = hardware.auto_precision()
    if hardware.gpu_capabilities():
        pytest.skip("GPUs decide; covered by the hand cases")
    has_bf16 = bool(hardware.cpu_description()["bf16_features"])
    assert policy == ("mixed_bfloat16" if has_bf16 else "float32"), reason
