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

Every parameter is recorded, and the History carries the model's :class:`~..history.ModelGraph`
(module tree, running order, skips; found by :mod:`.model_graph`), so the scene draws the whole
model as it is built.

``Recorder(model, probe=x)`` with one input sample (``x[0]``, or ``x[:1]``; token ids for an embedding
model), checked by one forward pass at once, also records what each drawn layer, and each image
layer (Conv2d, BatchNorm2d, the pools), makes of it at every snapshot, through forward hooks in eval
mode and without gradients: the neurons and feature maps under the keys :mod:`.probes` lists, each
attention's weights per head (``attention/<path>``), and the class probabilities of a classifier.
An activation written as a function in ``forward`` (``F.relu``) is applied to the recorded value
where ``torch.fx`` sees it; elsewhere the frame says the values are before it.

torch is imported only when a Recorder is made, so this module imports without it (and without bpy).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import catalog
from ..history import History, LayerSpec, ModelGraph, check_input_shape, keys
from ..preset.limits import MAX_RECORDED_BYTES
from .distributed import is_main_process, unwrapped
from .model_graph import ProbeError, describe_model, fit_probe
from .probes import feature_kinds, feature_static, recorded_probe_static
from .record_buffer import RecordBuffer
from .record_probe import ProbePass
from .watch import StepWatch

PROBE_TOKENS_SHOWN = 32  # token ids of a probe listed in the frame
# torch module class name → the activation name nnviz shows
_ACTIVATIONS = {module_class: name for name, module_class in catalog.RECORDED_ACTIVATIONS.items()}


def _layer_spec(name: str, module: Any, activation: str | None) -> LayerSpec:
    kind = _classic_kind(module) or type(module).__name__
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


def _is_classic(module: Any) -> bool:
    """The layers the classic views (neuron columns, conv tiles, feature maps) know: a Linear, a
    Conv2d, or a norm with one weight per feature. Every other parameter is drawn by the picture's
    rule for its kind (see :mod:`.model_graph`)."""
    kind = _classic_kind(module)
    weight = getattr(module, "weight", None)
    if kind is None or weight is None or not hasattr(weight, "dim"):
        return False
    return kind in ("Linear", "Conv2d") or weight.dim() == 1


def _classic_kind(module: Any) -> str | None:
    """The drawn layer class ``module`` is or derives from (attention's ``out_proj`` is a Linear)."""
    return next((cls.__name__ for cls in type(module).__mro__ if cls.__name__ in catalog.DRAWN_LAYERS), None)


def _function_activation(graph_activation: str | None) -> str | None:
    """``relu()`` (a function fx saw after a layer) → the catalog's name ``relu``, when it has one."""
    if graph_activation is None or not graph_activation.endswith("()"):
        return None
    name = graph_activation[:-2]
    return name if name in catalog.RECORDED_ACTIVATIONS else None


def describe(model: Any, graph: ModelGraph | None = None) -> tuple[list[LayerSpec], dict[str, str]]:
    """The classic layers of a torch model in running order (``graph``'s, else registration order),
    and the parameters that can't be drawn at all (key → why: not real numbers, or empty)."""
    activations = _following_activations(model)
    modules = dict(model.named_modules())
    order = [node.path for node in graph.modules] if graph is not None else list(modules)
    functions = {node.path: node.activation for node in graph.modules} if graph is not None else {}
    layers = [_layer_spec(path, modules[path], activations.get(path) or _function_activation(functions.get(path)))
              for path in order if _is_classic(modules[path])]
    undrawable = {key: "empty" if p.numel() == 0 else f"{p.dtype}, not real numbers"
                  for key, p in model.named_parameters(remove_duplicate=False)
                  if p.numel() == 0 or not p.dtype.is_floating_point}
    return layers, undrawable


def _frame_notes(skipped: list[str], sample: np.ndarray | None, traced: bool) -> tuple[str, ...]:
    """Lines the frame shows under the model: what could not be drawn, that layer outputs are
    before activation functions fx could not see, the probe's token ids."""
    notes = [f"not drawn: {', '.join(skipped)}"] if skipped else []
    if sample is not None and not traced:
        notes.append("note: layer outputs are shown before any activation applied as a function in forward")
    if sample is not None and sample.dtype.kind in "iub":
        shown = " ".join(str(int(t)) for t in sample.reshape(-1)[:PROBE_TOKENS_SHOWN])
        notes.append(f"probe tokens: {shown}{' …' if sample.size > PROBE_TOKENS_SHOWN else ''}")
    return tuple(notes)


def _with_probe_tokens(graph: ModelGraph, sample: np.ndarray | None) -> ModelGraph:
    """A token probe's ids on the first Embedding that runs (``info["probe_tokens"]``), so the
    picture can point at the rows the probe looks up."""
    if sample is None or sample.dtype.kind not in "iu" or sample.ndim != 1:
        return graph
    first = next((m for m in graph.modules if m.kind == "Embedding" and m.params), None)
    if first is None:
        return graph
    marked = replace(first, info={**first.info, "probe_tokens": [int(t) for t in sample]})
    return replace(graph, modules=tuple(marked if m is first else m for m in graph.modules))


