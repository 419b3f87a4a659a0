"""nnviz: watch a neural network learn in Blender.

Everything but :mod:`.scene` and :mod:`.ui` is plain numpy, so ``import nnviz_addon.engine`` works
without Blender. bpy is imported only when Blender registers the add-on.

Inside the package every import is relative: installed as an extension the package is called
``bl_ext.<repository>.nnviz``, not ``nnviz_addon``.
"""

__version__ = "0.1.0"


def register() -> None:
    from . import ui

    ui.register()


def unregister() -> None:
    from . import ui

    ui.unregister()
