"""The public home of the Recorder (``from nnviz_addon.record import Recorder``); it lives in
:mod:`nnviz_addon.training.record`."""

from .training.record import Recorder

__all__ = ["Recorder"]
