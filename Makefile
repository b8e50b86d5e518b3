# Two commands do everything on a fresh machine:
#   make run    # set up .venv, run the whole notebook, build the report, say where the outputs are
#   make test   # set up .venv, run the test suite; nbval runs the notebook once (smoke profile) among it
# Options: PROFILE=smoke|quick|full (default: $HW2_PROFILE, else full with a CUDA GPU, else quick);
#          DATASET=fashion-mnist|mnist (default: $HW2_DATASET, else fashion-mnist; MNIST writes results/<profile>-mnist/);
#          PYTHON=python3.11 (the interpreter that creates .venv).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROFILE ?=
DATASET ?=
ifneq ($(strip $(DATASET)),)
export HW2_DATASET := $(DATASET)
endif

.PHONY: run test report bench clean help
.DEFAULT_GOAL := help

help:
	@echo "make run    - install into $(VENV) if needed, execute homework2.ipynb, build the report"
	@echo "make test   - install into $(VENV) if needed, run the tests; nbval runs the notebook (smoke profile)"
	@echo "make report - rebuild the PDF report from an existing run's metrics.json"
	@echo "make bench  - training throughput, conventional DataLoader vs the project's pipeline"
	@echo "options: PROFILE=smoke|quick|full DATASET=fashion-mnist|mnist"

# Re-installs whenever requirements.txt changes.
$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -r requirements.txt
	@touch $@

run: $(STAMP)
	@set -e; \
	profile=$$($(PY) -m helpers.config $(PROFILE)); \
	dataset=$$($(PY) -m helpers.config --dataset); \
	out=$$($(PY) -m helpers.config $$profile --dir); \
	mkdir -p "$$out"; \
	echo "== running homework2.ipynb with profile '$$profile' on $$dataset =="; \
	start=$$(date +%s); \
	$(PY) -m papermill homework2.ipynb "$$out/homework2.ipynb" -p PROFILE "$$profile" -p DATASET "$$dataset" \
		--cwd "$(CURDIR)"; \
	echo "notebook finished in $$(( $$(date +%s) - start )) s"; \
	$(PY) -m helpers.report "$$profile"; \
	echo "outputs: $$out (executed notebook homework2.ipynb, metrics.json, figures/, report.pdf if LaTeX is installed)"

report: $(STAMP)
	$(PY) -m helpers.report $(PROFILE)

# Training throughput: conventional DataLoader pipeline vs the project's (results/bench/).
bench: $(STAMP)
	$(PY) -m helpers.bench $(BENCH_ARGS)

# pytest (pytest.ini) collects tests/ and homework2.ipynb, which nbval executes under the smoke profile.
# pytest exits 5 when it collects no tests: that is a failure here, and said so.
test: $(STAMP)
	@$(PY) -m pytest || { rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests" >&2; exit $$rc; }

clean:
	rm -rf .pytest_cache report/build
