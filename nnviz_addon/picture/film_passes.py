"""The film's forward passes as pure numpy (no bpy): what a pass lights in turn, where the passes sit
on the frames, and how much of the signal each weight carries when its layer's turn comes.

A pass shows one record: every neuron goes dark, then each stage (:func:`pass_stages`) lights up in
turn, ``FORWARD_STEP_FRAMES`` apart, while the weights feeding it flash by their share of the
signal (:func:`contributions`, :func:`kernel_contributions`). :func:`timeline` places the records
and the passes on the film's frames; the scene keys what it says.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..history import History, keys
from ..preset.limits import DEFAULT_PASS_SHARE, FORWARD_STEP_FRAMES, fit_passes, pass_frames, pass_records
from . import attention as attention_plan
from . import colormap
from . import neurons as neuron_plan

# A transformer layer's parts by torch's names (TransformerEncoderLayer, and the presets' own layer):
# a pass lights its attention (with the add & norm after it), then its feed-forward.
TRANSFORMER_PARTS = {"self_attn": "attention", "norm1": "attention",
                     "linear1": "feed-forward", "linear2": "feed-forward", "norm2": "feed-forward"}
EMBEDDINGS = ("Embedding", "PositionalEmbedding")
TOKEN_KEYS = (keys.SEQUENCE_INPUT, keys.PROBE_TOKENS)  # the probe's token ids: a preset's, a Recorder's


@dataclass(frozen=True)
class Stage:
    """One turn of a forward pass: what lights up when the signal gets there. ``name`` says what it
    is (``"input"``, ``"layer <name>"``, ``"embedding"``, ``"attention <block>"``,
    ``"feed-forward <block>"``); ``column`` the neuron column it lights (None: no column is drawn
    for it); ``flashes`` the History keys of the weight tensors that flash by their share of the
    signal (:func:`flash_shares`); ``attention`` the ``attention/<path>`` series whose tiles light
    with the record's pattern; ``skips`` the indices in ``History.graph.skips`` of the residuals
    added back here (their arcs light)."""

    name: str
    column: str | None = None
    flashes: tuple[str, ...] = ()
    attention: str | None = None
    skips: tuple[int, ...] = ()


def neuron_columns(history: History) -> list[str]:
    """The ``nnviz_neuron`` names of the neuron columns the scene draws, input first."""
    return list(neuron_plan.column_keys(history))


def pass_stages(history: History) -> list[Stage]:
    """What a forward pass lights in turn, in the signal's order: the model's running order where the
    History has a graph (a recorded model), else its structure's. Every layer with a neuron column,
    recorded feature maps (a Conv2d: its kernels flash) or a weight matrix gets a turn; a
    transformer's layers are merged as the signal sees them: token → embedding (+ positional) →
    attention → feed-forward → output."""
    columns = set(neuron_columns(history))
    stages = [Stage("input", "input")] if "input" in columns else []
    turns = _graph_turns(history) if history.graph is not None else _structure_turns(history)
    for name, stage in turns:
        if stages and stages[-1].name == name:  # a part of the turn before: one turn of both
            last = stages[-1]
            stage = Stage(name, last.column or stage.column, last.flashes + stage.flashes,
                          last.attention or stage.attention, last.skips + stage.skips)
            stages[-1] = stage
        else:
            stages.append(stage)
    return [stage for stage in stages if stage.column or stage.flashes or stage.attention or stage.skips
            or stage.name in _feature_stages(history)]


def _turn_name(path: str, kind: str) -> str:
    """The stage a layer or module at ``path`` of ``kind`` lights in."""
    block, _, part = path.rpartition(".")
    if part == "out_proj" and block.endswith("self_attn"):
        block, _, part = block.rpartition(".")
    if block and part in TRANSFORMER_PARTS:
        return f"{TRANSFORMER_PARTS[part]} {block}"
    if kind in EMBEDDINGS:
        return "embedding"
    return f"layer {path}"


def _feature_stages(history: History) -> set[str]:
    """The stages of the Conv2d layers whose feature maps are recorded (their kernels flash there;
    the maps stay as they are)."""
    return {f"layer {spec.name}" for spec in history.structure
            if spec.kind == "Conv2d" and keys.feature(spec.name) in history.series}


def _fed(history: History) -> dict[str, str]:
    """Layer name → its weight's key, for every layer whose input the probes record (:func:`pass_inputs`)."""
    weights = {spec.name: spec.weight for spec in history.structure}
    return {name: weights[name] for name in pass_inputs(history, 0)}


