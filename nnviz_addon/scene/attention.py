"""The attention maps (see :mod:`..picture.attention`) written into Blender: each head's tile of
keyed squares and its token labels, in a collection ``nnviz · attention``; nothing computed here."""

from __future__ import annotations

import bpy
import numpy as np

from ..history import History
from ..picture import attention as picture
from ..picture.shapes import Bounds
from ..picture.view_layout import Rect
from . import objects
from .task_views import write_items


def add_attention(parent: bpy.types.Collection, history: History, record_frames: np.ndarray,
                  placement: Rect | None) -> Bounds | None:
    """Draw every recorded attention layer's heads inside ``placement``, keyed at ``record_frames``;
    returns the box used, or None when there is nothing to draw (no attention, or no room)."""
    if placement is None:
        return None
    record_frames = objects.record_frames_of(history, record_frames, "add_attention")
    plan = picture.plan(history, record_frames, placement)
    if plan is None:
        return None
    write_items(plan.items, objects.new_collection("nnviz · attention", parent), plan.frames)
    return plan.bounds
