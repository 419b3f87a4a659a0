# nnviz developer commands. The README's two commands are `make demo` and `make test`.
PYTHON ?= python3
DEMO_PRESET ?= presets/rgb_perceptron.toml
DEMO_OUT ?= out/rgb_perceptron.mp4

# One virtual environment per Blender/numpy line we support (see requirements/).
VENVS := .venv .venv-np2 .venv-bpy42 .venv-bpy45 .venv-callbacks
.venv_req := requirements/dev.txt
.venv-np2_req := requirements/numpy2.txt
.venv-bpy42_req := requirements/bpy42.txt
.venv-bpy45_req := requirements/bpy45.txt
.venv-callbacks_req := requirements/callbacks.txt

.PHONY: setup setup-all system-deps demo test lint extension bench clean

system-deps:
	bash tools/install_system_deps.sh

%/.installed:
	$(PYTHON) -m venv $*
	$*/bin/pip install -q --upgrade pip
	$*/bin/pip install -q -r $($*_req)
	touch $@

.venv/.installed: requirements/dev.txt
.venv-np2/.installed: requirements/numpy2.txt
.venv-bpy42/.installed: requirements/bpy42.txt
.venv-bpy45/.installed: requirements/bpy45.txt
.venv-callbacks/.installed: requirements/callbacks.txt

setup: system-deps .venv/.installed

setup-all: setup $(addsuffix /.installed,$(VENVS))

# Set up and render the demo: the RGB single-layer perceptron learning the complement colour.
demo: setup
	.venv/bin/python train.py --preset $(DEMO_PRESET) --out $(DEMO_OUT)

lint: .venv/.installed
	.venv/bin/ruff check .

# The whole suite: lint; everything on Blender 5.0 (numpy 1.26) with PyTorch parity and the slow renders;
# the engine on numpy 2; the Blender tests on the 4.2 and 4.5 LTS wheels; the Lightning and Hugging Face
# callbacks against those libraries.
test: system-deps setup-all lint
	bash tools/run_tests.sh

extension: .venv/.installed
	.venv/bin/python tools/build_extension.py

bench: .venv/.installed
	.venv/bin/python bench/bench_engine.py
	.venv/bin/python bench/bench_conv.py
	.venv/bin/python bench/bench_scene.py
	.venv/bin/python bench/bench_overhead.py
	.venv/bin/python bench/bench_render.py
	.venv/bin/python bench/bench_film.py
	.venv/bin/python bench/bench_record.py

clean:
	rm -rf dist out .pytest_cache