def _flashing(history: History, fed: dict[str, str], path: str, tensors: tuple[str, ...], shown: bool
              ) -> tuple[str, ...]:
    """Which of a layer's parameter ``tensors`` flash: its weight where its input is recorded (``fed``,
    :func:`_fed`); every matrix of a layer nothing else shows (``shown``: it has a column or
    feature maps)."""
    if path in fed:
        return (fed[path],)
    if shown:
        return ()
    return tuple(key for key in tensors if key in history.params and np.ndim(history.params[key]) >= 3)


def _structure_turns(history: History) -> list[tuple[str, Stage]]:
    columns, features, fed = set(neuron_columns(history)), _feature_stages(history), _fed(history)
    turns = []
    for spec in history.structure:
        own = f"layer {spec.name}"
        column = own if own in columns else None
        tensors = tuple(key for key in (spec.weight, spec.bias) if key is not None)
        name = _turn_name(spec.name, spec.kind)
        attention = keys.attention(spec.name) if keys.attention(spec.name) in history.series else None
        flashes = _flashing(history, fed, spec.name, tensors, column is not None or own in features)
        turns.append((name, Stage(name, column, flashes, attention)))
    return turns


def _graph_turns(history: History) -> list[tuple[str, Stage]]:
    """The graph's modules in running order; a module that never ran by itself (a MultiheadAttention's
    out_proj) lights in the turn of the module holding it that ran; the model's own parameters (a
    learned positional table) with the embedding, or first."""
    graph = history.graph
    assert graph is not None
    ran = any(m.calls for m in graph.modules)
    columns, features, fed = set(neuron_columns(history)), _feature_stages(history), _fed(history)

    def owner(path: str) -> str:
        node = graph.module(path)
        while ran and node is not None and node.path and not node.calls:
            node = graph.module(node.parent or "")
        return "" if node is None else node.path

    order = {m.path: i for i, m in enumerate(graph.modules)}
    turns = []
    for module in sorted((m for m in graph.modules if m.params or f"layer {m.path}" in columns),
                         key=lambda m: order[owner(m.path)]):
        path = owner(module.path)
        own = f"layer {module.path}"
        column = own if own in columns else None
        name = "embedding" if not module.path else _turn_name(path, graph.module(path).kind)
        flashes = _flashing(history, fed, module.path, module.params, column is not None or own in features)
        attention = keys.attention(module.path) if keys.attention(module.path) in history.series else None
        skips = tuple(i for i, skip in enumerate(graph.skips) if owner(skip.target) == module.path)
        turns.append((name, Stage(name, column, flashes, attention, skips)))
    return _free_parameters_with_embedding(turns)


def _free_parameters_with_embedding(turns: list[tuple[str, Stage]]) -> list[tuple[str, Stage]]:
    """The model's own parameters (first in running order, named "embedding") moved to the real
    embedding's turn when there is one, else given a turn of their own ("parameters")."""
    if not turns or turns[0][0] != "embedding":
        return turns
    first, rest = turns[0], turns[1:]
    at = next((i for i, (name, _) in enumerate(rest) if name == "embedding"), None)
    if at is None:
        return [("parameters", dataclasses.replace(first[1], name="parameters")), *rest]
    return [*rest[:at + 1], first, *rest[at + 1:]]


