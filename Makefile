# The two commands a newcomer needs (README): `make lab` opens the notebooks, `make test` runs every test tier.
# Both run the set-up first; it is idempotent and takes about a second when there is nothing to do.
PY := .venv/bin/python
# Threads: `make lab` lets llmviz.load() choose from the machine (one thread on <= 2 cores, under CI or on a busy
# machine, where two threads fighting another process made PyTorch 5-10x slower; torch's default where cores are to
# spare; LLMVIZ_THREADS=n overrides). Tests and benchmarks keep one thread, so their figures compare across machines.
ONE_THREAD := OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=$${MKL_NUM_THREADS:-1}
# Nothing may reach a model hub: every model llmviz uses is shipped or converted locally at set-up.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup lab hub test test-fast strip lint bench explain site
setup:
	@bash scripts/setup.sh

# JupyterLab on 127.0.0.1 only, opening the tour. (--allow-root: JupyterLab refuses to start as root otherwise.)
# (Set-up disables the announcements plugin, whose "get notified about news" toast covers the page.)
LAB_ARGS ?=
lab: setup
	.venv/bin/jupyter lab notebooks/00_tour.ipynb --ip=127.0.0.1 \
		$(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

# A whole class on this machine: JupyterHub on 127.0.0.1:8000 (deploy/hub/jupyterhub_config.py; docs/classroom.md).
# Learners log in with any name and the class password, and land in the tour. Stop it with Ctrl-C: that stops every
# learner's server too. The hub's database and learners' homes live in build/hub/.
hub: setup
	@if [ -z "$$LLMVIZ_HUB_PASSWORD" ]; then echo "make hub: set the class password first, e.g." \
		"LLMVIZ_HUB_PASSWORD='choose-8+-chars' make hub (docs/classroom.md)"; exit 2; fi
	.venv/bin/jupyterhub -f deploy/hub/jupyterhub_config.py

# Every tier: the library's tests, the SmolLM2 tier, the notebooks through nbval, and the browser tier.
test: setup
	bash scripts/test.sh

# The library's tests alone, without SmolLM2, the notebooks or the browser.
test-fast: setup
	$(ONE_THREAD) $(PY) -m pytest tests -m "not slow and not browser" -p no:cacheprovider

# Committed notebooks carry no outputs (nbval re-runs them; outputs would only bloat diffs). The notebook's kernelspec
# stays: without it JupyterLab asks the learner to pick a kernel. So do two cell metadata keys: `tags` and `jupyter`
# (`source_hidden` collapses the test cells, tagged "test", that drive a second copy of a widget for nbval).
strip: setup
	.venv/bin/jupyter nbconvert --clear-output --ClearMetadataPreprocessor.enabled=True \
		--ClearMetadataPreprocessor.clear_notebook_metadata=False \
		--ClearMetadataPreprocessor.preserve_cell_metadata_mask=tags \
		--ClearMetadataPreprocessor.preserve_cell_metadata_mask=jupyter --inplace notebooks/*.ipynb

# The course as a static site in build/site/: every notebook run on a fresh kernel, rendered with all its outputs, and
# readable from file:// with no network (llmviz/site/build.py). The prompt notebooks show SmolLM2, as under test.
site: setup
	LLMVIZ_MODEL=$${LLMVIZ_MODEL:-smollm2-135m} $(PY) -m llmviz.site

lint: setup
	.venv/bin/ruff check llmviz tests benchmarks

# Every benchmark at full size, one after the other. Exit status 77 means "skipped": an optional tool is missing (the
# TransformerLens peer figure), and the script has said which; the run goes on. Any other failure stops it.
# Every benchmark runs, even after one misses a goal (exit 1), so one miss does not hide the others' figures;
# exit 77 means "skipped" (a missing optional peer such as TransformerLens). Fails at the end if any failed.
bench: setup
	@failed=""; for b in benchmarks/*.py; do \
		echo "== $$b"; $(ONE_THREAD) $(PY) $$b; rc=$$?; \
		if [ $$rc -eq 77 ]; then echo "== $$b skipped (see above)"; \
		elif [ $$rc -ne 0 ]; then echo "== $$b failed (exit $$rc)"; failed="$$failed $$b"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "== goals missed or errors in:$$failed"; exit 1; fi

explain: setup
	.venv/bin/llmviz explain "The cat sat on the"
