"""History files are data from anywhere: each hand-crafted bad file is one clear ValueError, no traceback."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon.history import History, HistoryWriter, LayerSpec

ROOT = Path(__file__).resolve().parents[2]
STRUCTURE = [LayerSpec("0", "Linear", 2, 3, "0.weight", "0.bias", "tanh")]
SHAPES = {"0.weight": (3, 2), "0.bias": (3,)}


def good_arrays(tmp_path: Path) -> dict[str, np.ndarray]:
    """The arrays of a real three-record run, as History.save writes them."""
    writer = HistoryWriter("t", STRUCTURE, SHAPES)
    rng = np.random.default_rng(0)
    for step in (0, 4, 8):
        writer.record(step, 0.5, {k: rng.standard_normal(s).astype(np.float32) for k, s in SHAPES.items()},
                      metrics={"accuracy": 0.5}, series={"act": np.zeros(3)})
    with np.load(writer.history().save(tmp_path / "good.npz")) as archive:
        return {key: archive[key] for key in archive.files}


def with_nan(array: np.ndarray, record: int) -> np.ndarray:
    array = array.copy()
    array[record, 0] = np.nan
    return array


# Each case: (what to change in the good file's arrays, the words the error must hold).
BAD = {
    "steps_float": (lambda a: {"steps": a["steps"].astype(float)}, "'steps' must be a 1-D integer array, got float64"),
    "no_records": (lambda a: {k: v[:0] if k.partition("/")[0] in ("steps", "loss", "param", "grad", "metric",
                                                                    "series") else v for k, v in a.items()},
                   "'steps' is empty: a history holds at least one record"),
    "loss_complex": (lambda a: {"loss": a["loss"].astype(complex)}, "'loss' must hold real floating-point numbers"),
    "param_integer": (lambda a: {"param/0.weight": a["param/0.weight"].astype(np.int64)},
                      "'param/0.weight' must hold real floating-point numbers, got int64"),
    "param_records": (lambda a: {"param/0.bias": a["param/0.bias"][:2]},
                      "'param/0.bias' has shape (2, 3), expected (3, ...)"),
    "grad_shape": (lambda a: {"grad/0.weight": np.zeros((3, 2, 3), np.float32)},
                   "'grad/0.weight' has shape (3, 2, 3), expected (3, 3, 2)"),
    "grad_missing": (lambda a: {k: v for k, v in a.items() if k != "grad/0.bias"},
                     "'param/0.bias' has no gradient 'grad/0.bias'"),
    "grad_orphan": (lambda a: {"grad/9.weight": np.zeros((3, 1), np.float32)}, "'grad/9.weight' has no parameter"),
    "metric_text": (lambda a: {"metric/accuracy": np.array(["a", "b", "c"])},
                    "'metric/accuracy' must hold real floating-point numbers"),
    "metric_records": (lambda a: {"metric/accuracy": np.zeros(5)}, "'metric/accuracy' has shape (5,), expected (3,)"),
    "series_complex": (lambda a: {"series/act": np.zeros((3, 3), complex)}, "'series/act' must be real numbers"),
    "param_nan": (lambda a: {"param/0.bias": with_nan(a["param/0.bias"], 1)},
                  "'param/0.bias' is not finite (inf or nan) in record 1 (step 4)"),
    "version_float": (lambda a: {"format_version": np.array(1.0)}, "'format_version' must be an integer scalar"),
    "version_array": (lambda a: {"format_version": np.array([1, 1])}, "'format_version' must be an integer scalar"),
    "version_other": (lambda a: {"format_version": np.array(3)}, "history format version 3, this nnviz reads 1 or 2"),
    "name_number": (lambda a: {"name": np.array(3.0)}, "'name' must be a text scalar"),
    "structure_unknown_key": (lambda a: {"structure_json": np.array(str(a["structure_json"]).replace(
        '"0.weight"', '"7.weight"'))}, "layer '0' names weight '7.weight', which the history does not hold"),
    "structure_not_json": (lambda a: {"structure_json": np.array("[{")}, "not an nnviz history file"),
    "structure_not_layers": (lambda a: {"structure_json": np.array("[1, 2]")}, "not an nnviz history file"),
    "config_list": (lambda a: {"config_json": np.array("[1]")}, "'config_json' must be a JSON object, got list"),
    "no_params": (lambda a: {k: v for k, v in a.items() if not k.startswith(("param/", "grad/"))},
                  "it holds no parameters"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_history_file_is_one_clear_error(tmp_path, case):
    change, message = BAD[case]
    arrays = good_arrays(tmp_path)
    changed = change(arrays)
    arrays = changed if case in ("no_records", "grad_missing", "no_params") else {**arrays, **changed}
    path = tmp_path / f"{case}.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError) as error:
        History.load(path)
    text = str(error.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text, text


def npy_claiming(shape: tuple[int, ...], payload: bytes = b"\0" * 64) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + payload


def test_a_tiny_file_claiming_a_huge_array_is_refused_before_allocating(tmp_path):
    path = tmp_path / "liar.npz"
    arrays = good_arrays(tmp_path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            if key != "param/0.weight":
                with archive.open(f"{key}.npy", "w") as member:
                    np.lib.format.write_array(member, array)
        archive.writestr("param/0.weight.npy", npy_claiming((100_000, 1_000_000)))
    assert path.stat().st_size < 10_000
    with pytest.raises(ValueError, match=r"liar\.npz: 'param/0\.weight' claims a float64 array of shape "
                                         r"\(100000, 1000000\) \(745 GiB\) but the file holds 64 bytes of it"):
        History.load(path)


@pytest.mark.bpy
def test_train_py_reports_a_lying_file_in_one_line(tmp_path):
    pytest.importorskip("bpy")
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("format_version.npy", npy_claiming((10**12,)))
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "--history", path, "--out", tmp_path / "x.mp4"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith(f"nnviz: error: {path}: 'format_version' claims"), result.stderr
