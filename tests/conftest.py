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


@pytest.fixture
def settings(empty_blend):
    """An empty Blender with nnviz registered; yields ``scene.nnviz`` and unregisters after
    (a class left registered makes bpy 4.2 crash and 4.5 hang at exit)."""
    bpy = pytest.importorskip("bpy")
    import nnviz_addon

    nnviz_addon.register()
    try:
        yield bpy.context.scene.nnviz
    finally:
        nnviz_addon.unregister()