def pass_inputs(history: History, record: int) -> dict[str, np.ndarray]:
    """Layer name → the probe's input to that Linear or Conv2d layer at ``record``, where it is
    recorded: for a Linear layer the probe input or the recorded activation of the layer before (a
    vector); for a Conv2d layer the probe image or the feature maps recorded just before its own
    (C, H, W)."""
    inputs: dict[str, np.ndarray] = {}
    previous = history.static.get(keys.PROBE_INPUT)
    for spec in history.structure:
        if previous is not None and spec.kind == "Linear" and np.size(previous) == spec.in_features:
            inputs[spec.name] = np.asarray(previous, dtype=np.float64).ravel()
        series = history.series.get(keys.activation(spec.name))
        previous = None if series is None else series[record]  # this record's only, not a copy of the run
    convs = {spec.name: spec for spec in history.structure if spec.kind == "Conv2d"}
    maps = history.static.get(keys.PROBE_IMAGE)
    for key, series in history.series.items():  # the feature maps, in the model's order
        if not key.startswith(keys.FEATURE_PREFIX):
            continue
        spec = convs.get(key.removeprefix(keys.FEATURE_PREFIX))
        if spec is not None and maps is not None and np.shape(maps)[0] == spec.in_features:
            inputs[spec.name] = np.asarray(maps, dtype=np.float64)
        maps = series[record]
    return inputs


def forward_pass_frames(columns: int, start: int | np.ndarray, step: int = FORWARD_STEP_FRAMES) -> np.ndarray:
    """The frame each of ``columns`` neuron columns (input first) lights up at, in a forward pass
    whose first frame (all dark) is ``start`` (passes starting at a column of ``start`` frames give
    a row each); the pass takes ``(columns + 1) * step`` frames."""
    return start + step * np.arange(1, columns + 1, dtype=np.int64)


@dataclass(frozen=True)
class Timeline:
    """Where the records and the forward passes sit on the film's frames.

    ``record_frames[r]`` is record r's frame; pass i shows record ``passes[i]``: every neuron dark
    at ``starts[i]``, column k lit at ``lit[i, k]``; a pass takes ``pass_length`` frames. The intro
    pass (record 0) comes before record 0; any other pass at record r starts the frame after it and
    pauses the run (records after r come a pass later): every keyed value holds record r's until
    ``holds[j]`` (for the pass at ``hold_records[j]``), then moves on to the next record as usual.
    ``frame_end`` is the last frame.
    """

    record_frames: np.ndarray
    passes: np.ndarray
    starts: np.ndarray
    lit: np.ndarray
    hold_records: np.ndarray
    holds: np.ndarray
    frame_end: int
    pass_length: int


def timeline(records: int, frames_per_record: int, frame_start: int, columns: int, mode: str,
             every: int = 1, step: int = FORWARD_STEP_FRAMES, share: float = DEFAULT_PASS_SHARE) -> Timeline:
    """The :class:`Timeline` of ``records`` records ``frames_per_record`` apart from ``frame_start``
    with the forward passes of ``mode`` over ``columns`` stages (none without stages), ``step``
    frames apart, taking at most ``share`` of the frames (:func:`..preset.limits.fit_passes`: fewer
    passes in the run, then shorter turns)."""
    kept, step = fit_passes(records, frames_per_record, mode, every, columns, share, step)
    length = pass_frames(columns, step)
    shown = pass_records(records, mode, every, kept) if length else []
    middle = np.array([r for r in shown if 0 < r < records - 1], dtype=np.int64)
    # Frames before each record: the intro before record 0, a paused pass after each middle record.
    gap = np.full(records, frames_per_record, dtype=np.int64)
    gap[0] = length if shown else 0
    gap[middle + 1] += length
    record_frames = frame_start + np.cumsum(gap)
    starts = np.array([frame_start if i == 0 else record_frames[r] + 1 for i, r in enumerate(shown)],
                      dtype=np.int64)
    lit = forward_pass_frames(columns, starts[:, None], step)
    holds = record_frames[middle + 1] - frames_per_record
    end = int(starts[-1]) + length if len(shown) > 1 else int(record_frames[-1])
    return Timeline(record_frames, np.array(shown, dtype=np.int64), starts, lit, middle, holds, end, length)


