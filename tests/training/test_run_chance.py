"""A table's features are standardised unless the preset says otherwise, and a classifier that ends
at chance accuracy is told why it may have learnt nothing (the end-of-run message and train.py)."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from nnviz_addon.preset.config import preset_from_dict
from nnviz_addon.training.run import TrainingRun

ROOT = Path(__file__).resolve().parents[2]


def unscaled_iris(folder: Path) -> Path:
    """Fisher's flowers with one measurement in hundreds (≈ 200) beside the others (≈ 1–7)."""
    with (ROOT / "presets" / "iris.csv").open() as source:
        rows = list(csv.DictReader(source))
    for row in rows:
        row["sepal_length"] = f"{float(row['sepal_length']) * 35:.2f}"
    path = folder / "unscaled.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def preset(path: Path, **data) -> dict:
    return {"name": "unscaled", "model": {"layers": [4, 8, 3], "activation": "tanh"},
            "data": {"task": "table", "path": str(path), "target": "species", **data},
            "train": {"loss": "cross_entropy", "optimizer": "sgd", "lr": 0.1, "batch_size": 30, "steps": 300,
                      "record_every": 30}}


def trained(data: dict) -> TrainingRun:
    run = TrainingRun(preset_from_dict(data))
    run.run()
    return run


def test_a_table_is_standardised_by_default_and_learns(tmp_path):
    data = preset(unscaled_iris(tmp_path))
    assert preset_from_dict(data).data.standardizes
    run = trained(data)
    assert run.last_accuracy >= 0.9
    assert run.warning == "" and "chance" not in run.message
    # the built-in tasks keep their raw inputs unless asked
    xor = {**data, "data": {"task": "xor"}, "model": {"layers": [2, 4, 1]},
           "train": {**data["train"], "loss": "bce_with_logits"}}
    assert not preset_from_dict(xor).data.standardizes
    # a preset read back from its own dict (as a History stores it) keeps the default
    again = preset_from_dict(preset_from_dict(data).to_dict())
    assert again.data.standardizes


def test_a_run_at_chance_names_the_likely_causes(tmp_path):
    run = trained(preset(unscaled_iris(tmp_path), standardize=False))
    assert run.last_accuracy <= 0.4  # three classes of 50: always one class scores 1/3
    assert run.warning.startswith(f"accuracy {run.last_accuracy:.3f} is chance level")
    assert "set data.standardize = true" in run.warning and "train.lr = 0.1" in run.warning
    assert run.message.endswith(run.warning)


@pytest.mark.slow
def test_train_py_warns_at_the_end_of_a_run_at_chance(tmp_path):
    path = unscaled_iris(tmp_path)
    toml = tmp_path / "unscaled.toml"
    toml.write_text(f'name = "unscaled"\n[model]\nlayers = [4, 8, 3]\nactivation = "tanh"\n'
                    f'[data]\ntask = "table"\npath = "{path.name}"\ntarget = "species"\nstandardize = false\n'
                    f'[train]\nloss = "cross_entropy"\noptimizer = "sgd"\nlr = 0.1\nbatch_size = 30\nsteps = 300\n'
                    f'record_every = 30\n')
    done = subprocess.run([sys.executable, str(ROOT / "train.py"), "--preset", str(toml), "--no-render"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "is chance level" in line]
    assert len(warnings) == 1 and warnings[0].startswith("nnviz: warning: accuracy "), done.stderr
