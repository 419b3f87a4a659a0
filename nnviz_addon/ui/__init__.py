"""The Blender side of nnviz: settings on ``scene.nnviz``, the ``nnviz.*`` operators, the sidebar panel.

``register()`` and ``unregister()`` may run any number of times in one Blender session (enable,
disable, enable again) and leave nothing behind.
"""

from __future__ import annotations

import bpy
from bpy.app.handlers import persistent

from ..scene import objects
from . import operators, panel, props
from .session import EDITS_PROPERTY, SESSION

CLASSES = (props.NNVIZ_PG_settings, *operators.CLASSES, *panel.CLASSES)


@persistent
def _forget_run_on_load(*_args: object) -> None:
    # The run's cubes belong to the file being closed.
    SESSION.discard()


@persistent
def _follow_undo(*_args: object) -> None:
    # Undo and redo bring back the scene's data, not the numpy model: let the model follow the
    # hand edits the restored scene was built with.
    root = objects.root_collection()
    if root is not None and EDITS_PROPERTY in root:
        SESSION.sync_edits(int(root[EDITS_PROPERTY]))


UNDO_HANDLERS = (bpy.app.handlers.undo_post, bpy.app.handlers.redo_post)


def register() -> None:
    registered = []
    try:
        for cls in CLASSES:
            bpy.utils.register_class(cls)
            registered.append(cls)
    except Exception:
        # Roll back, so a failed enable doesn't leave classes behind that make the next one fail too.
        for cls in reversed(registered):
            bpy.utils.unregister_class(cls)
        raise
    bpy.types.Scene.nnviz = bpy.props.PointerProperty(type=props.NNVIZ_PG_settings)
    bpy.app.handlers.load_pre.append(_forget_run_on_load)
    for handlers in UNDO_HANDLERS:
        handlers.append(_follow_undo)


def unregister() -> None:
    SESSION.discard()
    if _forget_run_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_forget_run_on_load)
    for handlers in UNDO_HANDLERS:
        if _follow_undo in handlers:
            handlers.remove(_follow_undo)
    del bpy.types.Scene.nnviz
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
