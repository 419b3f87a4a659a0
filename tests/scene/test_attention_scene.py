"""A sequence task's scene: every head's attention tile keyed per record, the probe sequence in
and out, the token embeddings as a labelled vocab × d grid; with either cube writer and the film."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.history import History
from nnviz_addon.preset.config import find_presets, load_preset
from nnviz_addon.training.run import TrainingRun

bpy = pytest.importorskip("bpy")
from nnviz_addon import scene  # noqa: E402

pytestmark = pytest.mark.bpy
SMALL = [{"type": "embedding", "dim": 8}, {"type": "positional"},
         {"type": "transformer", "heads": 2, "feedforward": 16}, {"type": "linear", "out": 10}]


@pytest.fixture(scope="module")
def history() -> History:
    preset = load_preset(find_presets()["reverse"])
    return TrainingRun(preset.replace(model={"layers": SMALL}, train={"steps": 60, "record_every": 30,
                                                                      "lr": 0.01})).run()


def colour_at(name: str, frame: int) -> np.ndarray:
    bpy.context.scene.frame_set(frame)
    obj = bpy.data.objects[name]
    return np.array(obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).color)


@pytest.mark.parametrize("cubes", ["objects", "instanced"])
def test_each_heads_pattern_is_keyed_per_record(history, cubes):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene.build(history, scene.SceneOptions(frames_per_record=2, cubes=cubes))
    collection = bpy.data.collections["nnviz · attention"]
    tiles = [o for o in collection.objects if "head" in o.name and "[" in o.name]
    assert len(tiles) == 2 * 8 * 8
    first, last = 1, 1 + 2 * (history.records - 1)
    weights = history.series["attention/2.self_attn"]
    for q, k in ((0, 7), (3, 3)):
        name = f"attention · 2.self_attn · head 1[{q},{k}]"
        start, end = colour_at(name, first), colour_at(name, last)
        brighter = weights[-1, 1, q, k] > weights[0, 1, q, k]
        assert (end[:3].sum() > start[:3].sum()) == brighter
    tokens = [str(t) for t in history.static["sequence/input"].tolist()]
    texts = [o.data.body for o in collection.objects if o.type == "FONT"]
    assert texts.count(tokens[0]) >= 3  # over both heads' columns and beside the first head's rows
    task = bpy.data.collections["nnviz · task"]
    assert len([o for o in task.objects if o.name.startswith("sequence · out[")]) == 10 * 8
    labels = [o.data.body for o in bpy.data.objects if o.type == "FONT"]
    # the title, then (with per-layer colour scales) the layer's ± scale; the block drawn as it is built
    # (a label may wrap its kind onto a second line)
    labels = [label.replace("\n", " · ") for label in labels]
    assert any(label.split(" · ±")[0] == "0 · Embedding 10 tokens×8" for label in labels)
    assert any(label.startswith("self_attn · MultiheadAttention · 2 heads · ±") for label in labels)
    assert {"Q", "K", "V", "2 · TransformerEncoderLayer"} <= set(labels)


def test_the_film_draws_a_sequence_run(history):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene.build(history, scene.SceneOptions(style="film", forward_pass="intro"))
    assert "nnviz · attention" in bpy.data.collections


def test_the_token_embedding_rows_are_named_by_token(history):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene.build(history, scene.SceneOptions())
    rows = sorted(bpy.data.collections["nnviz · tokens"].objects, key=lambda o: -o.location.z)
    assert [o.data.body for o in rows] == [str(t) for t in range(10)]
    cubes = [o for o in bpy.data.objects if o.get("nnviz_param") == "0.weight"]
    assert max(o.location.x for o in rows) < min(o.location.x for o in cubes)  # left of the grid
    zs = sorted({round(o.location.z, 3) for o in cubes}, reverse=True)
    assert len(zs) == 10 and all(abs(r.location.z - z) < 0.5 for r, z in zip(rows, zs, strict=True))
