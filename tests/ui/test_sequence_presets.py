"""The sequence presets from the panel: loaded and trained by the nnviz.* operators, live on timer
events like any other preset, their attention maps keyed in the scene."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from nnviz_addon.preset.config import find_presets  # noqa: E402
from nnviz_addon.ui import operators  # noqa: E402
from nnviz_addon.ui.props import to_preset  # noqa: E402
from nnviz_addon.ui.session import SESSION  # noqa: E402

pytestmark = pytest.mark.bpy


class Reports:
    def __init__(self) -> None:
        self.reports: list[tuple[set[str], str]] = []

    def report(self, kinds: set[str], message: str) -> None:
        self.reports.append((set(kinds), message))


def load(settings, name: str, steps: int, record_every: int) -> None:
    assert bpy.ops.nnviz.load_preset(filepath=str(find_presets()[name])) == {'FINISHED'}
    settings.steps, settings.record_every = steps, record_every
    settings.cubes = "instanced"  # a Geometry Nodes object per tensor: a build in seconds


@pytest.mark.parametrize("name", ["reverse", "sort", "grokking"])
def test_train_from_the_panel_keys_every_head(settings, name):
    load(settings, name, steps=4, record_every=2)
    assert to_preset(settings).data.task == {"reverse": "reverse", "sort": "sort"}.get(name, "modular_addition")
    assert bpy.ops.nnviz.train() == {'FINISHED'}
    history = SESSION.run.history()
    weights = history.series["attention/2.self_attn"]
    assert weights.shape[:2] == (3, 4)
    tiles = [o for o in bpy.data.collections["nnviz · attention"].objects if o.type == "MESH"]
    assert len(tiles) == weights[0].size
    assert all(o.animation_data is not None for o in tiles)  # keyed per record
    assert "Finished" in SESSION.message


def test_reverse_trains_live_on_timer_events(settings):
    load(settings, "reverse", steps=400, record_every=4)
    SESSION.ensure_run(to_preset(settings), restart_finished=True)
    SESSION.add_timer(bpy.context.window_manager, bpy.context.window)
    stand_in = Reports()
    tick = SimpleNamespace(type='TIMER', value='NOTHING')
    assert operators.NNVIZ_OT_train.modal(stand_in, bpy.context, tick) == {'RUNNING_MODAL'}
    assert 0 < SESSION.run.step < 400 and SESSION.training  # a slice, the panel stays responsive
    escape = SimpleNamespace(type='ESC', value='PRESS')
    assert operators.NNVIZ_OT_train.modal(stand_in, bpy.context, escape) == {'FINISHED'}
    history = SESSION.run.history()
    assert np.isfinite(history.loss[1:]).all() and "attention/2.self_attn" in history.series
