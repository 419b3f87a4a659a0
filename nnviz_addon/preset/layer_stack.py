"""The layer-table form of ``[model] layers``: any stack of the layers nnviz trains, checked shape by
shape before training.

Each entry is an inline table with a ``type`` and that type's keys::

    layers = [{type = "conv2d", out = 8, kernel = 3, padding = 1}, {type = "relu"},
              {type = "maxpool2d", kernel = 2}, {type = "flatten"}, {type = "linear", out = 10}]

==========================  ================================================================================
type                        keys (defaults)
==========================  ================================================================================
``conv2d``                  ``out`` channels (required), ``kernel`` (required), ``stride`` (1), ``padding``
                            (0, or "same" / "valid"), ``dilation`` (1), ``bias`` (true), ``in`` (checked)
``maxpool2d``               ``kernel`` (required), ``stride`` (= kernel), ``padding`` (0), ``dilation`` (1)
``avgpool2d``               ``kernel`` (required), ``stride`` (= kernel), ``padding`` (0)
``adaptiveavgpool2d``       ``size`` (required): the output's height × width
``flatten``                 (none): an image becomes one vector, channels first
``linear``                  ``out`` features (required), ``bias`` (true), ``in`` (checked)
``batchnorm``               (none): BatchNorm1d on a vector, BatchNorm2d on an image
``layernorm``               (none): over a vector's features
``dropout``                 ``p`` (0.5), in [0, 1)
an activation               (none): relu, leaky_relu, tanh, sigmoid, gelu, silu, identity, softmax
``embedding``               ``dim`` (required): each token becomes a learned vector; ``vocab`` (checked)
``positional``              (none): a learned vector per position added to each; ``length`` (checked)
``transformer``             ``heads`` (required), ``feedforward`` (4 × dim), ``norm`` ("post" or "pre"),
                            ``causal`` (false), ``activation`` ("relu" or "gelu"), ``dropout`` (0)
``residual``                ``layers`` (required): a list of layer tables; their output is added to
                            their input, so they must keep its shape
==========================  ================================================================================

``kernel``, ``stride``, ``padding``, ``dilation`` and ``size`` are an integer or ``[height, width]``.
Input sizes are never needed: each layer takes the shape the one before it gives, starting from the
task's input (``digits`` is a 1×8×8 image, the sequence tasks a row of tokens, the others a vector).
``in``, ``vocab`` and ``length`` are there to state an expectation; a mismatch is refused naming the
layer and both sizes.

A sequence task's tokens must go through an ``embedding`` first; from then on a sample is a
sequence, length × features (``8×32``): ``linear``, ``layernorm`` and the activations apply to each
position, a ``transformer`` block (torch's ``TransformerEncoderLayer`` with ``batch_first``) mixes
the positions, and the stack ends with a linear head scoring every token at every position.

Pure Python (no numpy, no engine): the preset's arithmetic, shared by config (checking) and
training (building).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import catalog
from .checks import Checker, SettingError, choice, flag, is_integer

# The activations a layer table may name: the catalogue's, softmax (over the features) included.
ACTIVATION_TYPES = tuple(catalog.OUTPUT_ACTIVATIONS)

Shape = tuple[int, ...]  # one sample's shape: (features,) or (channels, height, width)


class LayerError(SettingError):
    """A layer table that can't be used; the message starts with its key path (``model.layers[3]``)."""


def _count(minimum: int) -> Checker:
    def check(key: str, value: Any) -> int:
        if not is_integer(value) or value < minimum:
            raise LayerError(f"{key}: expected an integer of at least {minimum}, got {value!r}")
        return value
    return check


def _pair(minimum: int, words: tuple[str, ...] = ()) -> Checker:
    """An integer or [height, width] of integers ≥ minimum (or one of ``words``)."""
    allowed = f"an integer ≥ {minimum} or [height, width]" + "".join(f" or {w!r}" for w in words)

    def check(key: str, value: Any) -> Any:
        if isinstance(value, str) and value in words:
            return value
        if is_integer(value) and value >= minimum:
            return value
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(is_integer(v) and v >= minimum for v in value):
            return list(value)
        raise LayerError(f"{key}: expected {allowed}, got {value!r}")
    return check


