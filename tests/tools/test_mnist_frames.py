"""The issue's measure, as a viewer sees it: a torch 784-128-10 trained to 99% on 28×28 digits,
recorded with input_shape, animated with every default and rendered at 1280×720 in Workbench shows
its learning: the first and last frames differ in at least 10% of their pixels, and its first
layer's tiles, near-white noise at first, are coloured templates at the end."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import mnist_frames  # noqa: E402


def coloured_share(pixels: np.ndarray) -> float:
    """The share of pixels strongly blue or red: channels spread over 80 of 255 (white, grey text,
    the dark background and pale init noise have less)."""
    return float((pixels.max(axis=-1) - pixels.min(axis=-1) > 80).mean())


@pytest.mark.torch
@pytest.mark.bpy
@pytest.mark.slow
def test_a_recorded_mnist_shaped_run_shows_its_learning(tmp_path):
    pytest.importorskip("torch")  # the Blender legs have no torch
    result = mnist_frames.measure(tmp_path)
    assert result["accuracy"] >= 0.99
    assert result["changed"] >= 0.10, f"only {result['changed']:.1%} of the pixels changed"
    first, last = mnist_frames.read_png(result["first"]), mnist_frames.read_png(result["last"])
    # the tiles' random init is pale; the templates trained into them are strong colour (measured:
    # 0.8% of the first frame's pixels, 4.2% of the last's)
    assert coloured_share(first) < 0.015
    assert coloured_share(last) > max(0.025, 3 * coloured_share(first))
