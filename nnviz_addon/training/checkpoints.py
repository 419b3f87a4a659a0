"""A folder of checkpoints, the artefact most training runs already leave, read as a History.

Every ``state_dict`` file in the folder is one record, in step order: ``.pt``/``.pth``/``.ckpt``/``.bin``
files are read with ``torch.load(path, weights_only=True, map_location="cpu")`` (no pickled code
runs), ``.safetensors`` files with the ``safetensors`` package where it is installed. A file may hold
the ``state_dict`` itself, Lightning's ``{"state_dict": ..., "global_step": ...}`` or a dict such as
``{"model": ..., "step": ...}``; prefixes every name shares (``model.``, ``module.``, ``_orig_mod.``)
are taken off. The step is the file's ``step``/``global_step`` entry, else the last number in its
name (``ckpt_500.pt``). The History holds values only: checkpoints keep no gradients.

The layers are read from the tensors' shapes (a 2-D weight is a ``Linear``, a 4-D one a ``Conv2d``,
a 1-D one with running statistics a batch norm, else a ``LayerNorm``); activations can't be seen in
a ``state_dict``, so pass the ``model`` to :func:`read_checkpoints` to name them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..history import History, LayerSpec, check_input_shape, keys

TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
SAFETENSORS_SUFFIX = ".safetensors"
STEP_KEYS = ("step", "global_step")
# Where a checkpoint dict keeps the model's weights, when it keeps more than them.
STATE_KEYS = ("state_dict", "model_state_dict", "model", "module")
WRAPPER_PREFIXES = ("model.", "module.", "_orig_mod.")


class CheckpointError(ValueError):
    """A folder or file that can't be read as checkpoints of one model; the message names it."""


def checkpoint_files(folder: Path) -> list[Path]:
    """The checkpoint files directly in ``folder`` (refused by name when there are none)."""
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: not a folder of checkpoints")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in (*TORCH_SUFFIXES, SAFETENSORS_SUFFIX))
    if not files:
        raise CheckpointError(f"{folder}: no checkpoint files in it (looked for "
                              f"{', '.join((*TORCH_SUFFIXES, SAFETENSORS_SUFFIX))})")
    return files


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, (int, float))


def _load(path: Path) -> Mapping[str, Any]:
    if path.suffix.lower() == SAFETENSORS_SUFFIX:
        try:
            from safetensors.numpy import load_file
        except ModuleNotFoundError:
            raise CheckpointError(f"{path}: reading .safetensors needs the safetensors package "
                                  f"(pip install safetensors)") from None
        try:
            return load_file(str(path))
        except Exception as error:  # safetensors raises its own error types
            raise CheckpointError(f"{path}: not a readable .safetensors file ({error})") from None
    import torch

    try:
        loaded = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:  # pickle, zip and torch's own errors alike: the file is not one we can read
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path}: torch.load(weights_only=True) can't read it ({first_line})") from None
    if not isinstance(loaded, Mapping):
        raise CheckpointError(f"{path}: holds a {type(loaded).__name__}, not a state_dict")
    return loaded


def _state_and_step(path: Path, loaded: Mapping[str, Any]) -> tuple[dict[str, Any], int, float]:
    """The weights (names without wrapper prefixes), the step and the loss (NaN if not kept) of one file."""
    state: Mapping[str, Any] = loaded
    if not all(_is_tensor(v) for v in loaded.values()):
        inner = next((loaded[k] for k in STATE_KEYS if isinstance(loaded.get(k), Mapping)), None)
        if inner is None:
            raise CheckpointError(f"{path}: no state_dict in it (a dict of tensors, or one under "
                                  f"{', '.join(repr(k) for k in STATE_KEYS)})")
        state = inner
    tensors = {str(k): v for k, v in state.items() if _is_tensor(v)}
    if not tensors:
        raise CheckpointError(f"{path}: its state_dict holds no tensors")
    changed = True
    while changed:  # DDP inside Lightning: "model.module.0.weight"
        changed = False
        for prefix in WRAPPER_PREFIXES:
            if all(k.startswith(prefix) for k in tensors):
                tensors = {k[len(prefix):]: v for k, v in tensors.items()}
                changed = True
    step = next((loaded[k] for k in STEP_KEYS if isinstance(loaded.get(k), int | np.integer)), None)
    if step is None:
        numbers = re.findall(r"\d+", path.stem)
        if not numbers:
            raise CheckpointError(f"{path}: no step in it (a 'step' or 'global_step' entry) nor a number in "
                                  f"its name (ckpt_500.pt)")
        step = numbers[-1]
    loss = loaded.get("loss")
    loss = float(loss) if isinstance(loss, int | float) or (_is_tensor(loss) and np.size(loss) == 1) else np.nan
    return tensors, int(step), loss


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    value = value.detach()
    if str(value.dtype) == "torch.bfloat16":  # numpy has no bfloat16
        value = value.float()
    return value.numpy()


