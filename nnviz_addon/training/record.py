"""Record a real PyTorch training run as an nnviz History.

Train your own model your own way; let :meth:`Recorder.watch` record every N-th
``optimizer.step()`` through the optimizer's step hooks (or call :meth:`Recorder.snapshot` yourself),
then :meth:`Recorder.save` the ``.npz`` and animate it with ``train.py --history run.npz --out
run.mp4`` or the panel's *Import history* button::

    with Recorder(model, name="my MLP").watch(opt, every=5) as rec:
        for step in range(1, 501):
            opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); opt.step()
            rec.log(loss=loss)
    rec.save("runs/run.npz")

Records are copied straight into preallocated buffers (:mod:`.record_buffer`); the hooks live in
:mod:`.watch`; DDP and ``torch.compile`` wrappers are looked through (:mod:`.distributed`).

``Recorder(model, probe=x)`` with one input sample ``x`` (no batch dimension) also records what each
drawn layer, and each image layer (Conv2d, BatchNorm2d, the pools), makes of ``x`` at every snapshot,
through forward hooks in eval mode and without gradients: the neurons and feature maps, under the
keys :mod:`.probes` lists. Activations written as functions in ``forward`` (``F.relu``) are not
modules, so there the recorded value is the layer's output before them.

torch is imported only when a Recorder is made, so this module imports without it (and without bpy).
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .. import catalog
from ..history import INPUT_SHAPE_KEY, History, LayerSpec, check_input_shape
from ..preset.limits import MAX_RECORDED_BYTES
from .distributed import is_main_process, unwrapped
from .probes import carried_outputs, feature_kinds, feature_static, probe_static, series_of
from .record_buffer import RecordBuffer
from .watch import StepWatch

# torch module class name → the activation name nnviz shows
_ACTIVATIONS = {module_class: name for name, module_class in catalog.RECORDED_ACTIVATIONS.items()}


def _layer_spec(name: str, module: Any, activation: str | None) -> LayerSpec:
    kind = type(module).__name__
    prefix = f"{name}." if name else ""
    bias = f"{prefix}bias" if getattr(module, "bias", None) is not None else None
    if kind == "Linear":
        fan_in, fan_out = int(module.in_features), int(module.out_features)
    elif kind == "Conv2d":
        fan_in, fan_out = int(module.in_channels), int(module.out_channels)
    else:
        fan_in = fan_out = int(module.weight.shape[0])
    return LayerSpec(name=name, kind=kind, in_features=fan_in, out_features=fan_out,
                     weight=f"{prefix}weight", bias=bias, activation=activation)


def _following_activations(model: Any) -> dict[str, str | None]:
    """For each module, the activation module that comes right after it in its parent's order."""
    following: dict[str, str | None] = {}
    for parent_name, parent in model.named_modules():
        children = list(parent.named_children())
        for (child_name, _), (_, successor) in itertools.pairwise(children):
            key = f"{parent_name}.{child_name}" if parent_name else child_name
            following[key] = _ACTIVATIONS.get(type(successor).__name__)
    return following


def _why_undrawable(module: Any) -> str | None:
    """None if the scene can draw this module's parameters as a layer, else what it is."""
    kind = type(module).__name__
    if kind not in catalog.DRAWN_LAYERS:
        return kind
    weight = getattr(module, "weight", None)
    if weight is None:
        return kind
    if kind not in ("Linear", "Conv2d") and weight.dim() != 1:  # a norm: one cube per feature, in one row
        return f"{kind} over shape {tuple(weight.shape)}, only 1-D is drawn"
    return None


def describe(model: Any) -> tuple[list[LayerSpec], list[str]]:
    """The drawable layers of a torch model, and the names of modules with parameters we skip."""
    activations = _following_activations(model)
    layers: list[LayerSpec] = []
    skipped: list[str] = []
    for name, module in model.named_modules():
        has_params = next(module.parameters(recurse=False), None) is not None
        reason = _why_undrawable(module)
        if reason is None:
            layers.append(_layer_spec(name, module, activations.get(name)))
        elif has_params:
            skipped.append(f"{name or '<root>'} ({reason})")
    return layers, skipped


