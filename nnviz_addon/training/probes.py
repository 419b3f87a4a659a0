"""What the network does, measured at record time: the data the task views and neurons show.

A probe looks at the model once per record (under ``no_grad``, in eval mode) and returns per-record
arrays for ``History.series``; it also has per-run arrays for ``History.static``, under the keys
:mod:`..history.keys` lists (with their shapes).

A sequence task records no neuron activations (no ``probe/input``): its values are per position.
``<layer>`` is the module's name (its ``state_dict`` prefix, ``"0"``, ``"fc1"``). A layer's value is its
output carried through the modules after it that keep its shape (activations, dropout) up to the
next layer recorded; a flattened image is no longer the image layer's. ``probe/input`` exists when
the model takes vectors, ``probe/image`` when it takes images. Engine runs (:class:`TaskProbes`)
and recorded torch runs (``Recorder(model, probe=x)``) use the same keys.

No bpy here; the scene reads these keys when present and draws nothing for absent ones.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import catalog
from ..datasets import TABLE_TASK, Dataset
from ..datasets.sequences import token_names
from ..engine import Tensor, nn, no_grad
from ..history import keys

RGB_PROBES = 6
TABLE_PROBES = 6
BOUNDARY_GRID = 32
BOUNDARY_MARGIN = 0.15


def _probabilities(outputs: np.ndarray, loss: str) -> np.ndarray:
    """Model outputs → what the task means by a prediction (probabilities, or colours for rgb)."""
    if loss == "cross_entropy":
        shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    if loss == "bce_with_logits":
        return 1.0 / (1.0 + np.exp(-outputs))
    return outputs


def _binary_probability(outputs: np.ndarray, loss: str) -> np.ndarray:
    probabilities = _probabilities(outputs, loss)
    return probabilities[..., 1] if loss == "cross_entropy" else probabilities[..., 0]


def class_probabilities(outputs: np.ndarray, loss: str) -> np.ndarray:
    """Model outputs → one probability-like value per class (..., C): a single output p becomes
    (1 - p, p); one-hot regression targets (mse, l1) are clipped to [0, 1]."""
    if outputs.shape[-1] == 1:
        p = np.clip(_binary_probability(outputs, loss), 0.0, 1.0)
        return np.stack([1.0 - p, p], axis=-1)
    return np.clip(_probabilities(outputs, loss), 0.0, 1.0)


def spread_over_classes(labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` sample indices (at most all), taking each class in turn so every class shows."""
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    interleaved = [group[i] for i in range(max(map(len, per_class))) for group in per_class if i < len(group)]
    return np.array(interleaved[:count], dtype=np.int64)


@contextmanager
def evaluating(model: Any) -> Iterator[None]:
    """Eval mode and no_grad for a measurement; the model's own mode comes back afterwards.

    A model already in eval mode is left as it is: a record nests several measurements inside one
    ``evaluating`` (see ``TrainingRun._record``), and switching every module's mode per
    measurement cost a fifth of the recording."""
    was_training = model.training
    if was_training:
        model.eval()
    try:
        with no_grad():
            yield
    finally:
        if was_training:
            model.train()


def feature_kinds(named_modules: Any) -> np.ndarray:
    """(L, 2) str: the name and class of each image layer among ``(name, module)`` pairs."""
    rows = [(name, type(module).__name__) for name, module in named_modules
            if type(module).__name__ in catalog.IMAGE_LAYERS]
    return np.array(rows, dtype=str).reshape(-1, 2)


def feature_static(kinds: np.ndarray) -> dict[str, np.ndarray]:
    """The History.static entry for :func:`feature_kinds`' ``kinds`` (none when there are none)."""
    return {keys.FEATURE_KINDS: kinds} if len(kinds) else {}


def image_layers(model: Any) -> list[str]:
    """The names of ``model``'s children that are image layers (:data:`catalog.IMAGE_LAYERS`)."""
    return feature_kinds(model.named_children())[:, 0].tolist()


def carried_outputs(outputs: list[tuple[str, np.ndarray]], recorded: list[str]) -> dict[str, np.ndarray]:
    """Each recorded module's value from every module's output in running order: its own output, or
    that of the modules after it while they keep its shape (activations, dropout) and are not
    recorded themselves."""
    values: dict[str, np.ndarray] = {}
    current: str | None = None
    for name, value in outputs:
        if name in recorded:
            current = name
        elif current is None or np.shape(value) != np.shape(values[current]):
            current = None
            continue
        values[current] = value
    return values


def layer_outputs(model: Any, recorded: list[str], x: np.ndarray) -> dict[str, np.ndarray]:
    """Each recorded child's value (see :func:`carried_outputs`) for ``x`` through a Sequential."""
    outputs = []
    value = Tensor(x)
    for name, child in model.named_children():
        value = child(value)
        outputs.append((name, value.data))
    return carried_outputs(outputs, recorded)


