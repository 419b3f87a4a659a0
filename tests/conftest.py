"""Shared fixtures."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed-seed generator so every test draws the same data each run."""
    return np.random.default_rng(12345)


@pytest.fixture
def empty_blend() -> None:
    """A factory-fresh, empty Blender file for a test that builds in it (needs bpy)."""
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)
