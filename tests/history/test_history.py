"""The History contract: recording, the .npz round trip and its errors (numpy only)."""

import numpy as np
import pytest

from nnviz_addon.history import FORMAT_VERSION, History, HistoryWriter, LayerSpec

STRUCTURE = [LayerSpec("0", "Linear", 2, 3, "0.weight", "0.bias", "tanh"),
             LayerSpec("2", "Linear", 3, 1, "2.weight", None, "sigmoid")]
SHAPES = {"0.weight": (3, 2), "0.bias": (3,), "2.weight": (1, 3)}


def _params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {k: rng.standard_normal(s).astype(np.float32) for k, s in SHAPES.items()}


def test_writer_copies_each_record_and_grows_past_capacity():
    rng = np.random.default_rng(0)
    writer = HistoryWriter("t", STRUCTURE, SHAPES, capacity=2)
    seen = []
    for step in range(5):
        params = _params(rng)
        writer.record(step * 10, 1.0 / (step + 1), params, grads={"0.weight": params["0.weight"] * 2},
                      metrics={"accuracy": step / 4}, series={"act": np.full(3, step)})
        seen.append({k: v.copy() for k, v in params.items()})
        params["0.weight"][:] = 99  # the writer must have copied, not kept a view
    history = writer.history()
    assert history.records == 5
    np.testing.assert_array_equal(history.steps, [0, 10, 20, 30, 40])
    for r, params in enumerate(seen):
        for key in SHAPES:
            np.testing.assert_array_equal(history.params[key][r], params[key])
        np.testing.assert_array_equal(history.grads["0.weight"][r], params["0.weight"] * 2)
        np.testing.assert_array_equal(history.grads["0.bias"][r], 0)
    np.testing.assert_allclose(history.metrics["accuracy"], [0, 0.25, 0.5, 0.75, 1])
    assert history.series["act"].shape == (5, 3)
    assert history.parameter_count == 6 + 3 + 3


def test_save_load_round_trip_without_pickle(tmp_path):
    rng = np.random.default_rng(1)
    writer = HistoryWriter("XOR", STRUCTURE, SHAPES, config={"name": "XOR", "train": {"lr": 0.5}})
    for step in range(3):
        writer.record(step, 0.5, _params(rng))
    writer.static["probe"] = np.eye(2)
    original = writer.history()
    path = original.save(tmp_path / "run.npz")
    with np.load(path, allow_pickle=False) as raw:
        assert int(raw["format_version"]) == FORMAT_VERSION
    loaded = History.load(path)
    assert loaded.name == "XOR" and loaded.structure == STRUCTURE
    assert loaded.config == {"name": "XOR", "train": {"lr": 0.5}}
    for key in SHAPES:
        np.testing.assert_array_equal(loaded.params[key], original.params[key])
        assert loaded.params[key].dtype == np.float32
    np.testing.assert_array_equal(loaded.static["probe"], np.eye(2))


def test_wrong_shape_names_both_shapes():
    writer = HistoryWriter("t", STRUCTURE, SHAPES)
    params = _params(np.random.default_rng(2))
    params["0.weight"] = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(2, 3\), expected \(3, 2\)"):
        writer.record(0, 0.0, params)


def test_inconsistent_record_counts_are_refused():
    with pytest.raises(ValueError, match=r"'loss' has shape \(1,\), expected \(2,\)"):
        History("t", STRUCTURE, np.arange(2), np.zeros(1), {}, {}).validate()


def test_load_refuses_other_files_clearly(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(2))
    with pytest.raises(ValueError, match="not an nnviz history file"):
        History.load(other)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not an nnviz history file"):
        History.load(text)


def test_load_refuses_truncated_and_incomplete_archives_as_value_errors(tmp_path):
    writer = HistoryWriter("t", STRUCTURE, SHAPES)
    writer.record(0, 0.5, _params(np.random.default_rng(3)))
    whole = writer.history().save(tmp_path / "whole.npz").read_bytes()
    cases = {
        "fake_zip.npz": b"PK\x03\x04 not really a zip",  # zipfile.BadZipFile, not an OSError
        "truncated.npz": whole[: len(whole) // 2],
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    np.savez(tmp_path / "partial.npz", format_version=np.array(FORMAT_VERSION))  # KeyError: 'name'
    for name in [*cases, "partial.npz"]:
        with pytest.raises(ValueError, match=f"{name}: not an nnviz history file"):
            History.load(tmp_path / name)


def test_input_shape_of_a_conv_layer_counts_channels_not_values():
    from nnviz_addon.history import check_input_shape

    conv = [LayerSpec("0", "Conv2d", 1, 8, "0.weight", "0.bias")]
    assert check_input_shape((1, 8, 8), conv, "here") == (1, 8, 8)
    assert check_input_shape((8, 8), conv, "here") == (8, 8)
    with pytest.raises(ValueError, match=r"here: input_shape \(3, 8, 8\) is not an image of 1 channels"):
        check_input_shape((3, 8, 8), conv, "here")
