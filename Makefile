# Quickstart targets. A fresh clone needs only Python 3.10-3.12:
#   make demo   set up .venv, train the default config on the bundled digits, export
#   make test   set up .venv with the test extras, run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CONFIG ?= configs/wgan_gp_digits.yaml
DEMO_WORKDIR ?= runs/demo

.PHONY: install demo test test-heavy test-fast bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tfgan-train --config=$(DEMO_CONFIG) --workdir=$(DEMO_WORKDIR)

# The suite but its long end-to-end runs, over TEST_WORKERS processes (about 11 minutes
# on 2 CPU cores).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not heavy"

# The long end-to-end runs (every docs block twice in a fresh folder, SIGKILL resumes,
# two replicas against one device, ProGAN's growth, every smoke config through the
# binary): about 13 minutes on 2 CPU cores. CI runs them after make test.
test-heavy: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m heavy

# Unit tests and two train steps of every family (no binaries, no long training):
# about a minute on 2 CPU cores.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not heavy"

# Benchmarks (CPU hours in all). Each line rewrites the committed result of its --name,
# bench/results/<script>/<name>.{json,md,png} (names as committed; stamped with the CPU,
# commit and precision), then bench.index rewrites bench/results/INDEX.md.
# python -m bench.<script> --help says what each takes; --print-output-paths what it writes.
FASHION_MNIST ?= ../shared/data/fashion-mnist
EMOJI_NOTO ?= ../shared/data/emoji-noto
BENCH := $(BIN)/python -m bench
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BENCH).toy_mixtures --out bench/results
	$(BENCH).toy_mixtures --families sngan r3gan --steps 3000 --seeds 0 1 2 \
		--name toy_mixtures_new --out bench/results
	$(BENCH).toy_mixtures --families r3gan --datasets ring8 --seeds 0 1 2 \
		--name toy_r3gan_ring8_own_steps --out bench/results
	$(BENCH).toy_mixtures --families r3gan --datasets grid25 --seeds 0 1 \
		--name toy_r3gan_grid25_own_steps --out bench/results
	$(BENCH).toy_mixtures --families r3gan --datasets grid25 --seeds 2 \
		--name toy_r3gan_grid25_own_steps_s2 --out bench/results
	$(BENCH).toy_mixtures --families wgan_gp --datasets ring12 ring5 grid16 grid36 \
		--name toy_variants --out bench/results
	$(BENCH).toy_mixtures --families wgan_gp --datasets ring8 \
		--override optimizer.name=optimistic_adam --name toy_oadam_ring8 --out bench/results
	$(BENCH).toy_mixtures --families wgan_gp --datasets grid25 --seeds 0 \
		--override optimizer.name=optimistic_adam --name toy_oadam_grid25 --out bench/results
	$(BENCH).toy_mixtures --families wgan_gp --datasets grid25 --seeds 1 2 3 4 \
		--override optimizer.name=optimistic_adam --name toy_oadam_grid25_s1234 --out bench/results
	$(BENCH).fashion_quality --data $(FASHION_MNIST) --out bench/results \
		--runs peer,peer:alpha=uniform,peer:reuse_real=false,peer:critic_steps=5,peer:precision=mixed_bfloat16,peer:ema_half_life=10000,peer:learning_rate=1e-4,peer:networks=library \
		--seeds 0 --name fashion_quality_ablation
	$(BENCH).began_gamma --out bench/results
	$(BENCH).began_coverage --name began_coverage_decay --out bench/results \
		--variants "as shipped=" "without latent recovery=began.latent_recovery=0"
	$(BENCH).fashion_quality --data $(FASHION_MNIST) --out bench/results
	$(BENCH).fashion_quality --data $(FASHION_MNIST) --out bench/results --train_images 6000 \
		--runs sngan,sngan:augment.policy=color+translation+cutout,sngan:augment.policy=color+translation+cutout:augment.target=0.6,sngan:augment.policy=translation+cutout,wgan_gp,wgan_gp:augment.policy=color+translation+cutout,r3gan,r3gan:augment.policy=color+translation+cutout \
		--seeds 0 1 --name fashion_quality_limited
	$(BENCH).fashion_quality --data $(FASHION_MNIST) --out bench/results \
		--runs sngan,sngan:augment.policy=color+translation+cutout,r3gan,r3gan:augment.policy=color+translation+cutout,wgan_gp,wgan_gp:augment.policy=color+translation+cutout \
		--name fashion_quality_new
	$(BENCH).progan_speed --data $(FASHION_MNIST) --out bench/results
	$(BENCH).progan_speed --data $(FASHION_MNIST) --seed 1 --name progan_speed_seed1 \
		--out bench/results
	$(BENCH).progan_speed --data $(FASHION_MNIST) --learning_rate 1e-3 \
		--name progan_speed_constant_lr --out bench/results
	$(BENCH).progan_speed --data $(FASHION_MNIST) --learning_rate 1e-3 --seed 1 \
		--name progan_speed_seed1_constant_lr --out bench/results
	$(BENCH).stacked_digits --digits_configs --out bench/results
	$(BENCH).stacked_digits --digits_configs --families sngan r3gan --seeds 0 1 \
		--name stacked_digits_new --out bench/results
	$(BENCH).stacked_digits --digits_configs --families wgan_gp --seeds 0 1 2 3 4 \
		--name stacked_adam --out bench/results
	$(BENCH).stacked_digits --digits_configs --families wgan_gp --seeds 0 1 2 3 4 \
		--override optimizer.name=optimistic_adam --name stacked_oadam --out bench/results
	$(BENCH).stacked_digits --families wgan_gp --seeds 1 --steps 8000 \
		--name stacked_wgan_gp_8000_s1 --out bench/results
	$(BENCH).stacked_digits --families wgan_gp --seeds 0 --steps 16000 \
		--name stacked_wgan_gp_16000 --out bench/results
	$(BENCH).stacked_digits --families wgan_gp --seeds 0 --steps 32000 \
		--name stacked_wgan_gp_32000 --out bench/results
	$(BENCH).stacked_digits --families progan --seeds 1 \
		--name stacked_progan_config_s1 --out bench/results
	$(BENCH).stacked_digits --families dcgan wgan --seeds 0 --steps 4000 \
		--override model.g_filters=64 --override model.d_filters=64 --name stacked_rows_4000 \
		--out bench/results
	$(BENCH).stacked_digits --families wgan_gp --seeds 0 --steps 4000 \
		--override model.pack=2 --name stacked_wgan_gp_tryE_pack2 --out bench/results
	$(BENCH).stacked_digits --families began --seeds 0 1 \
		--name stacked_digits_began_decay --out bench/results
	$(BENCH).robustness --out bench/results
	$(BENCH).step_profile --out bench/results
	$(BENCH).layer_speed --name layer_speed_amx_xeon --out bench/results
	$(BENCH).gradient_precision --name gradient_precision_amx_xeon --out bench/results
	$(BENCH).precision_quality --out bench/results
	$(BENCH).wasserstein_estimate --out bench/results
	$(BENCH).train_step_speed --out bench/results
	$(BENCH).lazy_penalty --out bench/results
	$(BENCH).emoji_quality --data $(EMOJI_NOTO) --resolution 32 --budget_minutes 30 \
		--eval_every_minutes 5 --seeds 0 --runs sngan,peer_cgan --jobs 2 --threads 1 \
		--name emoji_quality_32 --out bench/results
	$(BENCH).emoji_quality --data $(EMOJI_NOTO) --resolution 64 --speed \
		--speed_runs sngan,dcgan,r3gan,peer,peer_cgan --speed_seconds 20 --warm_seconds 15 \
		--name emoji_quality_speed_64 --out bench/results
	$(BENCH).step_profile --configs sngan_emoji_64,dcgan_emoji_64 --name step_profile_emoji_64 \
		--out bench/results
	$(BENCH).step_memory --out bench/results
	$(BENCH).penalty_pass --out bench/results
	$(BIN)/python -m bench.index

clean:
	rm -rf $(VENV) runs *.egg-info
