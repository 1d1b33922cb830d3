# Quickstart targets. A fresh clone needs only Python 3.10-3.12:
#   make demo   set up .venv, train the default config on the bundled digits, export
#   make test   set up .venv with the test extras, run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CONFIG ?= configs/wgan_gp_digits.yaml
DEMO_WORKDIR ?= runs/demo

.PHONY: install demo test test-fast bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tfgan-train --config=$(DEMO_CONFIG) --workdir=$(DEMO_WORKDIR)

# The whole suite, spread over TEST_WORKERS processes (about 8 minutes on 2 CPU cores).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# Unit tests only (no training, no binaries): under a minute.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# Benchmarks (CPU minutes each); results land in bench/results/.
FASHION_MNIST ?= ../shared/data/fashion-mnist
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python bench/toy_mixtures.py --out bench/results
	$(BIN)/python bench/toy_mixtures.py --families wgan_gp --datasets ring12 ring5 grid16 grid36 \
		--name toy_variants --out bench/results
	$(BIN)/python bench/toy_mixtures.py --families wgan_gp --override optimizer.name=optimistic_adam \
		--name toy_optimistic_adam --out bench/results
	$(BIN)/python bench/fashion_quality.py --data $(FASHION_MNIST) --out bench/results \
		--runs peer,peer:alpha=uniform,peer:reuse_real=false,peer:critic_steps=5,peer:precision=mixed_bfloat16,peer:ema_half_life=10000,peer:learning_rate=1e-4,peer:networks=library \
		--seeds 0 --name fashion_quality_ablation
	$(BIN)/python bench/began_gamma.py --out bench/results
	$(BIN)/python bench/began_coverage.py --name began_coverage_decay --out bench/results \
		--variants "as shipped=" "without latent recovery=began.latent_recovery=0"
	$(BIN)/python bench/fashion_quality.py --data $(FASHION_MNIST) --out bench/results
	$(BIN)/python bench/progan_speed.py --data $(FASHION_MNIST) --out bench/results
	$(BIN)/python bench/progan_speed.py --data $(FASHION_MNIST) --seed 1 --name progan_speed_seed1 \
		--out bench/results
	$(BIN)/python bench/progan_speed.py --data $(FASHION_MNIST) --learning_rate 1e-3 \
		--name progan_speed_constant_lr --out bench/results
	$(BIN)/python bench/progan_speed.py --data $(FASHION_MNIST) --learning_rate 1e-3 --seed 1 \
		--name progan_speed_seed1_constant_lr --out bench/results
	$(BIN)/python bench/stacked_digits.py --digits_configs --out bench/results
	$(BIN)/python bench/stacked_digits.py --digits_configs --families wgan_gp --seeds 0 1 2 3 4 \
		--name stacked_adam --out bench/results
	$(BIN)/python bench/stacked_digits.py --digits_configs --families wgan_gp --seeds 0 1 2 3 4 \
		--override optimizer.name=optimistic_adam --name stacked_oadam --out bench/results
	$(BIN)/python bench/stacked_digits.py --families wgan_gp --seeds 0 1 --steps 8000 \
		--name stacked_wgan_gp_config --out bench/results
	$(BIN)/python bench/stacked_digits.py --families wgan_gp --seeds 0 --steps 16000 \
		--name stacked_wgan_gp_16000 --out bench/results
	$(BIN)/python bench/stacked_digits.py --families wgan_gp --seeds 0 --steps 32000 \
		--name stacked_wgan_gp_32000 --out bench/results
	$(BIN)/python bench/stacked_digits.py --families progan --seeds 0 1 \
		--name stacked_progan_config --out bench/results
	$(BIN)/python bench/stacked_digits.py --families wgan_gp dcgan wgan --seeds 0 --steps 4000 \
		--override model.g_filters=64 --override model.d_filters=64 --name stacked_rows_4000 \
		--out bench/results
	$(BIN)/python bench/stacked_digits.py --families wgan_gp --seeds 0 --steps 4000 \
		--override model.pack=2 --name stacked_wgan_gp_pack2 --out bench/results
	$(BIN)/python bench/stacked_digits.py --families began --seeds 0 1 \
		--name stacked_digits_began_decay --out bench/results
	$(BIN)/python bench/robustness.py --out bench/results
	$(BIN)/python bench/step_profile.py --out bench/results
	$(BIN)/python bench/layer_speed.py --out bench/results
	$(BIN)/python bench/gradient_precision.py --out bench/results
	$(BIN)/python bench/precision_quality.py --out bench/results
	$(BIN)/python bench/wasserstein_estimate.py --out bench/results
	$(BIN)/python bench/train_step_speed.py --out bench/results
	$(BIN)/python bench/lazy_penalty.py --out bench/results

clean:
	rm -rf $(VENV) runs *.egg-info