def series_of(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One sample's layer values as series entries: vectors as ``activation/``, images as ``feature/``."""
    series = {}
    for name, value in values.items():
        if value.ndim == 1:
            series[keys.activation(name)] = value
        elif value.ndim == 3:
            series[keys.feature(name)] = value
    return series


def probe_static(probe_input: np.ndarray) -> dict[str, np.ndarray]:
    """The probe sample under the key the scene reads for the model's kind of input."""
    return {keys.PROBE_INPUT if probe_input.ndim == 1 else keys.PROBE_IMAGE: probe_input}


def recorded_probe_static(sample: np.ndarray, structure: list[Any]) -> dict[str, np.ndarray]:
    """A recorded model's probe sample under the key the scene draws it by: integer token ids as
    ``probe/tokens`` (L,), a vector the first drawn layer takes as ``probe/input`` (the neurons'
    input column), any other vector as ``probe/values``, a matrix or an image as ``probe/image``
    (C, H, W) (a matrix as one channel)."""
    if sample.dtype.kind in "iub":
        return {keys.PROBE_TOKENS: sample.astype(np.int64)}
    if sample.ndim == 1:
        takes = bool(structure) and structure[0].in_features == sample.size
        return {keys.PROBE_INPUT if takes else keys.PROBE_VALUES: sample}
    if sample.ndim == 2:
        return {keys.PROBE_IMAGE: sample[None]}
    return {keys.PROBE_IMAGE: sample}


ModelProbe = Callable[[Any], dict[str, np.ndarray]]


@contextmanager
def capturing_attention(model: Any) -> Iterator[dict[str, np.ndarray]]:
    """While open, every ``MultiheadAttention`` in ``model`` also computes its per-head weights
    (``need_weights=True, average_attn_weights=False``, the same outputs) and keeps the last ones
    in the yielded dict, by module path; callers still get what they asked for."""
    captured: dict[str, np.ndarray] = {}
    attentions = [(name, module) for name, module in model.named_modules()
                  if isinstance(module, nn.MultiheadAttention)]
    for name, module in attentions:
        signature = inspect.signature(type(module).forward)

        def forward(*args: Any, _name: str = name, _module: Any = module, _signature: Any = signature,
                    **kwargs: Any) -> tuple[Tensor, Tensor | None]:
            call = _signature.bind(_module, *args, **kwargs)
            call.apply_defaults()
            wanted, averaged = call.arguments["need_weights"], call.arguments["average_attn_weights"]
            call.arguments.update(need_weights=True, average_attn_weights=False)
            output, weights = type(_module).forward(*call.args, **call.kwargs)
            captured[_name] = weights.data
            if not wanted:
                return output, None
            return output, weights.mean(dim=-3) if averaged else weights

        module.forward = forward  # an instance attribute: the class's forward is untouched
    try:
        yield captured
    finally:
        for _, module in attentions:
            del module.forward


def _sequence_probe(dataset: Dataset, probe_index: int, static: dict[str, np.ndarray]) -> ModelProbe:
    """One sequence: its tokens and targets (static), per record the network's probability of each
    token at each position and every attention head's weights."""
    tokens = dataset.x[probe_index]
    static.update({keys.SEQUENCE_INPUT: tokens, keys.SEQUENCE_TARGET: dataset.y[probe_index],
                   keys.SEQUENCE_TOKENS: np.array(token_names(dataset.name))})

    def sequence(model: Any) -> dict[str, np.ndarray]:
        with evaluating(model), capturing_attention(model) as attention:
            scores = model(Tensor(tokens[None])).data[0]
        series = {keys.attention(name): weights[0] for name, weights in attention.items()}
        series[keys.SEQUENCE_PROBABILITIES] = _probabilities(scores, "cross_entropy")
        return series

    return sequence


def make_probes(dataset: Dataset, loss: str, drawn: list[str],
                seed: int = 0) -> tuple[dict[str, np.ndarray], list[ModelProbe]]:
    """The static arrays and the per-record probes for ``dataset``'s task.

    Every task gets neuron activations for one probe sample; rgb tasks add probe colours, the 2D
    tasks the decision boundary, digits the class probabilities of the probe digit.
    """
    rng = np.random.default_rng(seed)
    dtype = dataset.x.dtype
    probe_index = int(rng.integers(len(dataset)))
    probe_input = dataset.x[probe_index]
    if dataset.x.ndim == 2 and dataset.x.dtype.kind in "iu":  # a sequence task's token ids
        static: dict[str, np.ndarray] = {}
        return static, [_sequence_probe(dataset, probe_index, static)]
    static = probe_static(probe_input)

    def activations(model: Any) -> dict[str, np.ndarray]:
        recorded = [*drawn, *(name for name in image_layers(model) if name not in drawn)]
        with evaluating(model):
            outputs = layer_outputs(model, recorded, probe_input[None])
        return series_of({name: value[0] for name, value in outputs.items()})

    probes: list[ModelProbe] = [activations]
    if dataset.class_names:
        static[keys.CLASS_NAMES] = np.array(dataset.class_names)
    two_features = dataset.in_features == 2 and dataset.labels is not None
    if dataset.name == TABLE_TASK and not two_features:
        probes.append(_table_probe(dataset, loss, rng, static))
    elif dataset.kind == "regression" and dataset.in_features == 3:
        chosen = rng.choice(len(dataset), size=min(RGB_PROBES, len(dataset)), replace=False)
        inputs, targets = dataset.x[chosen], dataset.y[chosen]
        static.update({keys.RGB_INPUTS: inputs, keys.RGB_TARGETS: targets})

        def colours(model: Any) -> dict[str, np.ndarray]:
            with evaluating(model):
                predicted = model(Tensor(inputs)).data
            return {keys.RGB_OUTPUTS: np.clip(_probabilities(predicted, loss), 0.0, 1.0)}

        probes.append(colours)
    elif dataset.in_features == 2 and dataset.labels is not None:
        low = dataset.x.min(axis=0) - BOUNDARY_MARGIN
        high = dataset.x.max(axis=0) + BOUNDARY_MARGIN
        xs = np.linspace(low[0], high[0], BOUNDARY_GRID)
        ys = np.linspace(low[1], high[1], BOUNDARY_GRID)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(dtype)
        static.update({keys.POINTS_XY: dataset.x, keys.POINTS_LABELS: dataset.labels,
                       keys.BOUNDARY_EXTENT: np.array([low[0], high[0], low[1], high[1]])})

        many_classes = dataset.classes > 2

        def boundary(model: Any) -> dict[str, np.ndarray]:
            with evaluating(model):
                predicted = model(Tensor(grid)).data
            if many_classes:
                probability = class_probabilities(predicted, loss).reshape(BOUNDARY_GRID, BOUNDARY_GRID, -1)
            else:
                probability = _binary_probability(predicted, loss).reshape(BOUNDARY_GRID, BOUNDARY_GRID)
            return {keys.BOUNDARY_PROBABILITY: probability}

        probes.append(boundary)
    elif dataset.in_features == 64 and dataset.labels is not None:
        static.update({keys.DIGITS_IMAGE: probe_input.reshape(8, 8),
                       keys.DIGITS_LABEL: np.asarray(dataset.labels[probe_index])})

        def digit(model: Any) -> dict[str, np.ndarray]:
            with evaluating(model):
                predicted = model(Tensor(probe_input[None])).data
            return {keys.DIGITS_PROBABILITIES: _probabilities(predicted, loss)[0]}

        probes.append(digit)
    return static, probes


def _table_probe(dataset: Dataset, loss: str, rng: np.random.Generator,
                 static: dict[str, np.ndarray]) -> ModelProbe:
    """A few of a table's samples: their true classes (or values) and the network's, for the bars."""
    if dataset.labels is not None:
        chosen = spread_over_classes(dataset.labels, TABLE_PROBES, rng)
        static[keys.TABLE_LABELS] = dataset.labels[chosen]
    else:
        chosen = np.sort(rng.choice(len(dataset), size=min(TABLE_PROBES, len(dataset)), replace=False))
        targets = dataset.y[:, 0].astype(np.float64)
        static[keys.TABLE_TARGETS] = targets[chosen]
        static[keys.TABLE_RANGE] = np.array([targets.min(), targets.max()])
    inputs = dataset.x[chosen]

    def bars(model: Any) -> dict[str, np.ndarray]:
        with evaluating(model):
            predicted = model(Tensor(inputs)).data
        if dataset.labels is not None:
            return {keys.TABLE_PROBABILITIES: class_probabilities(predicted, loss)}
        return {keys.TABLE_PREDICTIONS: predicted[:, 0].astype(np.float64)}

    return bars


class TaskProbes:
    """The standard probe for a TrainingRun: set up from the run's data on its first call (step 0).

    Puts the static arrays into ``run.writer.static`` and returns every model probe's series.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._probes: list[ModelProbe] | None = None

    def __call__(self, run: Any) -> dict[str, np.ndarray]:
        if self._probes is None:
            drawn = [layer.name for layer in run.structure]
            static, self._probes = make_probes(run.dataset, run.preset.train.loss, drawn, self.seed)
            run.writer.static.update(static)
            run.writer.static.update(feature_static(feature_kinds(run.model.named_children())))
        series: dict[str, np.ndarray] = {}
        for probe in self._probes:
            series.update(probe(run.model))
        return series
