"""Recording under distributed or compiled training: the model under its wrappers, and one recorder.

``DistributedDataParallel`` keeps the model as ``.module`` (its parameters named ``module.…``) and
``torch.compile`` as ``._orig_mod`` (``_orig_mod.…``); the Recorder records the model inside, under
the names the user's own ``state_dict`` has. With several processes only the main one (rank 0)
records: each holds the same weights after a step, so one copy is the whole story.
"""

from __future__ import annotations

from typing import Any

# The attribute each wrapper keeps the wrapped model under, by the wrapper's class name.
WRAPPED_AS = {"DistributedDataParallel": "module", "DataParallel": "module", "OptimizedModule": "_orig_mod"}


def unwrapped(model: Any) -> Any:
    """The model inside any DistributedDataParallel, DataParallel or torch.compile wrappers."""
    while type(model).__name__ in WRAPPED_AS and hasattr(model, WRAPPED_AS[type(model).__name__]):
        model = getattr(model, WRAPPED_AS[type(model).__name__])
    return model


def is_main_process() -> bool:
    """True unless torch.distributed runs and this process is not rank 0."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
