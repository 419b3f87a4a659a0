"""Training data: seeded numpy task generators, the shipped 8×8 digits, your own tables, the test
split and a mini-batch iterator.

Tasks: ``rgb`` (colours → a colour mapping), the 2D point tasks ``xor``, ``circle``, ``gauss``,
``spiral``, ``moons``, ``digits``, the token-sequence tasks ``reverse``, ``sort`` and
``modular_addition`` (:mod:`.sequences`), and ``table`` (a .csv or .npz of your own). Nothing is downloaded.
"""

from .batches import Batches
from .dataset import TABLE_TASK, TASK_NAMES, DataConfig, Dataset, make_dataset, output_size, table_of, task_info
from .split import test_size, train_test
from .table import Table, TableError, load_table
from .tasks import RGB_MAPPINGS, TASKS, TaskInfo

__all__ = ["RGB_MAPPINGS", "TABLE_TASK", "TASKS", "TASK_NAMES", "Batches", "DataConfig", "Dataset", "Table",
           "TableError", "TaskInfo", "load_table", "make_dataset", "output_size", "table_of", "task_info",
           "test_size", "train_test"]
