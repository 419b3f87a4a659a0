"""`pip install /path/to/nnviz` gives a PyTorch user the numpy-only half, without Blender and without the checkout.

The wheel is built from a copy of the package (so the build leaves nothing in the checkout), installed
into a fresh virtual environment; there every module that needs no bpy (all but scene/ and ui/) is
imported from the installed copy, a shipped preset trains through ``api.train``, and a short torch
run is recorded and loaded back. torch and
numpy come from this interpreter's site-packages through a .pth file (installing torch would take
minutes); so the test runs only where bpy is absent (the numpy-2 run of tools/run_tests.sh), which is
what proves the installed half needs no bpy.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.torch,
    pytest.mark.skipif(
        importlib.util.find_spec("bpy") is not None,
        reason="needs an interpreter without bpy to prove the installed recorder does not need it",
    ),
    pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="records a torch run"),
]

RECORD_A_TORCH_RUN = """
import importlib, importlib.util, json, sys
from pathlib import Path
import torch
from nnviz_addon.record import Recorder
from nnviz_addon.history import History
from nnviz_addon.datasets import make_dataset

assert importlib.util.find_spec("bpy") is None, "bpy is importable"
installed = Path(sys.argv[1]).resolve()
assert installed in Path(__import__("nnviz_addon").__file__).resolve().parents, "not the installed copy"
make_dataset  # the datasets subpackage came along (digits.npz is package data)
assert (Path(__import__("nnviz_addon.datasets").datasets.__file__).parent / "digits.npz").is_file()

for name in json.loads(sys.argv[3]):  # every numpy-only module of the checkout, from the wheel
    module = importlib.import_module(name)
    assert installed in Path(module.__file__).resolve().parents, f"{name} is not the installed copy"
from nnviz_addon import api
trained = api.train("xor", steps=8)  # a shipped preset, found inside the installed package
assert trained.records > 1 and trained.steps[-1] == 8, trained.steps

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(16, 2), torch.randn(16, 1)
rec = Recorder(model, name="installed")
for step in range(1, 6):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    rec.snapshot(step, loss=loss.item())
path = rec.save(sys.argv[2])
history = History.load(path)
assert history.records == 5, history.records
assert history.params["0.weight"].shape == (5, 4, 2), history.params["0.weight"].shape
print("recorded", history.records, "records of", history.parameter_count, "parameters")
"""


def numpy_only_modules() -> list[str]:
    """Every module of the checkout's package but those of scene/ and ui/, which need bpy."""
    package = REPO / "nnviz_addon"
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[1] in ("scene", "ui"):
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_the_wheel_installs_and_records_a_torch_run_without_blender(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copytree(REPO / "nnviz_addon", source / "nnviz_addon", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "presets", source / "presets")
    # setuptools is here already: building offline, without pip fetching it into an isolated env
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", tmp_path / "dist", source, cwd=tmp_path)
    wheels = list((tmp_path / "dist").glob("nnviz_blender-*.whl"))
    assert len(wheels) == 1, wheels

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q",
         wheels[0], cwd=tmp_path)
    installed = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                          cwd=tmp_path).stdout.strip())
    # numpy and torch from this interpreter, after the venv's own packages (so nnviz comes from the wheel)
    (installed / "zz_host_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")

    script = tmp_path / "record.py"
    script.write_text(textwrap.dedent(RECORD_A_TORCH_RUN))
    done = _run(python, "-I", script, installed, tmp_path / "run.npz", json.dumps(numpy_only_modules()),
                cwd=tmp_path)
    assert "recorded 5 records" in done.stdout
