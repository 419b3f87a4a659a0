"""The History: every recorded step of a run (values, gradients, loss, metrics, probe series), the
contract between training (our engine or PyTorch) and the picture. Plain numpy; saved as one .npz.

``checks`` is what every History passes before it is drawn (``History.validate``), ``file_format``
reads and checks files, ``atomic``
writes any output so that a failed write leaves nothing half-written."""

from . import keys
from .checks import HistoryError
from .graph import ModelGraph, ModuleNode, Skip
from .history import FORMAT_VERSION, History, HistoryWriter, LayerSpec, check_input_shape

__all__ = ["FORMAT_VERSION", "History", "HistoryError", "HistoryWriter", "LayerSpec", "ModelGraph",
           "ModuleNode", "Skip", "check_input_shape", "keys"]
