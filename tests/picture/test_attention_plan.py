"""The attention maps' plan and the sequence task view, from a History alone (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.history import History, LayerSpec
from nnviz_addon.picture import attention, task_views
from nnviz_addon.picture.view_layout import Rect

RECORDS, HEADS, LENGTH = 3, 2, 4


def history(static: dict | None = None, **series) -> History:
    params = {"0.weight": np.zeros((RECORDS, 5, 3))}
    return History("seq", [LayerSpec("0", "Linear", 3, 5, "0.weight", None)], steps=np.arange(RECORDS),
                   loss=np.zeros(RECORDS), params=params, grads={}, series=series, static=static or {})


def weights() -> np.ndarray:
    """Uniform attention at the first record, the anti-diagonal at the last."""
    uniform = np.full((HEADS, LENGTH, LENGTH), 1 / LENGTH)
    mirror = np.broadcast_to(np.eye(LENGTH)[::-1], (HEADS, LENGTH, LENGTH))
    return np.stack([uniform, (uniform + mirror) / 2, mirror])


RECT = Rect(left=0.0, bottom=-30.0, width=60.0, height=30.0, text_size=1.0)


def tiles(plan) -> list[task_views.Patches]:
    return [item for item in plan.items if isinstance(item, task_views.Patches)]


def texts(plan) -> list[str]:
    return [item.label.text for item in plan.items if isinstance(item, task_views.Text)]


def test_a_tile_per_head_keyed_per_record_from_dark_to_bright():
    plan = attention.plan(history(**{"attention/1.self_attn": weights()}), np.array([1, 3, 5]), RECT)
    heads = tiles(plan)
    assert len(heads) == HEADS and all(len(h.names) == LENGTH * LENGTH for h in heads)
    keyed = heads[0].keyed_rgba
    assert keyed.shape == (RECORDS, LENGTH * LENGTH, 4)
    brightness = keyed[..., :3].sum(axis=-1).reshape(RECORDS, LENGTH, LENGTH)
    anti = np.eye(LENGTH, dtype=bool)[::-1]
    assert np.ptp(brightness[0]) < 1e-9  # uniform: every cell alike
    assert brightness[-1][anti].min() > brightness[-1][~anti].max()  # the anti-diagonal lit
    # row i is query i (top to bottom), column j key j (left to right)
    centres = heads[0].positions.reshape(LENGTH, LENGTH, 3)
    assert np.all(np.diff(centres[:, 0, 2]) < 0) and np.all(np.diff(centres[0, :, 0]) > 0)
    second = heads[1].positions[:, 0].min()
    assert second > heads[0].positions[:, 0].max()  # heads side by side
    (low, _, bottom), (high, _, top) = plan.bounds
    assert RECT.left <= low and high <= RECT.right + 1e-9 and RECT.bottom <= bottom and top <= RECT.top
    assert "1.self_attn · 2 heads" in texts(plan) and "head 1" in texts(plan)


def test_tokens_label_the_rows_and_columns_when_the_history_has_them():
    static = {"sequence/input": np.array([3, 0, 2, 4]), "sequence/tokens": np.array(["a", "b", "c", "d", "="])}
    plan = attention.plan(history(static, **{"attention/2.attn": weights()}), np.arange(RECORDS), RECT)
    labels = texts(plan)
    # each head's columns and the first head's rows
    assert labels.count("=") == HEADS + 1 and labels.count("a") == HEADS + 1
    # a recorded torch run without the sequence's tokens: the positions' numbers instead
    bare = texts(attention.plan(history(**{"attention/2.attn": weights()}), np.arange(RECORDS), RECT))
    assert bare.count("3") == HEADS + 1


def test_no_attention_no_maps_and_the_band_goes_under_the_picture():
    plain = history()
    assert attention.plan(plain, np.arange(RECORDS), RECT) is None
    assert attention.band_under(plain, ((0, 0, 0), (16, 0, 2)), 16 / 9, 1.0) is None
    band = attention.band_under(history(**{"attention/x": weights()}), ((0, 0, -1), (32, 0, 2)), 16 / 9, 0.5)
    assert band.top < -1 and band.width == 32
    assert band.height == pytest.approx(32 / (16 / 9) - 3)  # the frame's spare height


def test_the_sequence_view_shows_the_tokens_in_and_the_networks_probabilities_out():
    tokens = np.array([str(i) for i in range(5)])
    probabilities = np.zeros((RECORDS, LENGTH, 5))
    probabilities[0] = 0.2
    target = np.array([1, 4, -100, 0])
    probabilities[-1, np.arange(LENGTH), [1, 4, 0, 0]] = 1.0
    static = {"sequence/input": np.array([0, 4, 1, 2]), "sequence/target": target, "sequence/tokens": tokens}
    view = task_views.plan(history(static, **{"sequence/probabilities": probabilities}), np.arange(RECORDS), RECT)
    grid = next(p for p in tiles(view) if p.keyed_rgba is not None)
    assert len(grid.names) == 5 * LENGTH
    final = grid.keyed_rgba[-1, :, :3].reshape(5, LENGTH, 3)  # rows: tokens, columns: positions
    assert final[1, 0, 1] > final[1, 0, 0]  # the target's cell is green
    assert final[0, 2].sum() > final[1, 2].sum() and final[0, 2, 1] < final[0, 2, 0] + 0.3  # no target: grey
    assert final[3].sum() == pytest.approx(final[2, 0].sum() * LENGTH)  # nothing predicted: all dark
    labels = texts(view)
    assert {"in", "target", "out"} <= set(labels) and "·" in labels


def test_a_narrow_sequence_view_keeps_its_cells_inside_it():
    # grokking's view: a share of the band beside the attention maps, large legible text, 25 tokens
    tokens = np.array([str(i) for i in range(25)])
    static = {"sequence/input": np.array([3, 4, 24]), "sequence/target": np.array([-100, -100, 7]),
              "sequence/tokens": tokens}
    narrow = Rect(left=0.0, bottom=-30.0, width=6.0, height=30.0, text_size=1.5)
    view = task_views.plan(history(static, **{"sequence/probabilities": np.full((RECORDS, 3, 25), 0.04)}),
                           np.arange(RECORDS), narrow)
    for patches in tiles(view):
        z = patches.positions[:, 2]
        assert z.max() < narrow.bottom + narrow.height and z.min() > narrow.bottom, patches.names[0]


def test_a_short_sequence_view_is_as_wide_as_its_title_and_caption():
    # grokking's: 3 positions of 25 tokens want a grid narrower than "out: P(token) at each position",
    # which then ran into the attention maps' title and their first head's name
    band = Rect(left=0.0, bottom=-40.0, width=100.0, height=30.0, text_size=1.5)
    sequence, maps = attention.share_band(band, history(**{"sequence/probabilities": np.full((RECORDS, 3, 25), 0.04)}))
    assert sequence.width >= task_views.sequence_text_width(band.text_size) > 30.0 * 5 / 30
    assert maps.left >= sequence.right


def test_the_sequence_view_takes_the_bands_left_when_there_is_one():
    probabilities = np.full((RECORDS, LENGTH, 5), 0.2)
    band = Rect(left=0.0, bottom=-40.0, width=100.0, height=30.0, text_size=1.0)
    sequence, maps = attention.share_band(band, history(**{"sequence/probabilities": probabilities}))
    assert sequence.left == 0.0 and sequence.height == maps.height == 30.0
    assert sequence.right < maps.left and maps.right == pytest.approx(band.right)
    assert sequence.width == pytest.approx(30.0 * (LENGTH + 2) / (5 + 5))
    assert attention.share_band(band, history()) == (None, band)
    assert attention.share_band(None, history(**{"sequence/probabilities": probabilities})) == (None, None)
