#!/usr/bin/env bash
# Runs the test suite on every supported line; fails if any run fails. Called by `make test` and CI.
# Two streams share the machine's cores: Blender 5.0 (everything) in one, its output shown whole when
# it ends; the other lines one after another in the other, shown as they run.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

run() {  # run NAME VENV PYTEST-ARGS...
  local name=$1 venv=$2; shift 2
  echo "=== $name"
  local start=$SECONDS
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
  local rc=$?
  # exit 5 = nothing selected, which is a failure of the selection itself
  if [ $rc -ne 0 ]; then echo "=== $name FAILED (exit $rc)"; else echo "=== $name passed"; fi
  echo "=== $name took $(( SECONDS - start )) s"
  return $rc
}

other_lines() {
  local status=0
  run "numpy 2.x + torch: engine, data, training, the pip-installed recorder (no Blender)" .venv-np2 tests -m "not bpy" || status=1
  run "Blender 4.5 LTS: Blender tests" .venv-bpy45 tests -m bpy || status=1
  run "Blender 4.2 LTS: Blender tests" .venv-bpy42 tests -m bpy || status=1
  run "PyTorch Lightning + transformers: the recording callbacks" .venv-callbacks tests -m callbacks || status=1
  return $status
}

start=$SECONDS
run "Blender 5.0.1 + numpy 1.26 + torch: everything" .venv tests > "$logs/blender50.log" 2>&1 &
main=$!
other_lines
other=$?
wait $main
blender50=$?
cat "$logs/blender50.log"
echo "=== the whole suite took $(( SECONDS - start )) s"
[ $blender50 -eq 0 ] && [ $other -eq 0 ]