def structure_of(shapes: Mapping[str, tuple[int, ...]]) -> list[LayerSpec]:
    """The drawable layers a state_dict's names and shapes show, in its order (see the module)."""
    layers: list[LayerSpec] = []
    for key, shape in shapes.items():
        if not key.endswith("weight") or (key != "weight" and not key.endswith(".weight")):
            continue
        name = key[:-len("weight")].rstrip(".")
        prefix = f"{name}." if name else ""
        if len(shape) == 2:
            kind, fan_in, fan_out = "Linear", shape[1], shape[0]
        elif len(shape) == 4:
            kind, fan_in, fan_out = "Conv2d", shape[1], shape[0]
        elif len(shape) == 1:
            batch = f"{prefix}running_mean" in shapes
            after_conv = bool(layers) and layers[-1].kind == "Conv2d"
            kind = ("BatchNorm2d" if after_conv else "BatchNorm1d") if batch else "LayerNorm"
            fan_in = fan_out = shape[0]
        else:
            continue
        bias = f"{prefix}bias" if shapes.get(f"{prefix}bias") == (fan_out,) else None
        layers.append(LayerSpec(name=name, kind=kind, in_features=int(fan_in), out_features=int(fan_out),
                                weight=key, bias=bias))
    return layers


def read_checkpoints(folder: str | Path, *, name: str | None = None, model: Any = None,
                     input_shape: tuple[int, ...] | None = None) -> History:
    """Every checkpoint in ``folder`` as one History of values, in step order.

    ``model`` (optional, a ``torch.nn.Module`` of the same architecture) gives the layers and their
    activations as a :class:`~.record.Recorder` sees them; ``input_shape`` as for the Recorder.
    Files whose parameters (names or shapes) differ from the first file's are refused, naming the
    file and the parameter, as are two files of the same step.
    """
    folder = Path(folder)
    read = []
    for path in checkpoint_files(folder):
        tensors, step, loss = _state_and_step(path, _load(path))
        read.append((step, path, loss, tensors))
    read.sort(key=lambda item: item[0])
    for (step, path, *_), (next_step, next_path, *_) in itertools.pairwise(read):
        if step == next_step:
            raise CheckpointError(f"{next_path}: step {step} again (also {path}); one checkpoint a step")
    _, first_path, _, first = read[0]
    shapes = {key: tuple(value.shape) for key, value in first.items()}
    if model is not None:
        from .record import describe

        structure, _skipped = describe(model)
    else:
        structure = structure_of(shapes)
    if not structure:
        raise CheckpointError(f"{first_path}: no layer nnviz can draw (Linear, Conv2d, a norm) in its state_dict")
    drawn = [key for layer in structure for key in (layer.weight, layer.bias) if key is not None]
    missing = [key for key in drawn if key not in shapes]
    if missing:
        raise CheckpointError(f"{first_path}: the model's parameter {missing[0]!r} is not in it")
    params = {key: np.empty((len(read), *shapes[key]), dtype=_as_numpy(first[key]).dtype) for key in drawn}
    for record, (_, path, _, tensors) in enumerate(read):
        for key in shapes:
            if key not in tensors:
                raise CheckpointError(f"{path}: parameter {key!r} is missing (the first checkpoint, "
                                      f"{first_path.name}, has it)")
        for key, value in tensors.items():
            if key not in shapes:
                raise CheckpointError(f"{path}: parameter {key!r} is not in the first checkpoint, {first_path.name}")
            if tuple(value.shape) != shapes[key]:
                raise CheckpointError(f"{path}: parameter {key!r} has shape {tuple(value.shape)}, the first "
                                      f"checkpoint ({first_path.name}) has {shapes[key]}")
        for key in drawn:
            params[key][record] = _as_numpy(tensors[key])
    static = {}
    if input_shape is not None:
        shape = check_input_shape(input_shape, structure, "nnviz checkpoints")
        static[keys.INPUT_SHAPE] = np.asarray(shape, dtype=np.int64)
    return History(name=name or folder.resolve().name, structure=structure,
                   steps=np.asarray([item[0] for item in read], dtype=np.int64),
                   loss=np.asarray([item[2] for item in read], dtype=np.float64),
                   params=params, grads={}, static=static,
                   config={"source": "checkpoints", "folder": str(folder)})
