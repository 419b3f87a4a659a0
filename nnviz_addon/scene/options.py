"""The public home of ``SceneOptions`` in the scene (``from nnviz_addon.scene.options import
SceneOptions``): the options are plain data the frame plan reads, so they live in :mod:`..picture.options`."""

from ..picture.options import SceneOptions

__all__ = ["SceneOptions"]
