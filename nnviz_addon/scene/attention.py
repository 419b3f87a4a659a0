"""The attention maps (see :mod:`..picture.attention`) written into Blender: each head's tile of
keyed squares and its token labels, in a collection ``nnviz · attention``; and the token names
beside an embedding's rows (:mod:`..picture.token_rows`). Nothing computed here."""

from __future__ import annotations

import bpy
import numpy as np

from ..history import History
from ..picture import attention as picture
from ..picture import token_rows
from ..picture.layout import Layout
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


def add_token_rows(parent: bpy.types.Collection, history: History, layout: Layout) -> Bounds | None:
    """Name each row of every token embedding's grid by its token; returns the labels' box."""
    labels = token_rows.row_labels(history, layout.blocks)
    if not labels:
        return None
    collection = objects.new_collection("nnviz · tokens", parent)
    for label in labels:
        objects.add_label(label, f"token · {label.text}", collection)
    return token_rows.bounds(labels)
