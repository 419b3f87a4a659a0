"""The panel's operators driven with generated settings, as a user clicking through the panel would:
each call finishes, is cancelled, or reports one clear line (``RuntimeError`` from ``bpy.ops`` with a
single line); never a Python traceback, never a hang. Seeded and bounded, as the preset fuzzing."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nnviz_addon.preset.config import find_presets  # noqa: E402
from nnviz_addon.ui.session import SESSION  # noqa: E402

pytestmark = pytest.mark.bpy
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=12,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Settings whose generated values could make a single example take minutes are drawn from small
# sets here; the checks for their large values have tests of their own (the scene-size limits).
SMALL = {"steps": st.integers(1, 6), "record_every": st.integers(1, 4), "batch_size": st.integers(1, 300),
         "samples": st.sampled_from([2, 3, 50, 300, 100_000]), "frames_per_record": st.sampled_from([1, 2, 600_000]),
         "forward_pass_every": st.integers(1, 4), "render_samples": st.integers(1, 4)}
LAYERS = st.one_of(st.lists(st.integers(1, 12), min_size=1, max_size=4).map(lambda sizes: ", ".join(map(str, sizes))),
                   st.sampled_from(["2, 4, 1", "3, 3", "64, 10", "2, 2, 2", "", "two, 4", "2; 4; 1", "0, 1",
                                    "2, 600, 600, 1", "-2, 1"]),
                   st.text(max_size=6))


def value_of(prop: Any) -> st.SearchStrategy:
    """A strategy for one property of the nnviz settings, within Blender's own range for it."""
    if prop.identifier in SMALL:
        return SMALL[prop.identifier]
    if prop.identifier == "layers":
        return LAYERS
    if prop.type == "ENUM":
        return st.sampled_from([item.identifier for item in prop.enum_items])
    if prop.type == "BOOLEAN":
        return st.booleans()
    if prop.type == "STRING":
        return st.one_of(st.text(max_size=8), st.just("x" * 5000), st.just("//missing.csv"))
    if prop.type == "INT":
        low, high = prop.hard_min, min(prop.hard_max, 5_000)
        scalar = st.integers(low, high)
    else:
        low, high = prop.hard_min, min(prop.hard_max, 1e4)
        scalar = st.floats(low, high, allow_nan=False, width=32)
    return st.lists(scalar, min_size=prop.array_length, max_size=prop.array_length) if prop.array_length else scalar


SKIPPED = {"rna_type", "preset", "weight_value", "output_path", "layer_tables", "table_path"}
OPERATIONS = ["build", "step", "train", "reset", "stop", "render", "import_history", "set_weight", "load_preset"]


def call(name: str, draw: Any, tmp: Any) -> Any:
    ops = bpy.ops.nnviz
    if name == "render":  # only paths it refuses before rendering (Workbench can abort a process without EGL)
        bpy.context.scene.nnviz.output_path = draw(st.sampled_from(["", "//rel.mp4", str(tmp / "x.avi"),
                                                                    str(tmp / "missing" / "x.mp4")]))
        return ops.render()
    if name == "import_history":
        path = tmp / "h.npz"
        path.write_bytes(draw(st.sampled_from([b"", b"PK\x03\x04junk", b"not a zip"])))
        return ops.import_history(filepath=draw(st.sampled_from(["", str(path), str(tmp / "none.npz"), str(tmp)])))
    if name == "set_weight":
        return ops.set_weight(param=draw(st.sampled_from(["0.weight", "0.bias", "2.weight", "nope", ""])),
                              index=draw(st.tuples(st.integers(0, 20), st.integers(0, 20))),
                              value=draw(st.floats(-1e6, 1e6, width=32)))
    if name == "load_preset":
        return ops.load_preset(filepath=draw(st.sampled_from(["", str(tmp / "none.toml"), str(tmp)])))
    return getattr(ops, name)()


@FUZZ
@given(st.data())
def test_the_operators_finish_or_report_one_line(settings, tmp_path, hang_guard, data):
    hang_guard(600)
    SESSION.discard()
    draw = data.draw
    if draw(st.booleans(), label="start from a shipped preset"):  # most settings then fit together
        settings.preset = draw(st.sampled_from(sorted(find_presets())), label="preset")
        assert bpy.ops.nnviz.load_preset() == {"FINISHED"}
        settings.steps = draw(SMALL["steps"], label="steps")  # a shipped run trains for minutes here
    props = [prop for prop in settings.bl_rna.properties if prop.identifier not in SKIPPED]
    for prop in draw(st.lists(st.sampled_from(props), max_size=6, unique_by=lambda p: p.identifier)):
        value = draw(value_of(prop), label=prop.identifier)
        with contextlib.suppress(TypeError, ValueError):  # a value the property itself refuses, as the panel would
            setattr(settings, prop.identifier, value)
    if "600" in settings.layers:  # a net too big for objects: refused before training, not built
        settings.cubes = "objects"
    for name in draw(st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=3), label="operations"):
        try:
            result = call(name, draw, tmp_path)
        except RuntimeError as error:
            text = str(error).strip()
            assert "Traceback" not in text and "\n" not in text, text
        else:
            assert result <= {"FINISHED", "CANCELLED"}, result
    if SESSION.run is not None:
        assert all(np.isfinite(array).all() for array in SESSION.run.model.parameter_arrays().values()) \
            or SESSION.run.diverged
