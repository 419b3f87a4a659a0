"""Your own data (task = "table") and the test split: parsing, class mapping, splits, standardisation,
every bad table's error, and the test metrics against an independent evaluation in real PyTorch."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon.datasets import TableError, load_table, make_dataset, train_test
from nnviz_addon.history import History
from nnviz_addon.preset.config import PresetError, find_presets, load_preset, preset_from_dict
from nnviz_addon.training.run import TrainingRun

PRESETS = Path(__file__).resolve().parents[2] / "presets"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def table_preset(path: Path | str, layers=(2, 3), loss="cross_entropy", **data) -> dict:
    return {"name": "t", "model": {"layers": list(layers)},
            "data": {"task": "table", "path": str(path), "target": "kind", **data},
            "train": {"loss": loss, "optimizer": "sgd", "lr": 0.1, "batch_size": 2, "steps": 3}}


FLOWERS = "a,b,kind\n1.5,2,cat\n\n 3 , -4.25 ,dog\n5,6,ant\n7,8,dog\n"


def test_a_csv_is_read_as_written(tmp_path):
    table = load_table(write(tmp_path, "f.csv", FLOWERS), "kind")
    assert table.features == ("a", "b")  # every column but the target, in file order
    np.testing.assert_array_equal(table.x, [[1.5, 2], [3, -4.25], [5, 6], [7, 8]])
    # Text labels: classes sorted alphabetically, each row's index into them.
    assert table.class_names == ("ant", "cat", "dog")
    np.testing.assert_array_equal(table.y, [1, 2, 0, 2])


def test_whole_numbers_are_classes_in_numeric_order_and_reals_a_regression(tmp_path):
    ints = load_table(write(tmp_path, "i.csv", "x,kind\n0,10\n1,2\n2,10\n3,-1\n"), "kind")
    assert ints.class_names == ("-1", "2", "10")
    np.testing.assert_array_equal(ints.y, [2, 1, 2, 0])
    reals = load_table(write(tmp_path, "r.csv", "x,kind\n0,1.5\n1,2\n2,10\n"), "kind")
    assert reals.class_names == () and reals.y.dtype == np.float64
    np.testing.assert_array_equal(reals.y, [1.5, 2, 10])


def test_features_pick_and_order_the_columns(tmp_path):
    table = load_table(write(tmp_path, "f.csv", FLOWERS), "kind", ["b", "a"])
    np.testing.assert_array_equal(table.x[:, 0], [2, -4.25, 6, 8])
    assert table.features == ("b", "a")


def test_an_npz_of_columns_reads_like_the_csv(tmp_path):
    path = tmp_path / "f.npz"
    np.savez(path, a=np.array([1.5, 3, 5, 7]), b=np.array([2, -4.25, 6, 8]),
             kind=np.array(["cat", "dog", "ant", "dog"]))
    from_npz, from_csv = load_table(path, "kind"), load_table(write(tmp_path, "f.csv", FLOWERS), "kind")
    np.testing.assert_array_equal(from_npz.x, from_csv.x)
    np.testing.assert_array_equal(from_npz.y, from_csv.y)
    assert from_npz.class_names == from_csv.class_names
    # A float array is a regression, an integer array a classification.
    np.savez(path, a=np.arange(4.0), kind=np.array([0.0, 1.0, 0.0, 1.0]))
    assert load_table(path, "kind").class_names == ()
    np.savez(tmp_path / "g.npz", a=np.arange(4.0), kind=np.array([0, 1, 0, 1]))
    assert load_table(tmp_path / "g.npz", "kind").class_names == ("0", "1")


def test_the_iris_preset_is_fishers_150_flowers():
    preset = load_preset(find_presets()["iris"])
    dataset = make_dataset(preset.data, preset.train.loss)
    assert dataset.x.shape == (150, 4) and dataset.class_names == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(np.bincount(dataset.labels), [50, 50, 50])
    with open(PRESETS / "iris.csv", newline="") as handle:
        first = next(csv.DictReader(handle))
    np.testing.assert_allclose(dataset.x[0], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)  # the file's first flower
    assert first["species"] == "setosa" and dataset.labels[0] == 0


def test_a_relative_path_is_the_presets_folder(tmp_path, monkeypatch):
    folder = tmp_path / "lesson"
    folder.mkdir()
    write(folder, "f.csv", FLOWERS)
    preset_file = write(folder, "p.toml", 'name = "p"\n[model]\nlayers = [2, 3]\n[data]\ntask = "table"\n'
                        'path = "f.csv"\ntarget = "kind"\n[train]\nloss = "cross_entropy"\noptimizer = "sgd"\n'
                        'lr = 0.1\nbatch_size = 2\n')
    monkeypatch.chdir(tmp_path)  # not the preset's folder
    assert Path(load_preset(preset_file).data.path) == (folder / "f.csv").resolve()


def test_the_split_is_seeded_disjoint_and_complete(tmp_path):
    preset = preset_from_dict(table_preset(write(tmp_path, "f.csv", FLOWERS)))
    dataset = make_dataset(preset.data, "cross_entropy")
    train, test = train_test(dataset, 0.5, seed=7)
    again, _ = train_test(dataset, 0.5, seed=7)
    rows = {tuple(r) for r in dataset.x.tolist()}
    assert len(test) == 2 and len(train) == 2
    assert {tuple(r) for r in train.x.tolist()} | {tuple(r) for r in test.x.tolist()} == rows
    assert not {tuple(r) for r in train.x.tolist()} & {tuple(r) for r in test.x.tolist()}
    np.testing.assert_array_equal(train.x, again.x)
    # Labels and targets stay with their rows.
    by_row = {tuple(r): label for r, label in zip(dataset.x.tolist(), dataset.labels.tolist(), strict=True)}
    assert [by_row[tuple(r)] for r in test.x.tolist()] == test.labels.tolist() == test.y.tolist()
    # No test fraction: the very same data, as before there was a split.
    same, none = train_test(dataset, 0.0, seed=7)
    assert same is dataset and none is None


def test_standardize_uses_the_training_split_only(tmp_path):
    preset = preset_from_dict(table_preset(write(tmp_path, "f.csv", FLOWERS)))
    dataset = make_dataset(preset.data, "cross_entropy", dtype=np.float64)
    raw_train, raw_test = train_test(dataset, 0.5, seed=1)
    train, test = train_test(dataset, 0.5, seed=1, standardize=True)
    np.testing.assert_allclose(train.x.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(train.x.std(axis=0), 1)
    expected = (raw_test.x - raw_train.x.mean(axis=0)) / raw_train.x.std(axis=0)
    np.testing.assert_allclose(test.x, expected)


BAD_TABLES = [
    ("missing file", None, {}, r"nope\.csv: no such file \(data\.path\)"),
    ("missing target", FLOWERS, {"target": "colour"},
     r"f\.csv: no column 'colour' \(data\.target\); columns: a, b, kind"),
    ("missing feature", FLOWERS, {"features": ["a", "c"]}, r"f\.csv: no column 'c' \(data\.features\)"),
    ("text in a feature", "a,b,kind\n1,2,x\n3,4,y\n5,oops,y\n", {},
     r"f\.csv: row 4, column 'b': 'oops' is not a number"),
    ("empty cell", "a,b,kind\n1,2,x\n\n3,,y\n", {}, r"f\.csv: row 4, column 'b': an empty cell is not a number"),
    ("infinite cell", "a,b,kind\n1,inf,x\n3,4,y\n", {}, r"f\.csv: row 2, column 'b': 'inf' is not a finite number"),
    ("ragged row", "a,b,kind\n1,2,x\n3,y\n", {}, r"f\.csv: row 3 has 2 cells but the header has 3 columns"),
    ("single class", "a,b,kind\n1,2,x\n3,4,x\n", {}, r"column 'kind' \(the target\) has a single class 'x'"),
    ("empty target", "a,b,kind\n1,2,x\n3,4,\n", {}, r"f\.csv: row 3, column 'kind' \(the target\) is empty"),
    ("target as a feature", FLOWERS, {"features": ["a", "kind"]}, r"column 'kind' is the target"),
    ("no rows", "a,b,kind\n", {}, r"f\.csv: the table has no rows"),
    ("too few rows", FLOWERS, {"test_fraction": 0.5, "batch": 3},
     r"f\.csv has 4 rows \(2 for training after test_fraction 0\.5\), too few for train\.batch_size 3"),
    ("first layer", FLOWERS, {"layers": (3, 3)},
     r"model\.layers\[0\] is 3 but f\.csv has 2 feature columns \(a, b\)"),
    ("outputs vs classes", FLOWERS, {"layers": (2, 2)},
     r"model\.layers\[-1\] is 2 but column 'kind' of f\.csv has 3 classes \(ant, cat, dog\)"),
    ("regression with cross_entropy", "a,kind\n1,0.5\n2,1.5\n", {"layers": (1, 1)},
     r"train\.loss: loss 'cross_entropy' needs classes"),
    ("samples", FLOWERS, {"samples": 50}, r"data\.samples doesn't apply to task 'table'"),
    ("not a table file", None, {"name": "f.txt"}, r"a table must be a \.csv or an \.npz file"),
]


@pytest.mark.parametrize(("case", "text", "changes", "message"), BAD_TABLES, ids=[c[0] for c in BAD_TABLES])
def test_every_bad_table_is_named(tmp_path, case, text, changes, message):
    changes = dict(changes)
    name = changes.pop("name", "f.csv")
    path = tmp_path / ("nope.csv" if text is None and name == "f.csv" else name)
    if text is not None or name != "f.csv":
        path.write_text(text or "a,kind\n1,x\n")
    layers = changes.pop("layers", (2, 3))  # FLOWERS's two features and three classes
    batch = changes.pop("batch", 2)
    data = table_preset(path, layers=layers, **changes)
    data["train"]["batch_size"] = batch
    with pytest.raises(PresetError, match=message):
        preset_from_dict(data, source="lesson.toml")


def test_table_keys_belong_to_the_table_task():
    data = {"name": "x", "model": {"layers": [2, 1]}, "data": {"task": "xor", "target": "kind"},
            "train": {"loss": "mse", "optimizer": "sgd", "lr": 0.1}}
    with pytest.raises(PresetError, match=r"data\.target only applies to task 'table', not 'xor'"):
        preset_from_dict(data)
    with pytest.raises(PresetError, match=r"task 'table' needs data\.path"):
        preset_from_dict(table_preset(""))
    with pytest.raises(TableError):  # the loader's own error is a ValueError too, for the API
        load_table("/nonexistent/x.csv", "kind")


def test_a_test_fraction_that_holds_out_everything_is_refused():
    data = {"name": "x", "model": {"layers": [2, 1]}, "data": {"task": "xor", "samples": 2, "test_fraction": 0.9},
            "train": {"loss": "mse", "optimizer": "sgd", "lr": 0.1}}
    with pytest.raises(PresetError, match=r"data\.test_fraction 0\.9 holds out every sample \(data\.samples is 2\)"):
        preset_from_dict(data)


def test_no_test_fraction_trains_exactly_as_before():
    preset = load_preset(find_presets()["xor"]).replace(train={"steps": 20})
    plain = TrainingRun(preset).run()
    assert "test_loss" not in plain.metrics
    explicit = TrainingRun(preset.replace(data={"test_fraction": 0.0})).run()
    np.testing.assert_array_equal(plain.loss, explicit.loss)
    for key in plain.params:
        np.testing.assert_array_equal(plain.params[key], explicit.params[key])


def test_the_test_metrics_are_the_recorded_weights_on_the_test_split():
    """Every record's test loss and accuracy, recomputed in PyTorch from the History's own weights."""
    torch = pytest.importorskip("torch")
    preset = load_preset(find_presets()["overfit"]).replace(train={"steps": 90})
    run = TrainingRun(preset)
    history = run.run()
    test = run.test_set
    assert len(test) == 30 and len(run.dataset) == 30
    x = torch.tensor(test.x, dtype=torch.float64)
    y = torch.tensor(test.y, dtype=torch.float64)
    model = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
                                torch.nn.Linear(64, 1)).double()
    for record in range(history.records):
        model.load_state_dict({key: torch.tensor(values[record], dtype=torch.float64)
                               for key, values in history.params.items()})
        with torch.no_grad():
            logits = model(x)
        expected_loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y).item()
        expected_accuracy = ((logits[:, 0] > 0).long() == torch.tensor(test.labels)).double().mean().item()
        assert history.metrics["test_loss"][record] == pytest.approx(expected_loss, rel=1e-5)
        assert history.metrics["test_accuracy"][record] == pytest.approx(expected_accuracy)


def test_over_fitting_shows_in_the_two_curves():
    history = TrainingRun(load_preset(find_presets()["overfit"])).run()
    train_loss, test_loss = history.loss[1:], history.metrics["test_loss"]
    assert train_loss[-1] < 0.01 * train_loss[0]  # the training points are memorised ...
    assert test_loss[-1] > 2 * test_loss.min()  # ... while the held-out loss climbs back up


def test_set_parameter_records_the_loss_of_the_edited_weights():
    preset = load_preset(find_presets()["iris"])
    run = TrainingRun(preset)
    for _ in range(5):
        run.train_step()
    old = run.set_parameter("0.weight", (2, 1), 1.25)
    history = run.history()
    assert history.steps.tolist() == [0, 3, 5] and history.params["0.weight"][-1][2, 1] == np.float32(1.25)
    assert old == pytest.approx(float(history.params["0.weight"][-2][2, 1]), abs=0.2)
    # The engine's loss for exactly those weights, from a fresh run given them through load_state_dict.
    fresh = TrainingRun(preset, probes=())
    fresh.model.load_state_dict({key: values[-1] for key, values in history.params.items()})
    assert history.loss[-1] == pytest.approx(fresh.loss_on(fresh.dataset), rel=1e-6)
    assert history.metrics["test_loss"][-1] == pytest.approx(fresh.loss_on(fresh.test_set), rel=1e-6)
    with pytest.raises(ValueError, match=r"index \(8, 1\) is out of range for '0\.weight' of shape \(8, 4\)"):
        run.set_parameter("0.weight", (8, 1), 0.0)
    with pytest.raises(ValueError, match=r"unknown parameter 'fc\.weight'; parameters: 0\.weight \(8, 4\), "
                                         r"0\.bias \(8,\), 2\.weight \(3, 8\), 2\.bias \(3,\)"):
        run.set_parameter("fc.weight", (0, 0), 0.0)


def test_train_py_writes_the_test_metrics(tmp_path):
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(root / "train.py"), "--preset", "overfit", "--steps", "30",
                             "--no-render", "--save-history", str(tmp_path / "run.npz"), "--metrics",
                             str(tmp_path / "m.json")], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    history = History.load(tmp_path / "run.npz")
    assert metrics["test_loss"] == pytest.approx(history.metrics["test_loss"][-1])
    assert metrics["test_accuracy"] == pytest.approx(history.metrics["test_accuracy"][-1])
