#!/usr/bin/env bash
# Runs the test suite on every supported line; fails if any run fails. Called by `make test` and CI.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

run() {  # run NAME VENV PYTEST-ARGS...
  local name=$1 venv=$2; shift 2
  echo "=== $name"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
  local rc=$?
  # exit 5 = nothing selected, which is a failure of the selection itself
  if [ $rc -ne 0 ]; then echo "=== $name FAILED (exit $rc)"; status=1; fi
}

run "Blender 5.0.1 + numpy 1.26 + torch: everything" .venv tests
run "numpy 2.x + torch: engine, data, training, the pip-installed recorder (no Blender)" .venv-np2 tests -m "not bpy"
run "Blender 4.5 LTS: Blender tests" .venv-bpy45 tests -m bpy
run "Blender 4.2 LTS: Blender tests" .venv-bpy42 tests -m bpy
run "PyTorch Lightning + transformers: the recording callbacks" .venv-callbacks tests -m callbacks
exit $status