def contributions(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """|w_ij · x_j| of a Linear layer's ``weight`` (out, in) for the input ``x`` (in,), divided by
    its largest (all zero when every product is zero): the share of the signal each weight carries."""
    weight = np.asarray(weight, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).ravel()
    if weight.ndim != 2 or weight.shape[1] != x.shape[0]:
        raise ValueError(f"contributions: weight {weight.shape} does not take an input of shape {x.shape}")
    return _shares(np.abs(weight * x[None, :]))


def kernel_contributions(weight: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """A Conv2d layer's share of the signal per kernel weight, for the input feature ``maps``
    (in, H, W): a kernel weight w[o, i, u, v] meets every position of channel i, so it carries
    |w| times the mean |x| of that channel (borders and stride aside), divided by the largest
    (all zero when every product is zero)."""
    weight = np.asarray(weight, dtype=np.float64)
    maps = np.asarray(maps, dtype=np.float64)
    if weight.ndim != 4 or maps.ndim != 3 or weight.shape[1] != maps.shape[0]:
        raise ValueError(f"kernel_contributions: weight {weight.shape} does not take feature maps "
                         f"of shape {maps.shape}")
    return _shares(np.abs(weight) * np.abs(maps).mean(axis=(1, 2))[None, :, None, None])


def _shares(carried: np.ndarray) -> np.ndarray:
    """``carried`` divided by its largest finite value (not finite: 0; all zero stays zero)."""
    carried = np.where(np.isfinite(carried), carried, 0.0)
    top = carried.max(initial=0.0)
    return carried / top if top > 0 else carried




def column_colors(history: History) -> dict[str, np.ndarray]:
    """Neuron column name → its neurons' colours (records, N, 3) as the neurons' plan keys them (one
    row for the static input): what a column shows when its turn in a pass lights it."""
    return {prefix: colormap.colors(values, scale)[..., :3]
            for prefix, _layer, values, scale in neuron_plan.column_values(history)}


def flash_shares(history: History, stage: Stage, record: int) -> dict[str, np.ndarray]:
    """History key → each weight's share of the signal (the tensor's shape, 0..1) for every tensor
    ``stage`` flashes at ``record``: |w·x| where the layer's input x is recorded
    (:func:`contributions`, :func:`kernel_contributions`); an embedding's rows of the probe's tokens
    (a token's row carries the signal, once per time it occurs); else |w| itself, as if every input
    were equal (a transformer's layers, whose inputs the probes do not record)."""
    inputs = pass_inputs(history, record)
    by_weight = {spec.weight: spec for spec in history.structure}
    kinds = {key: module.kind for module in (history.graph.modules if history.graph else ()) for key in module.params}
    kinds |= {spec.weight: spec.kind for spec in history.structure}
    tokens = next((np.asarray(history.static[key], dtype=np.int64).ravel() for key in TOKEN_KEYS
                   if key in history.static), None)
    shares = {}
    for key in stage.flashes:
        weight = np.asarray(history.params[key][record], dtype=np.float64)
        spec = by_weight.get(key)
        if spec is not None and spec.name in inputs:
            carried = kernel_contributions if spec.kind == "Conv2d" else contributions
            shares[key] = carried(weight, inputs[spec.name])
        elif kinds.get(key) == "Embedding" and tokens is not None and tokens.max(initial=0) < len(weight):
            uses = np.bincount(tokens, minlength=len(weight)).astype(np.float64)
            shares[key] = _shares(np.abs(weight) * uses.reshape(-1, *[1] * (weight.ndim - 1)))
        else:
            shares[key] = _shares(np.abs(weight))
    return shares


def attention_cell_colors(history: History, key: str) -> dict[str, np.ndarray]:
    """Attention cell name (:func:`.attention.cell_name`) → its colour (records, 3) for the
    ``attention/<path>`` series ``key``: the pattern an attention stage lights its tiles with."""
    weights = np.asarray(history.series[key], dtype=np.float64)
    heads, length = weights.shape[1:3]
    colors = attention_plan.cell_colors(weights)[..., :3]
    return {attention_plan.cell_name(key, h, i, j): colors[:, h, i, j]
            for h in range(heads) for i in range(length) for j in range(length)}
