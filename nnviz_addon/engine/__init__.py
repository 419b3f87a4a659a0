"""A small numpy-only look-alike of PyTorch: ``Tensor`` with autograd, ``nn`` and ``optim``.

from nnviz_addon.engine import Tensor, nn, optim
model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 3))
"""

from . import nn, optim
from ._random import default_generator, manual_seed
from ._tensor import (
    Tensor,
    cat,
    chunk,
    enable_grad,
    float32,
    float64,
    int64,
    is_grad_enabled,
    masked_fill,
    matmul,
    no_grad,
    split,
    stack,
    tensor,
    tril,
    triu,
)
from ._threads import get_num_threads, set_num_threads

__all__ = [
    "Tensor",
    "cat",
    "chunk",
    "default_generator",
    "enable_grad",
    "float32",
    "float64",
    "get_num_threads",
    "int64",
    "is_grad_enabled",
    "manual_seed",
    "masked_fill",
    "matmul",
    "nn",
    "no_grad",
    "optim",
    "set_num_threads",
    "split",
    "stack",
    "tensor",
    "tril",
    "triu",
]
