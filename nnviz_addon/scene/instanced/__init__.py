"""The instanced cube writer: one object per parameter tensor, drawn by a Geometry Nodes tree.

Split by job: :mod:`.squares` makes a tensor's base mesh (a square per cube) and its material,
:mod:`.node_tree` builds the shared tree that colours and sizes the squares at every frame,
:mod:`.writer` adds, keys and live-updates a tensor's object, and :mod:`.object_colors` is the
Blender 5.0 workaround that carries other meshes' object colours into the colour attribute.
Callers use the names re-exported here (``instanced.add_tensor`` …).
"""

from .node_tree import DARK
from .object_colors import carry_object_colors
from .squares import COLOR_ATTRIBUTE
from .writer import (
    INDICES_PROPERTY,
    TENSOR_PROPERTY,
    add_tensor,
    ease,
    input_path,
    input_value,
    make_blocks,
    set_live,
    tensor_objects,
    write_flash,
)

__all__ = ["COLOR_ATTRIBUTE", "DARK", "INDICES_PROPERTY", "TENSOR_PROPERTY", "add_tensor", "carry_object_colors",
           "ease", "input_path", "input_value", "make_blocks", "set_live", "tensor_objects", "write_flash"]
