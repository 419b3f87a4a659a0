"""Generated History files keep the one promise: ``History.load`` returns a History the scene can draw
(with bpy, it is animated, or refused in one line before any scene work), or raises one ValueError
line naming the file; never a traceback, never a hang. Shapes, dtypes, header-claimed sizes, non-finite
values and step orders are drawn around a small valid run. Seeded and bounded, as the preset
fuzzing."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nnviz_addon.history import History  # noqa: E402

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=80,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
HAS_BPY = importlib.util.find_spec("bpy") is not None
DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int8, np.uint8, np.bool_, np.complex64, "U3", "S2",
          np.int32]
STRUCTURE = [{"name": "0", "kind": "Linear", "in_features": 2, "out_features": 3, "weight": "0.weight",
              "bias": "0.bias", "activation": "tanh"}]


def valid_arrays(records: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"format_version": np.asarray(1), "name": np.asarray("fuzz"),
            "structure_json": np.asarray(json.dumps(STRUCTURE)), "config_json": np.asarray("{}"),
            "steps": np.arange(records, dtype=np.int64) * 3,
            "loss": rng.uniform(0, 1, records), "metric/accuracy": rng.uniform(0, 1, records),
            "param/0.weight": rng.normal(size=(records, 3, 2)).astype(np.float32),
            "param/0.bias": rng.normal(size=(records, 3)).astype(np.float32),
            "grad/0.weight": rng.normal(size=(records, 3, 2)).astype(np.float32),
            "grad/0.bias": rng.normal(size=(records, 3)).astype(np.float32)}


KEYS = [*valid_arrays(2, np.random.default_rng(0)), "series/activation/0", "static/probe/input", "param/extra",
        "static/points/xy", "series/boundary/probability", "static/input_shape"]


def _cast(array: np.ndarray, dtype: Any) -> np.ndarray:
    try:
        return array.astype(dtype)
    except (TypeError, ValueError):
        return np.zeros(array.shape, dtype=dtype)


@st.composite
def edits(draw: Any, arrays: dict[str, np.ndarray]) -> list[tuple[str, str, Any]]:
    """A few changes to a valid file: a key's dtype, shape, values (inf, nan, a step order), its
    removal, or text in place of JSON."""
    chosen = []
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(KEYS))
        kind = draw(st.sampled_from(["dtype", "shape", "inf", "nan", "order", "remove", "text", "scalar", "empty"]))
        details = {"dtype": st.sampled_from(DTYPES), "shape": st.lists(st.integers(0, 4), max_size=4),
                   "order": st.sampled_from(["reversed", "repeated", "shuffled", "negative", "huge"])}
        texts = st.sampled_from(["", "[", "{}", "[1]", "null", '[{"name": 1}]', "fuzz"])
        chosen.append((key, kind, draw(details.get(kind, texts))))
    return chosen


def apply(arrays: dict[str, np.ndarray], changes: list[tuple[str, str, Any]]) -> dict[str, np.ndarray]:
    arrays = dict(arrays)
    records = len(arrays["steps"]) if arrays.get("steps") is not None and arrays["steps"].ndim == 1 else 2
    for key, kind, detail in changes:
        current = arrays.get(key, np.zeros((records, 3), dtype=np.float32))
        if kind == "remove":
            arrays.pop(key, None)
        elif kind == "dtype":
            arrays[key] = _cast(current, detail)
        elif kind == "shape":
            arrays[key] = np.zeros(tuple(detail), dtype=current.dtype if current.dtype.kind != "U" else np.float32)
        elif kind in ("inf", "nan") and current.dtype.kind == "f" and current.size:
            changed = current.copy()
            changed.flat[-1] = np.inf if kind == "inf" else np.nan
            arrays[key] = changed
        elif kind == "order" and current.ndim == 1 and current.size and current.dtype.kind in "iuf":
            arrays[key] = {"reversed": current[::-1], "repeated": np.sort(np.r_[current[1:], current[-1:]]),
                           "shuffled": np.roll(current, 1), "negative": current - 10**6,
                           "huge": current + np.iinfo(np.int64).max // 2 if current.dtype.kind in "iu" else current
                           }[detail].copy()
        elif kind == "text":
            arrays[key] = np.asarray(detail)
        elif kind == "scalar":
            arrays[key] = np.asarray(3)
        elif kind == "empty":
            arrays[key] = current.reshape(-1)[:0]
    return arrays


def write(path: Path, arrays: dict[str, np.ndarray], claim: tuple[int, ...] | None) -> None:
    """An .npz of ``arrays``; with ``claim``, the first parameter's header claims that shape instead
    (a file whose header lies about its size)."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            data = buffer.getvalue()
            if claim is not None and key == "param/0.weight":
                header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False, "shape": claim}
                head = io.BytesIO()
                np.lib.format.write_array_header_1_0(head, header)
                data = head.getvalue() + array.tobytes()
            archive.writestr(f"{key}.npy", data)


@FUZZ
@given(st.integers(1, 4), st.integers(0, 2**32 - 1), st.data(),
       st.one_of(st.none(), st.lists(st.integers(0, 2**40), min_size=1, max_size=3).map(tuple)))
def test_a_generated_history_file_loads_and_animates_or_is_one_clear_line(tmp_path_factory, hang_guard, records,
                                                                            seed, data, claim):
    hang_guard(300)
    arrays = valid_arrays(records, np.random.default_rng(seed))
    arrays = apply(arrays, data.draw(edits(arrays)))
    path = tmp_path_factory.mktemp("history") / "run.npz"
    write(path, arrays, claim)
    try:
        history = History.load(path)
    except ValueError as error:
        text = str(error)
        assert text.startswith(f"{path}: ") and "\n" not in text and "Traceback" not in text, text
        return
    assert history.validate() is history
    if HAS_BPY and data.draw(st.integers(0, 3)) == 0:  # a few are built, as the panel's Import History does
        import bpy

        from nnviz_addon import api
        from nnviz_addon.scene.options import SceneOptions

        bpy.ops.wm.read_factory_settings(use_empty=True)
        magnitude = data.draw(st.sampled_from(["none", "gradient", "update"]))
        try:
            api.animate(history, options=SceneOptions(magnitude=magnitude))
        except ValueError as error:  # probe data that doesn't fit its layer: refused before any scene work
            assert "\n" not in str(error), str(error)
            assert not [obj for obj in bpy.data.objects if obj.get("nnviz")]
        else:
            assert bpy.context.scene.frame_end >= 1
