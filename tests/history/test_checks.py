"""One set of checks for every History (history/checks.py): built in memory, recorded or loaded."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.history import History, HistoryError, HistoryWriter, LayerSpec

STRUCTURE = [LayerSpec("0", "Linear", 2, 3, "0.weight", "0.bias", "tanh")]


def history(records: int = 3, **changes) -> History:
    rng = np.random.default_rng(0)
    fields = dict(name="t", structure=list(STRUCTURE), steps=np.arange(records) * 5,
                  loss=np.linspace(1.0, 0.5, records),
                  params={"0.weight": rng.normal(size=(records, 3, 2)), "0.bias": rng.normal(size=(records, 3))},
                  grads={"0.weight": rng.normal(size=(records, 3, 2)), "0.bias": rng.normal(size=(records, 3))})
    fields.update(changes)
    return History(**fields)


def with_param(key: str, array) -> dict:
    good = history()
    return {"params": {**good.params, key: array}}


def with_grad(key: str, array) -> dict:
    good = history()
    return {"grads": {**good.grads, key: array}}


INF_BIAS = history().params["0.bias"].copy()
INF_BIAS[2, 1] = np.inf


@pytest.mark.parametrize(("changes", "message"), [
    (with_grad("0.weight", np.zeros((3, 2, 3))), "'grad/0.weight' has shape (3, 2, 3), expected (3, 3, 2)"),
    (with_param("0.bias", INF_BIAS), "'param/0.bias' is not finite (inf or nan) in record 2 (step 10)"),
    (with_grad("0.bias", INF_BIAS), "'grad/0.bias' is not finite (inf or nan) in record 2 (step 10)"),
    ({"steps": np.arange(6).reshape(3, 2)}, "'steps' must be a 1-D integer array, got int64 of shape (3, 2)"),
    ({"steps": np.array([0, 10, 5])}, "'steps' must be strictly increasing, but record 2 is step 5 after step 10"),
    ({"steps": np.array([0, 5, 5])}, "record 2 is step 5 after step 5"),
    ({"steps": np.array([0.0, 1.0, 2.0])}, "'steps' must be a 1-D integer array, got float64"),
    ({"steps": [0, 1, 2]}, "'steps' must be a numpy array, got list"),
    ({"steps": np.arange(0)}, "'steps' is empty"),
    ({"loss": np.zeros(2)}, "'loss' has shape (2,), expected (3,)"),
    (with_param("0.bias", np.zeros((3, 3), dtype=np.int64)), "'param/0.bias' must hold real floating-point numbers"),
    ({"grads": {"0.weight": history().grads["0.weight"]}}, "'param/0.bias' has no gradient 'grad/0.bias'"),
    ({"params": {}, "grads": {}}, "it holds no parameters"),
    ({"metrics": {"accuracy": np.array(["a", "b", "c"])}}, "'metric/accuracy' must hold real floating-point"),
    ({"series": {"x": np.zeros((2, 4))}}, "'series/x' must be real numbers, 3 records first"),
    ({"structure": [LayerSpec("0", "Linear", 2, 3, "9.weight", None)]}, "names weight '9.weight'"),
    ({"structure": [{"name": "0"}]}, "'structure'[0] must be a LayerSpec, got dict"),
    ({"config": "xor"}, "'config' must be a dict"),
])
def test_a_history_the_scene_cant_draw_is_one_line_naming_the_array(changes, message):
    with pytest.raises(HistoryError) as error:
        history(**changes).validate()
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_good_history_passes_and_is_returned():
    good = history()
    assert good.validate() is good


def test_a_file_passes_the_same_checks(tmp_path):
    path = tmp_path / "reversed.npz"
    bad = history(steps=np.array([10, 5, 0]))
    # written as save() writes it, but without save's own check (which refuses it too)
    arrays = {"format_version": np.asarray(1), "name": np.asarray("t"), "structure_json": np.asarray(
        '[{"name": "0", "kind": "Linear", "in_features": 2, "out_features": 3, "weight": "0.weight", '
        '"bias": "0.bias", "activation": "tanh"}]'), "config_json": np.asarray("{}"), "steps": bad.steps,
        "loss": bad.loss, **{f"param/{k}": v for k, v in bad.params.items()},
        **{f"grad/{k}": v for k, v in bad.grads.items()}}
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"reversed\.npz: 'steps' must be strictly increasing, but record 1 is step 5"):
        History.load(path)
    with pytest.raises(ValueError, match="strictly increasing"):
        bad.save(tmp_path / "saved.npz")
    assert not (tmp_path / "saved.npz").exists()


@pytest.mark.parametrize("value", ["high", b"1", None, [1.0, 2.0], True])
def test_a_metric_that_is_no_number_is_named(value):
    writer = HistoryWriter("t", STRUCTURE, {"0.weight": (3, 2), "0.bias": (3,)})
    params = {"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(3)}
    with pytest.raises(ValueError, match=r"metric 'accuracy' must be a number, got "):
        writer.record(0, 1.0, params, metrics={"accuracy": value})
    writer.record(0, 1.0, params, metrics={"accuracy": np.float32(0.5)})
    assert writer.history().metrics["accuracy"].tolist() == [0.5]
