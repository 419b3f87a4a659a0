"""The attention maps (see :mod:`..picture.attention`) written into Blender: each head's tile of
keyed squares and its token labels, in a collection ``nnviz · attention``; and the token names
beside an embedding's rows (:mod:`..picture.token_rows`). Nothing computed here."""

from __future__ import annotations

from collections.abc import Sequence

import bpy

from ..picture import attention as picture
from ..picture.shapes import Label
from . import objects
from .task_views import write_items


def add_attention(parent: bpy.types.Collection, plan: picture.AttentionPlan) -> None:
    """Write every recorded attention layer's heads (``plan``), keyed at its frames."""
    write_items(plan.items, objects.new_collection("nnviz · attention", parent), plan.frames)


def add_token_rows(parent: bpy.types.Collection, labels: Sequence[Label]) -> None:
    """Write the token names beside every token embedding's rows (:func:`..picture.token_rows.row_labels`)."""
    collection = objects.new_collection("nnviz · tokens", parent)
    for label in labels:
        objects.add_label(label, f"token · {label.text}", collection)
