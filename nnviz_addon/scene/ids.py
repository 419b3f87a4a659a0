"""Creating many Blender IDs (objects, actions) quickly."""

from __future__ import annotations

from collections.abc import Sequence


def creation_order(names: Sequence[str]) -> list[int]:
    """The indices of ``names`` in the order to create their IDs: descending by name.

    Blender keeps each kind of ID in a list sorted by name and inserts every new ID into it, and
    descending order is its cheap case. Measured with the digits net's 2,410 cube names, creating
    the objects or actions this way instead of in row order is 4× faster on 4.5 and 5.0 (1.2× on
    4.2), and the gap grows with the count.
    """
    return sorted(range(len(names)), key=names.__getitem__, reverse=True)