class Recorder:
    """Watches a ``torch.nn.Module``; each :meth:`snapshot` copies its drawn parameters and gradients
    (and, given a ``probe`` sample, what each layer makes of it).

    ``input_shape`` (optional) is the shape of one input sample when the inputs form an image, e.g.
    ``(28, 28)`` or ``(1, 28, 28)`` for MNIST: kept in the History, it makes the scene draw each
    first-layer unit's incoming weights as an image of that shape. Its size must be the first
    layer's input size (a ValueError naming both otherwise). An image ``probe`` gives it when it is
    left out.
    """

    def __init__(self, model: Any, name: str = "PyTorch run", config: dict[str, Any] | None = None,
                 capacity: int = 64, input_shape: tuple[int, ...] | None = None, probe: Any = None,
                 dtype: str | None = None) -> None:
        import torch  # (fails here, clearly, when torch is missing)

        self.model = model = unwrapped(model)  # names as in the user's own state_dict, not module.0.weight
        self._watch: StepWatch | None = None
        self.recording = is_main_process()
        if not self.recording:  # other ranks of a distributed run: nothing to describe, copy or save
            return
        structure, skipped = describe(model)
        if skipped:
            warnings.warn(f"nnviz Recorder: skipping modules it cannot draw: {', '.join(skipped)}",
                          stacklevel=2)
        if not structure:
            raise ValueError(f"nnviz Recorder: the model has no {', '.join(catalog.DRAWN_LAYERS)} layer to draw")
        if input_shape is None and probe is not None and np.ndim(probe) > 1:
            input_shape = tuple(np.shape(probe))
        if input_shape is not None:
            input_shape = check_input_shape(input_shape, structure, "nnviz Recorder")
        self.skipped = skipped
        # every name a parameter has: a weight tied into a second layer is listed under the first only
        named = dict(model.named_parameters(remove_duplicate=False))
        self._keys = [key for layer in structure for key in (layer.weight, layer.bias) if key is not None]
        tensors = {key: named[key] for key in self._keys}
        self._owners = {key: key.rpartition(".")[::2] for key in self._keys}  # "0.weight": ("0", "weight")
        stored = np.result_type(*[self._numpy(t) for t in tensors.values()]) if dtype is None else _dtype(dtype)
        self._buffer = RecordBuffer({k: tuple(t.shape) for k, t in tensors.items()}, stored, capacity)
        self._name, self._structure = name, structure
        self._config = config or {"source": "torch"}
        self._static: dict[str, np.ndarray] = {}
        self._memory_warned = False
        if input_shape is not None:
            self._static[INPUT_SHAPE_KEY] = np.asarray(input_shape, dtype=np.int64)
        self._probe = None
        if probe is not None:
            self._probe = torch.as_tensor(probe).detach()
            self._static.update(probe_static(self._numpy(self._probe)))
            kinds = feature_kinds(model.named_modules())
            self._static.update(feature_static(kinds))
            image_layers = kinds[:, 0].tolist()
            self._recorded = [layer.name for layer in structure] + [n for n in image_layers if n not in
                                                                     {layer.name for layer in structure}]

    @staticmethod
    def _numpy(tensor: Any) -> np.ndarray:
        return tensor.detach().cpu().numpy()

    def snapshot(self, step: int, loss: float | None = None, metrics: dict[str, float] | None = None) -> None:
        """Record every drawn parameter's value and gradient now (call after ``optimizer.step()``).
        ``loss`` may be a number or a one-element tensor. Does nothing on ranks other than 0."""
        if not self.recording:
            return
        if self._buffer.steps and step <= self._buffer.steps[-1]:
            raise ValueError(f"nnviz Recorder: step {step} is not after the last recorded step "
                             f"{self._buffer.steps[-1]}")
        tensors = self._current_parameters()
        values, grads, _ = self._buffer.append(step, loss, metrics)
        try:
            for key, tensor in tensors.items():
                _copy_into(values[key], tensor)
                if tensor.grad is None:
                    grads[key].fill(0)
                else:
                    _copy_into(grads[key], tensor.grad)
            if self._probe is not None:
                self._buffer.set_series(self._probe_series())
        except BaseException:
            self._buffer.drop_last()  # no half-written record
            raise
        self._warn_about_memory()

    def watch(self, optimizer: Any, every: int = 1) -> Recorder:
        """Record after every ``every``-th ``optimizer.step()`` from now on, through the optimizer's
        step hooks: no :meth:`snapshot` calls in the loop. The model as it is now is recorded first
        (step 0) unless something was recorded already; steps are counted from the last record.
        Returns the Recorder, so ``with Recorder(model).watch(opt, every=5) as rec:`` takes the hooks
        off again at the end of the block (as does :meth:`unwatch`). Give the loss with :meth:`log`,
        or pass a closure to ``step`` and its result is taken.
        """
        if not self.recording:
            return self
        if self._watch is not None and self._watch.active:
            raise ValueError("nnviz Recorder.watch: already watching an optimizer; unwatch() it first")
        if not self._buffer.steps:
            self.snapshot(0)
        self._watch = StepWatch(optimizer, every, self._buffer.steps[-1],
                                record=lambda step, loss, metrics: self.snapshot(step, loss, metrics or None),
                                update_last=self._buffer.update_last)
        return self

    def unwatch(self) -> None:
        """Take the hooks :meth:`watch` put on the optimizer off again."""
        if self._watch is not None:
            self._watch.remove()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.unwatch()

    def log(self, loss: Any = None, **metrics: Any) -> None:
        """The loss (and any metrics, by name) of the step just taken, or of the one about to be taken
        when called before ``optimizer.step()``: the first call tells which (see :mod:`.watch`).
        Numbers or one-element tensors. Needs :meth:`watch`; with :meth:`snapshot` pass them to it."""
        if not self.recording:
            return
        if self._watch is None:
            raise ValueError("nnviz Recorder.log: log() goes with watch(optimizer); "
                             "with snapshot() pass loss= and metrics= to it")
        values = dict(metrics)
        if loss is not None:
            values["loss"] = loss
        self._watch.log(values)

    @property
    def records(self) -> int:
        return len(self._buffer) if self.recording else 0

    def _warn_about_memory(self) -> None:
        held = len(self._buffer) * self._buffer.bytes_per_record
        if held > MAX_RECORDED_BYTES and not self._memory_warned:
            self._memory_warned = True
            warnings.warn(f"nnviz Recorder: {len(self._buffer)} records hold {_mib(held)} in memory "
                          f"({_mib(self._buffer.bytes_per_record)} each); past {_mib(MAX_RECORDED_BYTES)} a run "
                          f"may not fit in memory or animate: record less often (every=) or store "
                          f"dtype='float16'", stacklevel=3)

    def _probe_series(self) -> dict[str, np.ndarray]:
        """Every leaf module's output for the probe sample, in the order they ran, reduced to the
        recorded layers' values (see :func:`.probes.carried_outputs`)."""
        import torch

        outputs: list[tuple[str, np.ndarray]] = []

        def hook(name: str) -> Any:
            def keep(_module: Any, _inputs: Any, output: Any) -> None:
                if isinstance(output, torch.Tensor):
                    outputs.append((name, self._numpy(output)[0]))
            return keep

        leaves = [(n, m) for n, m in self.model.named_modules() if not any(True for _ in m.children())]
        handles = [module.register_forward_hook(hook(name)) for name, module in leaves]
        was_training = self.model.training
        try:
            self.model.eval()
            with torch.no_grad():
                self.model(self._probe[None])
        finally:
            self.model.train(was_training)
            for handle in handles:
                handle.remove()
        return series_of(carried_outputs(outputs, self._recorded))

    def _current_parameters(self) -> dict[str, Any]:
        """The drawn parameters looked up by name now: ``lin.weight = nn.Parameter(...)`` after the
        Recorder was made replaces the tensor, and the new one is what trains."""
        found = {key: _parameter(self.model, path, attribute) for key, (path, attribute) in self._owners.items()}
        missing = [key for key, tensor in found.items() if tensor is None]
        if missing:
            named = dict(self.model.named_parameters(remove_duplicate=False))
            raise ValueError(f"nnviz Recorder: parameter {missing[0]!r} is no longer in the model "
                             f"(it has {', '.join(named)})")
        return found

    def history(self) -> History:
        """The run so far as a History (copies, so recording can go on), up to the first record
        whose values are not finite (a warning names its step)."""
        if not self.recording:
            raise ValueError("nnviz Recorder: this process is not rank 0 of the distributed run; rank 0 records")
        records = len(self._buffer)
        bad = self._buffer.first_non_finite()
        if bad is not None:
            records, key = bad
            kept = (f"kept the {records} records before it (steps {self._buffer.steps[0]} to "
                    f"{self._buffer.steps[records - 1]})" if records else "no record before it is finite")
            warnings.warn(f"nnviz Recorder: {key!r} stopped being finite (inf or nan) at step "
                          f"{self._buffer.steps[records]}; {kept}", stacklevel=2)
        arrays = self._buffer.joined(records)
        return History(name=self._name, structure=list(self._structure), config=dict(self._config),
                       static={k: np.array(v) for k, v in self._static.items()}, **arrays)

    def save(self, path: str | Path) -> Path | None:
        """Write the run to the ``.npz`` ``path``, creating its folder; a run whose values stopped
        being finite is saved up to the last finite record, with a warning naming the step. On
        ranks other than 0 of a distributed run nothing is written and None is returned."""
        if not self.recording:
            return None
        if not len(self._buffer):
            raise ValueError("nnviz Recorder: nothing recorded yet; call watch(optimizer) before training "
                             "or snapshot() after optimizer.step()")
        history = self.history()
        if not history.records:
            raise ValueError(f"nnviz Recorder: nothing to save to {path}: the first record (step "
                             f"{self._buffer.steps[0]}) is already not finite")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return history.save(path)


def _parameter(model: Any, path: str, attribute: str) -> Any:
    """The tensor at ``path``.``attribute`` now (a few attribute look-ups, where ``named_parameters``
    walks the whole model), or None when it is gone."""
    module = model
    for part in path.split(".") if path else ():
        module = getattr(module, part, None)
        if module is None:
            return None
    return getattr(module, attribute, None)


def _copy_into(row: np.ndarray, tensor: Any) -> None:
    """One memory copy from a tensor (on any device) into a buffer row, through a tensor view of the
    row: torch converts to the row's dtype as it copies, 20x faster than numpy for float16."""
    import torch

    torch.from_numpy(row).copy_(tensor.detach())


def _dtype(name: str) -> np.dtype:
    allowed = ("float16", "float32", "float64")
    if name not in allowed:
        raise ValueError(f"nnviz Recorder: dtype must be one of {', '.join(allowed)} (or None: the model's), "
                         f"got {name!r}")
    return np.dtype(name)


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"