def _probability(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise LayerError(f"{key} must be a number in [0, 1), got {value!r}")
    return float(value)


def _tables(key: str, value: Any) -> tuple[dict[str, Any], ...]:
    """A residual block's layers: checked as the stack's own (by the function below, which uses _KEYS)."""
    return _checked_tables(key, value)


# type → {key: (checker, required)}
_KEYS: dict[str, dict[str, tuple[Checker, bool]]] = {
    "conv2d": {"out": (_count(1), True), "kernel": (_pair(1), True), "stride": (_pair(1), False),
               "padding": (_pair(0, ("same", "valid")), False), "dilation": (_pair(1), False),
               "bias": (flag, False), "in": (_count(1), False)},
    "maxpool2d": {"kernel": (_pair(1), True), "stride": (_pair(1), False), "padding": (_pair(0), False),
                  "dilation": (_pair(1), False)},
    "avgpool2d": {"kernel": (_pair(1), True), "stride": (_pair(1), False), "padding": (_pair(0), False)},
    "adaptiveavgpool2d": {"size": (_pair(1), True)},
    "flatten": {},
    "linear": {"out": (_count(1), True), "bias": (flag, False), "in": (_count(1), False)},
    "batchnorm": {},
    "layernorm": {},
    "dropout": {"p": (_probability, False)},
    **{name: {} for name in ACTIVATION_TYPES},
    "embedding": {"dim": (_count(1), True), "vocab": (_count(1), False)},
    "positional": {"length": (_count(1), False)},
    "transformer": {"heads": (_count(1), True), "feedforward": (_count(1), False),
                    "norm": (choice(("post", "pre")), False), "causal": (flag, False),
                    "activation": (choice(("relu", "gelu")), False), "dropout": (_probability, False)},
    "residual": {"layers": (_tables, True)},
}
WEIGHT_TYPES = ("conv2d", "linear", "embedding", "transformer")  # a stack needs one: something to learn
TYPES = tuple(_KEYS)


def is_layer_tables(value: Any) -> bool:
    """Whether ``layers`` is written in this form (a list whose entries are tables)."""
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, Mapping) for v in value)


def check_tables(key: str, value: Any) -> tuple[dict[str, Any], ...]:
    """Each table's type and keys checked; returns them as plain dicts (the form ``to_dict`` gives)."""
    tables = _checked_tables(key, value)
    if not any(_has_weights(t) for t in tables):
        raise LayerError(f"{key}: needs at least one {', '.join(WEIGHT_TYPES[:-1])} or {WEIGHT_TYPES[-1]} layer "
                         "(something with weights to learn)")
    return tables


def _has_weights(table: Mapping[str, Any]) -> bool:
    return table["type"] in WEIGHT_TYPES or any(_has_weights(t) for t in table.get("layers", ()))


