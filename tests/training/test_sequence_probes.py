"""A sequence task's probe: its tokens, the network's token probabilities per position and every
attention head's weights per record, read while the model runs as usual (no bpy)."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.engine import Tensor, manual_seed, nn
from nnviz_addon.preset.config import preset_from_dict
from nnviz_addon.training.probes import capturing_attention
from nnviz_addon.training.run import TrainingRun

LAYERS = [{"type": "embedding", "dim": 16}, {"type": "positional"},
          {"type": "transformer", "heads": 2, "feedforward": 32}, {"type": "linear", "out": 10}]


def test_every_head_is_recorded_for_the_probe_sequence():
    preset = preset_from_dict({"name": "rev", "model": {"layers": LAYERS},
                               "data": {"task": "reverse", "samples": 100},
                               "train": {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.01, "batch_size": 20,
                                         "steps": 4, "record_every": 2}})
    history = TrainingRun(preset).run()
    assert set(history.static) == {"sequence/input", "sequence/target", "sequence/tokens"}
    tokens = history.static["sequence/input"]
    np.testing.assert_array_equal(history.static["sequence/target"], tokens[::-1])
    assert history.static["sequence/tokens"].tolist() == [str(i) for i in range(10)]
    attention = history.series["attention/2.self_attn"]
    assert attention.shape == (3, 2, 8, 8)
    np.testing.assert_allclose(attention.sum(axis=-1), 1.0, atol=1e-5)
    assert not np.allclose(attention[0], attention[-1])  # the weights moved with training
    probabilities = history.series["sequence/probabilities"]
    assert probabilities.shape == (3, 8, 10)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)
    assert not any(key.startswith("activation/") for key in history.series)


@pytest.mark.parametrize("need_weights", [False, True])
def test_capturing_keeps_what_the_caller_gets(need_weights):
    manual_seed(0)
    attention = nn.MultiheadAttention(8, 2, batch_first=True)
    x = Tensor(np.random.default_rng(0).normal(size=(3, 5, 8)).astype(np.float32))
    mask = np.triu(np.ones((5, 5), dtype=bool), 1)
    plain, plain_weights = attention(x, x, x, attn_mask=mask, need_weights=need_weights)
    with capturing_attention(attention) as captured:
        out, weights = attention(x, x, x, attn_mask=mask, need_weights=need_weights)
    np.testing.assert_allclose(out.data, plain.data, atol=1e-6)
    assert (weights is None) == (not need_weights)
    if need_weights:
        np.testing.assert_allclose(weights.data, plain_weights.data, atol=1e-6)  # averaged, as asked
    heads = captured[""]
    assert heads.shape == (3, 2, 5, 5) and np.allclose(np.triu(heads, 1), 0.0)
    assert "forward" not in vars(attention)  # the module is itself again
