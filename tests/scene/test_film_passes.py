"""A film's forward pass in real Blender, where a transformer's and a residual model's differ from an
MLP's: the attention maps go dark and light up with the record's pattern at the attention's turn,
and a residual's arc lights up at the turn it is added back."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
from nnviz_addon import api, scene  # noqa: E402
from nnviz_addon.picture import attention as attention_plan  # noqa: E402
from nnviz_addon.picture import film_passes  # noqa: E402
from nnviz_addon.scene import film, model_parts  # noqa: E402
from nnviz_addon.scene.film import passes  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.usefixtures("empty_blend")]
INTRO = {"style": "film", "forward_pass": "intro", "frames_per_record": 2, "resolution": (320, 180)}


def colors_at(objs: list, frame: int) -> np.ndarray:
    """The colours a viewer sees of ``objs`` at ``frame`` (evaluated), (N, 3)."""
    bpy.context.scene.frame_set(frame)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    return np.array([tuple(o.evaluated_get(depsgraph).color)[:3] for o in objs])


def test_the_attention_maps_light_up_with_the_records_pattern_at_the_attentions_turn() -> None:
    history = api.train("reverse", steps=8)
    config = dataclasses.replace(api.render_config_of(history), **INTRO)
    api.animate(history, render=config)
    plan = film.timeline(history, scene.SceneOptions.from_render_config(config))
    stages = film_passes.pass_stages(history)
    k = next(k for k, s in enumerate(stages) if s.attention)
    key = stages[k].attention
    weights = np.asarray(history.series[key])
    names = [attention_plan.cell_name(key, h, i, j) for h in range(weights.shape[1])
             for i in range(weights.shape[2]) for j in range(weights.shape[3])]
    cells = [bpy.data.objects[name] for name in names]
    unlit = attention_plan.cell_colors(np.zeros(1))[0, :3]
    for i, record in enumerate(plan.passes.tolist()):
        lit = int(plan.lit[i, k])
        assert np.allclose(colors_at(cells, plan.starts[i]), unlit, atol=1e-6)  # dark from the pass's start
        assert np.allclose(colors_at(cells, lit - 1), unlit, atol=1e-6)  # until the attention's turn
        pattern = attention_plan.cell_colors(weights[record].ravel())[:, :3]
        assert np.allclose(colors_at(cells, lit), pattern, atol=1e-5), f"pass {i}"
        assert np.ptp(pattern) > 0.01  # a pattern, not one colour: lighting it shows


def test_a_residuals_arc_lights_up_at_the_turn_it_is_added_back() -> None:
    pytest.importorskip("torch")
    from tests.support.torch_zoo import train_recorded, zoo

    model, x, y = zoo()["residual_mlp"]
    rec, _ = train_recorded(model, x, y, steps=3)
    history = rec.history()
    options = scene.SceneOptions(style="film", forward_pass="intro", frames_per_record=2, cubes="objects")
    scene.build(history, options)
    plan = film.timeline(history, options)
    stages = film_passes.pass_stages(history)
    [k] = [k for k, s in enumerate(stages) if s.skips == (0,)]
    assert stages[k].name == "layer block.2"  # the residual is added after the block's last layer
    arc = bpy.data.objects[model_parts.skip_name(0)]
    for i in range(len(plan.passes)):
        lit = int(plan.lit[i, k])
        assert np.allclose(colors_at([arc], lit - 1), passes.SKIP_DIM, atol=1e-6)
        assert np.allclose(colors_at([arc], lit), passes.SKIP_LIT, atol=1e-6)
        end = int(plan.starts[i] + plan.pass_length)
        if end <= bpy.context.scene.frame_end:
            assert np.allclose(colors_at([arc], end), model_parts.SKIP_COLOR[:3], atol=1e-6)
