"""Training data: seeded numpy task generators, the shipped 8×8 digits and a mini-batch iterator.

Tasks: ``rgb`` (colours → a colour mapping), the 2D point tasks ``xor``, ``circle``, ``gauss``,
``spiral``, ``moons``, and ``digits``. Nothing is downloaded.
"""

from .batches import Batches
from .dataset import Dataset, make_dataset, output_size
from .tasks import RGB_MAPPINGS, TASKS, TaskInfo

__all__ = ["RGB_MAPPINGS", "TASKS", "Batches", "Dataset", "TaskInfo", "make_dataset", "output_size"]