class Recorder:
    """Watches a ``torch.nn.Module``; each :meth:`snapshot` copies all its parameters and gradients
    (and, given a ``probe`` sample, what each layer makes of it). A probe the model can't take is a
    ValueError at once, one line naming its shape and what the first layer takes. ``class_names``
    label a classifier's outputs; ``probe_label`` is the probe's true class (drawn green).

    ``input_shape`` (optional) is the shape of one input sample when the inputs form an image, e.g.
    ``(28, 28)`` or ``(1, 28, 28)`` for MNIST: kept in the History, it makes the scene draw each
    first-layer unit's incoming weights as an image of that shape. Its size must be the first
    layer's input size (a ValueError naming both otherwise). An image ``probe`` gives it when it is
    left out. ``capacity`` caps the records one preallocated chunk holds (None: about 32 MiB's worth;
    see :mod:`.record_buffer`).
    """

    def __init__(self, model: Any, name: str = "PyTorch run", config: dict[str, Any] | None = None,
                 capacity: int | None = None, input_shape: tuple[int, ...] | None = None, probe: Any = None,
                 class_names: list[str] | None = None, probe_label: int | None = None,
                 dtype: str | None = None) -> None:
        import torch  # noqa: F401 - fails here, clearly, when torch is missing

        self.model = model = unwrapped(model)  # names as in the user's own state_dict, not module.0.weight
        self._watch: StepWatch | None = None
        self.recording = is_main_process()
        if not self.recording:  # other ranks of a distributed run: nothing to describe, copy or save
            return
        probe_batch = output = None
        if probe is not None:  # checked by one forward pass now, not at the first snapshot
            try:
                probe_batch, output = fit_probe(model, probe)
            except ProbeError as error:
                raise ValueError(str(error)) from None
        graph, trace = describe_model(model, probe_batch)
        structure, undrawable = describe(model, graph)
        skipped = [f"{key} ({reason})" for key, reason in undrawable.items()]
        if skipped:
            warnings.warn(f"nnviz Recorder: parameters it cannot draw (not shown): {', '.join(skipped)}",
                          stacklevel=2)
        graph = replace(graph, modules=tuple(replace(m, params=tuple(k for k in m.params if k not in undrawable))
                                             for m in graph.modules))
        self._keys = graph.param_keys
        if not self._keys:
            raise ValueError("nnviz Recorder: the model has no parameters to draw")
        sample = None if probe_batch is None else self._numpy(probe_batch[0])
        first = next((node.path for node in graph.modules if node.params), None)
        takes_probe = bool(structure) and structure[0].name == first  # the probe goes into that layer
        if input_shape is None and takes_probe and sample is not None and sample.ndim > 1 and sample.dtype.kind == "f":
            try:  # an image probe gives the first layer's image, when it is one
                input_shape = check_input_shape(sample.shape, structure, "nnviz Recorder")
            except ValueError:
                input_shape = None
        if input_shape is not None:
            input_shape = check_input_shape(input_shape, structure, "nnviz Recorder")
        self.graph = replace(_with_probe_tokens(graph, sample),
                             notes=_frame_notes(skipped, sample, trace.traced or not structure))
        self.skipped = skipped
        named = dict(model.named_parameters(remove_duplicate=False))
        tensors = {key: named[key] for key in self._keys}
        self._owners = {key: key.rpartition(".")[::2] for key in self._keys}  # "0.weight": ("0", "weight")
        stored = np.result_type(*[self._numpy(t) for t in tensors.values()]) if dtype is None else _dtype(dtype)
        self._buffer = RecordBuffer({k: tuple(t.shape) for k, t in tensors.items()}, stored, capacity)
        self._name, self._structure = name, structure
        self._config = config or {"source": "torch"}
        self._static: dict[str, np.ndarray] = {}
        self._memory_warned = False
        self._probe_pass: ProbePass | None = None
        if input_shape is not None:
            self._static[keys.INPUT_SHAPE] = np.asarray(input_shape, dtype=np.int64)
        if sample is not None:
            self._static.update(recorded_probe_static(sample, structure))
            kinds = feature_kinds(model.named_modules())
            drawn = [layer.name for layer in structure]
            kinds, recorded = self._repeated_kinds(kinds, drawn + [n for n in kinds[:, 0].tolist() if n not in drawn])
            self._static.update(feature_static(kinds))
            classes = output.shape[-1] if output.dim() == 2 and output.shape[-1] >= 2 else 0
            if classes:
                if class_names is not None:
                    self._static[keys.CLASS_NAMES] = np.array([str(n) for n in class_names])
                label = -1 if probe_label is None else int(probe_label)
                self._static[keys.TABLE_LABELS] = np.array([label], dtype=np.int64)
            self._probe_pass = ProbePass(model, probe_batch, trace.followers, recorded, classes)

    def _repeated_kinds(self, kinds: np.ndarray, recorded: list[str]) -> tuple[np.ndarray, list[str]]:
        """``feature_kinds`` with a row per later call of an image layer that runs more than once (its
        maps for call 2 are ``feature/<name>#2``), and the ``recorded`` layers with their later calls
        under such names too, so no call's value overwrites another's."""
        calls = {node.path: node.calls for node in self.graph.modules}
        later = {name: [f"{name}#{call}" for call in range(2, calls.get(name, 0) + 1)] for name in recorded}
        rows = kinds.tolist() + [[again, kind] for name, kind in kinds.tolist() for again in later.get(name, [])]
        return (np.array(rows, dtype=str).reshape(-1, 2),
                recorded + [again for names in later.values() for again in names])

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
            if self._probe_pass is not None:
                self._buffer.set_series(self._probe_pass())
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
                       static={k: np.array(v) for k, v in self._static.items()}, graph=self.graph, **arrays)

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