def _checked_tables(key: str, value: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise LayerError(f"{key}: expected a non-empty list of layer tables")
    tables = []
    for index, table in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(table, Mapping):
            raise LayerError(f"{where}: expected a table like {{type = \"linear\", out = 10}} (every entry a "
                             f"table, or every entry a size), got {table!r}")
        kind = table.get("type")
        if not isinstance(kind, str) or kind not in _KEYS:
            raise LayerError(f"{where}.type: {kind!r} is not a layer type; allowed: {', '.join(TYPES)}")
        rules = _KEYS[kind]
        unknown = sorted(set(table) - {"type", *rules})
        if unknown:
            allowed = ", ".join(["type", *sorted(rules)])
            raise LayerError(f"{where}: unknown key {unknown[0]!r} for a {kind} layer; allowed: {allowed}")
        missing = [name for name, (_, required) in rules.items() if required and name not in table]
        if missing:
            raise LayerError(f"{where}: a {kind} layer needs {', '.join(repr(m) for m in missing)}")
        checked = {"type": kind}
        try:
            checked.update({name: rules[name][0](f"{where}.{name}", table[name]) for name in table if name != "type"})
        except SettingError as error:  # a shared checker's: the stack's own error, as every other here
            raise LayerError(str(error)) from None
        tables.append(checked)
    return tuple(tables)


# ----------------------------------------------------------------------------------------------
# Shapes


def as_pair(value: int | Sequence[int]) -> tuple[int, int]:
    return (value, value) if is_integer(value) else (int(value[0]), int(value[1]))  # type: ignore[index]


def shape_text(shape: Shape) -> str:
    """``16×3×3`` for an image, ``8×32`` for a sequence (length × features), ``64`` for a vector."""
    return "×".join(str(n) for n in shape)


def _window_output(where: str, name: str, size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                   pad_totals: tuple[int, int], dilation: tuple[int, int], shape: Shape) -> tuple[int, int]:
    out = tuple((n + p - d * (k - 1) - 1) // s + 1
                for n, k, s, p, d in zip(size, kernel, stride, pad_totals, dilation, strict=True))
    if min(out) < 1:
        span = "×".join(str(d * (k - 1) + 1) for k, d in zip(kernel, dilation, strict=True))
        raise LayerError(f"{where}: {name}'s {span} window does not fit its {shape_text(shape)} input "
                         f"(padded by {pad_totals[0]}×{pad_totals[1]})")
    return out  # type: ignore[return-value]


@dataclass(frozen=True)
class Step:
    """One layer with the shapes it takes and gives (a sample's, without the batch)."""

    index: int
    table: Mapping[str, Any]
    module: str  # the module class the layer builds (torch's name); activations and dropout keep their type
    input: Shape
    output: Shape
    inner: tuple[Step, ...] = ()  # a residual block's layers
    vocab: int = 0  # an embedding's vocabulary


POSITIONAL_MODULE = "PositionalEmbedding"  # nnviz's module for {type = "positional"} (torch has none)
RESIDUAL_MODULE = "Residual"  # nnviz's module for {type = "residual"}: x + layers(x)


def _image(where: str, name: str, shape: Shape, origin: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise LayerError(f"{where}: {name} needs an image (channels×height×width) input, but {origin} is the "
                         f"vector of {shape[0]}")
    return shape  # type: ignore[return-value]


def _vector(where: str, name: str, shape: Shape) -> int:
    """The features of a vector, or of each position of a sequence (length × features)."""
    if len(shape) == 3:
        raise LayerError(f"{where}: {name} needs a vector input, but the input is the image {shape_text(shape)}; "
                         f"put {{type = \"flatten\"}} before it")
    return shape[-1]


def _sequence(where: str, name: str, shape: Shape, origin: str) -> tuple[int, int]:
    if len(shape) != 2:
        kind = "image" if len(shape) == 3 else "vector of"
        raise LayerError(f"{where}: {name} needs a sequence (length×features) input, but {origin} is the {kind} "
                         f"{shape_text(shape)}; a sequence task's tokens become one through {{type = \"embedding\"}}")
    return shape  # type: ignore[return-value]


def trace(tables: Sequence[Mapping[str, Any]], input_shape: Shape, key: str = "model.layers",
          vocab: int = 0, origin: str = "the task's input") -> list[Step]:
    """Every layer's input and output shape from ``input_shape``, or a LayerError at the first
    layer that doesn't fit, naming it and both shapes. With ``vocab``, the input is that many
    tokens' ids, ``input_shape`` = (length,), and an embedding must come first."""
    steps: list[Step] = []
    shape = tuple(input_shape)
    flattened_from: Shape | None = None  # the image a vector came from, for a Linear's message
    for index, table in enumerate(tables):
        where, kind = f"{key}[{index}]", table["type"]
        tokens = vocab > 0 and index == 0
        if tokens != (kind == "embedding"):
            if tokens:
                raise LayerError(f"{where}: {kind} can't take {origin}, {shape[0]} token ids (vocabulary {vocab}); "
                                 f"start with {{type = \"embedding\", dim = 32}}")
            raise LayerError(f"{where}: embedding needs token ids, but {origin} is "
                             f"{'the sequence ' if len(shape) == 2 else 'the image ' if len(shape) == 3 else ''}"
                             f"{shape_text(shape)}; it goes first, on a sequence task's tokens")
        if kind == "embedding":
            if table.get("vocab", vocab) != vocab:
                raise LayerError(f"{where}: embedding expects a vocabulary of {table['vocab']} tokens, the task has "
                                 f"{vocab}")
            steps.append(Step(index, table, "Embedding", shape, (shape[0], table["dim"]), vocab=vocab))
        elif kind == "positional":
            length, _ = _sequence(where, "positional", shape, origin)
            if table.get("length", length) != length:
                raise LayerError(f"{where}: positional expects sequences of {table['length']}, {origin} "
                                 f"{shape_text(shape)} has {length} positions")
            steps.append(Step(index, table, POSITIONAL_MODULE, shape, shape))
        elif kind == "transformer":
            _, dim = _sequence(where, "transformer", shape, origin)
            if dim % table["heads"]:
                raise LayerError(f"{where}.heads: {table['heads']} heads don't divide the {dim} features of "
                                 f"{origin} {shape_text(shape)}")
            steps.append(Step(index, table, "TransformerEncoderLayer", shape, shape))
        elif kind == "residual":
            inner = tuple(trace(table["layers"], shape, f"{where}.layers", origin=origin))
            if inner[-1].output != shape:
                raise LayerError(f"{where}: a residual block must keep its input's shape {shape_text(shape)}, but "
                                 f"its layers end with {shape_text(inner[-1].output)}")
            steps.append(Step(index, table, RESIDUAL_MODULE, shape, shape, inner))
        elif kind == "conv2d":
            channels, height, width = _image(where, "Conv2d", shape, origin)
            if table.get("in", channels) != channels:
                raise LayerError(f"{where}: Conv2d expects {table['in']} input channels, {origin} "
                                 f"{shape_text(shape)} has {channels}")
            kernel, stride = as_pair(table["kernel"]), as_pair(table.get("stride", 1))
            dilation = as_pair(table.get("dilation", 1))
            padding = table.get("padding", 0)
            if padding == "same":
                if stride != (1, 1):
                    raise LayerError(f"{where}.padding: 'same' works only with stride 1 (as in torch), "
                                     f"stride is {table['stride']}")
                totals = (dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1))
            else:
                pads = (0, 0) if padding == "valid" else as_pair(padding)
                totals = (2 * pads[0], 2 * pads[1])
            out_hw = _window_output(where, "Conv2d", (height, width), kernel, stride, totals, dilation, shape)
            steps.append(Step(index, table, "Conv2d", shape, (table["out"], *out_hw)))
        elif kind in ("maxpool2d", "avgpool2d"):
            name = "MaxPool2d" if kind == "maxpool2d" else "AvgPool2d"
            channels, height, width = _image(where, name, shape, origin)
            kernel = as_pair(table["kernel"])
            stride = as_pair(table.get("stride", table["kernel"]))
            pads = as_pair(table.get("padding", 0))
            if pads[0] > kernel[0] // 2 or pads[1] > kernel[1] // 2:
                raise LayerError(f"{where}.padding: at most half the kernel {table['kernel']}, got {table['padding']}")
            dilation = as_pair(table.get("dilation", 1))
            out_hw = _window_output(where, name, (height, width), kernel, stride, (2 * pads[0], 2 * pads[1]),
                                    dilation, shape)
            steps.append(Step(index, table, name, shape, (channels, *out_hw)))
        elif kind == "adaptiveavgpool2d":
            channels = _image(where, "AdaptiveAvgPool2d", shape, origin)[0]
            steps.append(Step(index, table, "AdaptiveAvgPool2d", shape, (channels, *as_pair(table["size"]))))
        elif kind == "flatten":
            size = 1
            for n in shape:
                size *= n
            steps.append(Step(index, table, "Flatten", shape, (size,)))
        elif kind == "linear":
            features = _vector(where, "Linear", shape)
            if table.get("in", features) != features:
                gives = (f"the flattened {shape_text(flattened_from)} gives {features}" if flattened_from
                         else f"{origin} has {features}")
                raise LayerError(f"{where}: Linear expects {table['in']} inputs, {gives}")
            steps.append(Step(index, table, "Linear", shape, (*shape[:-1], table["out"])))
        elif kind == "batchnorm":
            if len(shape) == 2:
                raise LayerError(f"{where}: batchnorm can't take the sequence {shape_text(shape)}; use "
                                 f"{{type = \"layernorm\"}} on a sequence")
            steps.append(Step(index, table, "BatchNorm1d" if len(shape) == 1 else "BatchNorm2d", shape, shape))
        elif kind in ("layernorm", "softmax"):
            _vector(where, "LayerNorm" if kind == "layernorm" else "softmax", shape)
            steps.append(Step(index, table, "LayerNorm" if kind == "layernorm" else "Softmax", shape, shape))
        else:  # activations and dropout keep the shape
            steps.append(Step(index, table, kind, shape, shape))
        if kind == "flatten":
            flattened_from = shape if len(shape) == 3 else flattened_from
        elif kind not in ACTIVATION_TYPES and kind != "dropout":
            flattened_from = None
        shape = steps[-1].output
        origin = f"the output of {key}[{index}] ({steps[-1].module})"
    return steps


def output_activation(tables: Sequence[Mapping[str, Any]]) -> str | None:
    """The activation the stack ends with (dropout aside), or None when it ends with a layer."""
    for table in reversed(tables):
        if table["type"] == "dropout":
            continue
        return table["type"] if table["type"] in ACTIVATION_TYPES and table["type"] != "identity" else None
    return None


def parameter_count(steps: Sequence[Step]) -> int:
    """Weights and biases of a traced stack (one cube each), norms' scale and shift included."""
    total = 0
    for step in steps:
        kind, table = step.table["type"], step.table
        bias = 1 if table.get("bias", True) else 0
        if kind == "conv2d":
            kh, kw = as_pair(table["kernel"])
            total += step.output[0] * (step.input[0] * kh * kw + bias)
        elif kind == "linear":
            total += step.output[-1] * (step.input[-1] + bias)
        elif kind == "batchnorm":
            total += 2 * step.input[0]
        elif kind == "layernorm":
            total += 2 * step.input[-1]
        elif kind in ("embedding", "positional"):
            total += step.output[0] * step.output[1] if kind == "positional" else step.vocab * step.output[1]
        elif kind == "transformer":
            dim, hidden = step.input[-1], feedforward(table, step.input[-1])
            # in_proj (3d×d + 3d), out_proj (d×d + d), linear1, linear2, two LayerNorms
            total += 4 * dim * dim + 4 * dim + 2 * dim * hidden + hidden + dim + 4 * dim
        elif kind == "residual":
            total += parameter_count(step.inner)
    return total


def feedforward(table: Mapping[str, Any], dim: int) -> int:
    """A transformer block's feed-forward width: its ``feedforward`` key, else four times ``dim``."""
    return table.get("feedforward", 4 * dim)
