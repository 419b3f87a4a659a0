"""Presets: TOML files turned into validated, frozen dataclasses.

A preset has a top-level ``name`` and four tables, ``[model]``, ``[data]``, ``[train]`` and
``[render]`` (the last optional). Every key is checked: unknown keys, wrong types and values out of
range raise :class:`PresetError` naming the file, the key path and what is allowed; then the
sections are checked against each other (input size vs task, output size and activation vs loss).

``[model] layers`` is either a list of sizes (``[2, 4, 1]``: Linear layers with the ``activation``,
``norm`` and ``dropout`` keys between them) or a list of layer tables describing any stack
(:mod:`.layer_stack`), whose shapes are checked from the task's input to the loss.

TOML has no null: an optional setting (``output_activation``, ``norm``) is left out, or written as
``"none"``, to mean None.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import catalog
from ..datasets import (
    RGB_MAPPINGS,
    TABLE_TASK,
    TASK_NAMES,
    DataConfig,
    TableError,
    TaskInfo,
    output_size,
    table_of,
    task_info,
    test_size,
)
from . import layer_stack
from .checks import (
    Checker,
    SettingError,
    any_text,
    checkers,
    choice,
    describe,
    int_list,
    integer,
    number,
    number_pair,
    optional_flag,
    setting,
    text,
    text_list,
)
from .limits import (
    DEFAULT_PASS_SHARE,
    MAX_FPS,
    MAX_FRAME,
    MAX_LAYER_UNITS,
    MAX_RECORDED_BYTES,
    MAX_RENDER_SAMPLES,
    MAX_SAMPLES,
    MAX_STEPS,
    RECORD_DTYPE_BYTES,
    RESOLUTION_RANGE,
    WARN_RECORDED_BYTES,
    WRITERS,
    SceneSize,
    SceneTooBig,
    check_scene,
    frame_count,
)


class PresetError(SettingError):
    """A preset that can't be used; the message names the file, the key and what is allowed."""


def _layers(key: str, value: Any) -> tuple[int, ...] | tuple[dict[str, Any], ...]:
    """Sizes (at least two) or layer tables: every entry one or the other."""
    if isinstance(value, list | tuple) and any(isinstance(v, Mapping) for v in value):
        return layer_stack.check_tables(key, value)
    return int_list(2)(key, value)


# Each section's keys: a field each, declared with its default and its checker (checks.setting).

@dataclass(frozen=True)
class ModelConfig:
    # sizes, input first (Linear layers), or layer tables (dicts with a "type"; see layer_stack)
    layers: tuple[int, ...] | tuple[dict[str, Any], ...] = setting(_layers)
    activation: str = setting(choice(catalog.ACTIVATIONS), "tanh")
    output_activation: str | None = setting(choice(catalog.OUTPUT_ACTIVATIONS, optional=True), None)
    # None | "layernorm" | "batchnorm", after each hidden Linear
    norm: str | None = setting(choice(catalog.NORMS, optional=True), None)
    dropout: float = setting(number(0.0, 1.0, open_max=True), 0.0)  # after each hidden activation

    @property
    def is_stack(self) -> bool:
        """Whether ``layers`` lists layer tables rather than sizes."""
        return layer_stack.is_layer_tables(self.layers)


@dataclass(frozen=True)
class TrainConfig:
    loss: str = setting(choice(catalog.LOSSES))
    optimizer: str = setting(choice(catalog.OPTIMIZERS))
    lr: float = setting(number(0.0, open_min=True))
    batch_size: int = setting(integer(1), 32)
    steps: int = setting(integer(1, MAX_STEPS), 200)
    record_every: int = setting(integer(1), 1)
    seed: int = setting(integer(0), 0)
    momentum: float = setting(number(0.0, 1.0, open_max=True), 0.0)
    weight_decay: float = setting(number(0.0), 0.0)
    # constant | cosine (the lr falls along a half cosine to 0 at the last step, torch's CosineAnnealingLR)
    lr_schedule: str = setting(choice(catalog.LR_SCHEDULES), "constant")


@dataclass(frozen=True)
class RenderConfig:
    engine: str = setting(choice(catalog.RENDER_ENGINES), "workbench")
    resolution: tuple[int, int] = setting(int_list(2, exact=True), (1280, 720))
    fps: int = setting(integer(1), 24)
    frames_per_record: int = setting(integer(1), 1)
    # auto | global | layer (picture/cubes.py: resolved_scale)
    color_scale: str = setting(choice(catalog.COLOR_SCALES), "auto")
    # what a cube's colour shows: value (w) | change (w − w₀, since the first record)
    color_values: str = setting(choice(catalog.COLOR_VALUES), "value")
    # what a cube's size shows: none | gradient (|∂L/∂w|) | update (|Δw|), as picture/magnitude.py draws it
    magnitude: str = setting(choice(catalog.MAGNITUDES), "none")
    samples: int = setting(integer(1, MAX_RENDER_SAMPLES), 16)  # Cycles / EEVEE render samples
    # "draft": Workbench FXAA and few samples, for a quick look
    quality: str = setting(choice(catalog.RENDER_QUALITIES), "final")
    style: str = setting(choice(catalog.STYLES), "diagram")  # diagram | film
    # film only: fly-through | orbit | static
    camera_path: str = setting(choice(catalog.CAMERA_PATHS), "fly-through")
    # film: the run's share on the opening, closing shot
    camera_timing: tuple[float, float] = setting(number_pair(0.0, 0.45), (0.1, 0.2))
    motion: str = setting(choice(catalog.MOTIONS), "linear")  # linear | smooth (eased between records)
    # film only: none | intro (before the run and at its end) | every (also every N records)
    forward_pass: str = setting(choice(catalog.FORWARD_PASSES), "none")
    # with forward_pass = "every": a pass every this many records
    forward_pass_every: int = setting(integer(1), 10)
    # film: at most this share of the frames spent in forward passes (1: no bound)
    forward_pass_share: float = setting(number(0.0, 1.0, open_min=True), DEFAULT_PASS_SHARE)
    # which writer draws the cubes: auto | objects | instanced (picture/cubes.py)
    cubes: str = setting(choice(WRITERS), "auto")


# [data] is the datasets' DataConfig, which can't know the preset's checkers (an earlier stage):
# its keys' checkers are listed here (tests/preset/test_config.py checks they name its fields).
_DATA_CHECKERS: dict[str, Checker] = {
    "task": choice(TASK_NAMES),
    "samples": integer(2, MAX_SAMPLES),
    "seed": integer(0),
    "noise": number(0.0, 1.0),
    "mapping": choice(RGB_MAPPINGS),
    "path": any_text,
    "features": text_list,
    "target": any_text,
    "standardize": optional_flag,
    "test_fraction": number(0.0, 1.0, open_max=True),
}

SECTIONS: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig,
                             "render": RenderConfig}


RULES: dict[str, dict[str, Checker]] = {
    section: _DATA_CHECKERS if config_type is DataConfig else checkers(config_type)
    for section, config_type in SECTIONS.items()}


@dataclass(frozen=True)
class Preset:
    name: str
    model: ModelConfig
    data: DataConfig
    train: TrainConfig
    render: RenderConfig = field(default_factory=RenderConfig)
    source: str = field(default="<dict>", compare=False)  # where it was read from, for error messages

    def to_dict(self) -> dict[str, Any]:
        """The preset as plain JSON-able data (tuples become lists); ``preset_from_dict`` reads it back."""
        result: dict[str, Any] = {"name": self.name}
        for section in SECTIONS:
            values = dataclasses.asdict(getattr(self, section))
            if section == "model" and self.model.is_stack:  # the tables say it all; these would be refused
                values = {k: v for k, v in values.items() if k not in SIZES_ONLY_KEYS}
            result[section] = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        return result

    def replace(self, name: str | None = None, **section_overrides: Mapping[str, Any] | object) -> Preset:
        """A copy with some settings changed, validated again as a whole.

        Each keyword is a section name with a dict of the keys to change (or a whole config object):
        ``preset.replace(train={"steps": 50}, render={"fps": 12})``.
        """
        data = self.to_dict()
        if name is not None:
            data["name"] = name
        for section, override in section_overrides.items():
            if dataclasses.is_dataclass(override):
                override = dataclasses.asdict(override)
            if not isinstance(override, Mapping):
                raise PresetError(f"{self.source}: override for {section!r} must be a dict of keys or a "
                                  f"config object, got {describe(override)}")
            data[section] = {**data.get(section, {}), **override}  # unknown sections fail validation
        return preset_from_dict(data, self.source)


# [model] keys that shape a list of sizes; a list of layer tables says all of it in its tables.
SIZES_ONLY_KEYS = ("activation", "output_activation", "norm", "dropout")


def _section(name: str, table: Any) -> Any:
    """Build one section's dataclass from its table."""
    config_type = SECTIONS[name]
    if not isinstance(table, Mapping):
        raise PresetError(f"[{name}]: expected a table of settings, got {describe(table)}")
    rules = RULES[name]
    unknown = sorted(set(table) - set(rules))
    if unknown:
        raise PresetError(f"unknown key '{name}.{unknown[0]}'; allowed: {', '.join(sorted(rules))}")
    required = [f.name for f in dataclasses.fields(config_type) if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    missing = [key for key in required if key not in table]
    if missing:
        raise PresetError(f"missing key '{name}.{missing[0]}' (required in [{name}]: {', '.join(required)})")
    values = {key: rules[key](f"{name}.{key}", value) for key, value in table.items()}
    if name == "model" and layer_stack.is_layer_tables(values["layers"]):
        extra = [key for key in SIZES_ONLY_KEYS if key in table]
        if extra:
            raise PresetError(f"model.{extra[0]} applies only to layers given as sizes; with layer tables, "
                              f"write it as a layer, e.g. {{type = \"relu\"}} or {{type = \"dropout\", p = 0.2}}")
    return config_type(**values)


def _check_together(preset: Preset) -> None:
    """The checks that involve more than one key."""
    model, data, train = preset.model, preset.data, preset.train
    _check_table_keys(data)
    try:
        task = task_info(data)
    except TableError as error:
        raise PresetError(str(error)) from None
    loss = train.loss
    # what the messages call the output width and the final activation, in the form the preset uses
    last, act = "model.layers[-1]", "model.output_activation"
    if task.is_sequence:
        _check_sequence(preset)
    if model.is_stack:
        width, out_act = _stack_output(model, task, loss)
        last, act = f"the output of model.layers[{len(model.layers) - 1}]", "the final layer"
    else:
        width, out_act = model.layers[-1], model.output_activation
        if model.layers[0] != task.inputs:
            if data.task == TABLE_TASK:
                raise PresetError(f"model.layers[0] is {model.layers[0]} but {Path(data.path).name} has "
                                  f"{task.inputs} feature columns ({', '.join(table_of(data).features)})")
            raise PresetError(f"model.layers[0] is {model.layers[0]} but task {data.task!r} has {task.inputs} inputs")
    _check_split(data, train, task.max_samples if data.task == TABLE_TASK else data.samples)
    if data.task != TABLE_TASK and task.max_samples is not None and data.samples > task.max_samples:
        raise PresetError(f"data.samples is {data.samples} but task {data.task!r} has only "
                          f"{task.max_samples} samples")
    if data.mapping != DataConfig.mapping and data.task != "rgb":
        raise PresetError(f"data.mapping only applies to task 'rgb', not {data.task!r}; remove it")
    try:
        outputs = output_size(task, loss)
    except ValueError as error:
        regression_losses = ", ".join(loss for loss in catalog.LOSSES if loss != "cross_entropy")
        raise PresetError(f"train.loss: {error}; use one of {regression_losses}") from None
    if width != outputs and data.task == TABLE_TASK and task.classes:
        classes = ", ".join(table_of(data).class_names)
        raise PresetError(f"{last} is {width} but column {data.target!r} of "
                          f"{Path(data.path).name} has {task.classes} classes ({classes}); "
                          f"with loss {loss!r} the model needs {outputs} output{'s' if outputs > 1 else ''}")
    if width != outputs:
        hint = ""
        if task.kind == "binary":
            hint = ("; cross_entropy wants 2 outputs (one per class), the other losses 1"
                    if loss == "cross_entropy" else "; for 2 outputs (one per class) use cross_entropy")
        raise PresetError(f"{last} is {width} but task {data.task!r} with loss {loss!r} "
                          f"needs {outputs} output{'s' if outputs > 1 else ''}{hint}")
    if loss in catalog.LOGIT_LOSSES and out_act not in (None, "identity"):
        raise PresetError(f"{act} {out_act!r} makes no sense with loss {loss!r}: that loss "
                          "applies its own sigmoid/softmax to raw scores (logits), so leave "
                          "that output activation out")
    if loss == "bce" and out_act not in ("sigmoid", "softmax"):
        fix = ("end the layer tables with {type = \"sigmoid\"}" if model.is_stack
               else "set model.output_activation = 'sigmoid'")
        raise PresetError(f"loss 'bce' needs outputs in (0, 1): {fix} "
                          f"(it is {out_act or 'none'!r}), or use loss 'bce_with_logits' on raw outputs")
    if out_act == "softmax" and width == 1:
        raise PresetError(f"{act} 'softmax' over a single output is always 1; "
                          "use 'sigmoid' for one output")
    if train.momentum and train.optimizer not in catalog.MOMENTUM_OPTIMIZERS:
        raise PresetError(f"train.momentum is used only by {', '.join(catalog.MOMENTUM_OPTIMIZERS)}, not "
                          f"{train.optimizer!r} (Adam's betas play that part); remove it")


# ----------------------------------------------------------------------------------------------
# Limits: what Blender can hold, and what a run may record. See the constants at the top.

def _gib(size: float) -> str:
    return f"{size / 2**30:.3g} GiB"


def check_resolution(width: int, height: int) -> None:
    """A PresetError (without a key: the caller adds it) unless H.264 and Blender can take this size."""
    low, high = RESOLUTION_RANGE
    if not (low <= width <= high and low <= height <= high):
        raise PresetError(f"{width}x{height}: width and height must each be in {low}..{high} (Blender's range)")
    if width % 2 or height % 2:
        raise PresetError(f"{width}x{height}: H.264 video needs an even width and height")


def check_fps(fps: int) -> None:
    if not 1 <= fps <= MAX_FPS:
        raise PresetError(f"{fps}: frames per second must be in 1..{MAX_FPS} (Blender's range)")


def record_count(train: TrainConfig) -> int:
    """The records a full run keeps: step 0, every ``record_every``-th step, and the last."""
    return 1 + train.steps // train.record_every + (train.steps % train.record_every != 0)


def parameter_count(preset: Preset) -> int:
    """Weights and biases of the model (one cube each), norm layers' scale and shift included."""
    model = preset.model
    if model.is_stack:
        task = task_info(preset.data)
        return layer_stack.parameter_count(layer_stack.trace(model.layers, task.layer_input_shape, vocab=task.vocab))
    pairs = list(zip(model.layers[:-1], model.layers[1:], strict=True))
    linear = sum(n_in * n_out + n_out for n_in, n_out in pairs)
    norms = 2 * sum(model.layers[1:-1]) if model.norm is not None else 0
    return linear + norms


def recorded_bytes(preset: Preset) -> int:
    """Memory the values and gradients of every record take (the per-record probe series, small
    next to them for every shipped preset, are not counted)."""
    return record_count(preset.train) * 2 * parameter_count(preset) * RECORD_DTYPE_BYTES


def _check_limits(preset: Preset) -> None:
    model = preset.model
    _check_render_ranges(preset.render)
    for index, units in enumerate(_widths(model)):
        if units > MAX_LAYER_UNITS:
            raise PresetError(f"model.layers[{index}] is {units:,} units; allowed at most {MAX_LAYER_UNITS:,}")
    size = recorded_bytes(preset)
    if size > MAX_RECORDED_BYTES:
        raise PresetError(f"train.record_every: {_gib(size)} would be recorded ({record_count(preset.train):,} records "
                          f"× 2 arrays × {parameter_count(preset):,} parameters × {RECORD_DTYPE_BYTES} bytes); allowed "
                          f"at most {_gib(MAX_RECORDED_BYTES)} — raise train.record_every or lower train.steps")


def _widths(model: ModelConfig) -> list[int]:
    return [table.get("out", 0) for table in model.layers] if model.is_stack else list(model.layers)


def _check_frames(preset: Preset) -> None:
    """The run's last frame, forward passes included, within Blender's: for runs that build a scene."""
    render = preset.render
    records = record_count(preset.train)
    frames, shown, added = _frames(preset)
    passes = f" and {shown:,} forward passes ({added:,} frames)" if shown else ""
    if frames > MAX_FRAME:
        raise PresetError(f"render.frames_per_record: {records:,} records × {render.frames_per_record} frames{passes} "
                          f"would end at frame {frames:,}, past Blender's last frame {MAX_FRAME:,}; "
                          "lower frames_per_record or raise train.record_every")


def _frames(preset: Preset) -> tuple[int, int, int]:
    """(last frame, forward passes, frames they add): the film's passes have at most one stage per
    layer and the input."""
    render = preset.render
    return frame_count(record_count(preset.train), render.frames_per_record, render.style, render.forward_pass,
                       render.forward_pass_every, len(_widths(preset.model)) + 1, render.forward_pass_share)


def frame_range(preset: Preset) -> tuple[int, int]:
    """The first and last frame of the scene ``preset``'s full run builds."""
    return 1, _frames(preset)[0]


def scene_size(preset: Preset) -> SceneSize:
    """What the scene of ``preset``'s run will create, counted from the preset before training (as
    ``picture.census`` counts it from the History): cubes for parameters and feature-map cells,
    neurons for the probe input and each layer's outputs, a 2-D task's data points and each
    transformer block's attention cells."""
    task = task_info(preset.data)
    model = preset.model
    cells = neurons = attention = 0
    if model.is_stack:
        steps = layer_stack.trace(model.layers, task.layer_input_shape, vocab=task.vocab)
        first = task.layer_input_shape
        cells = math.prod(first) if len(first) == 3 else 0
        neurons = first[0] if len(first) == 1 and not task.vocab else 0  # tokens have no input column
        for step in steps:
            if len(step.output) == 3 and step.module in catalog.IMAGE_LAYERS:
                cells += math.prod(step.output)
            elif len(step.output) == 1 and step.module in VECTOR_MODULES:
                neurons += step.output[0]
        attention = _attention_cells(steps)
    else:
        neurons = sum(model.layers) + (sum(model.layers[1:-1]) if model.norm is not None else 0)
    data = preset.data
    two_d = task.inputs == 2 and task.classes and data.task != TABLE_TASK  # the view shows the training split
    points = data.samples - test_size(data.samples, data.test_fraction) if two_d else 0
    return SceneSize(parameter_count(preset), cells, neurons, points, attention)


def _attention_cells(steps: Sequence[layer_stack.Step]) -> int:
    """The probe's attention maps: heads × L × L cells per transformer block, a residual block's too."""
    return sum(step.table["heads"] * step.input[0] ** 2 if step.module == "TransformerEncoderLayer"
               else _attention_cells(step.inner) for step in steps)


# The layers whose outputs the probes record (training/probes.py) as neuron columns: the parameterised
# vector layers (image layers, catalog.IMAGE_LAYERS, as feature maps).
VECTOR_MODULES = ("Linear", "LayerNorm", "BatchNorm1d")


def preset_warnings(preset: Preset) -> list[str]:
    """What a preset asks that is allowed but heavy: one line each, naming the setting."""
    size = recorded_bytes(preset)
    if size > WARN_RECORDED_BYTES:
        return [f"{preset.source}: {_gib(size)} will be recorded in memory "
                f"({record_count(preset.train):,} records); raise train.record_every to keep less"]
    return []


def check_scene_size(preset: Preset) -> list[str]:
    """Refuse a run whose scene can't be built: its last frame past Blender's, or more cubes and
    objects than the writer ``render.cubes`` picks holds (``limits.check_scene``, counting
    everything :func:`scene_size` does); the warnings, as :func:`preset_warnings`. For runs that
    build a scene (train.py without --no-render, the panel, ``api.animate``)."""
    try:
        _check_frames(preset)
        _writer, warnings = check_scene(scene_size(preset), preset.render.cubes)
    except (PresetError, SceneTooBig) as error:
        raise PresetError(f"{preset.source}: model.layers has {error}" if isinstance(error, SceneTooBig)
                          else f"{preset.source}: {error}") from None
    return [f"{preset.source}: {warning}" for warning in warnings]


def _stack_output(model: ModelConfig, task: TaskInfo, loss: str) -> tuple[int, str | None]:
    """A layer-table stack's output width and final activation, its shapes checked from the task's input."""
    try:
        steps = layer_stack.trace(model.layers, task.layer_input_shape, vocab=task.vocab)
    except layer_stack.LayerError as error:
        raise PresetError(str(error)) from None
    output = steps[-1].output
    if task.is_sequence and len(output) != 2:
        raise PresetError(f"model.layers: the task scores a token at each of its {task.inputs} positions, but the "
                          f"network ends with {layer_stack.shape_text(output)}; end with a linear layer on the "
                          "sequence (no flatten)")
    if len(output) != 1 and not task.is_sequence:
        raise PresetError(f"model.layers: the network ends with the image {layer_stack.shape_text(output)}, but "
                          f"loss {loss!r} needs a vector of scores; end with {{type = \"flatten\"}} and a linear layer")
    return output[-1], layer_stack.output_activation(model.layers)


def _check_sequence(preset: Preset) -> None:
    """A sequence task's tokens need layer tables (an embedding first) and a loss per position."""
    data, task = preset.data, task_info(preset.data)
    if not preset.model.is_stack:
        raise PresetError(f"task {data.task!r} is a sequence of {task.inputs} tokens: write model.layers as layer "
                          "tables starting with {type = \"embedding\", dim = 32}")
    if preset.train.loss != "cross_entropy":
        raise PresetError(f"train.loss: task {data.task!r} predicts a token at every position; use 'cross_entropy', "
                          f"not {preset.train.loss!r}")
    if data.standardize:
        raise PresetError(f"data.standardize doesn't apply to task {data.task!r}: its inputs are token ids; remove it")


TABLE_KEYS = ("path", "features", "target")


def _check_table_keys(data: DataConfig) -> None:
    """A table needs its file and target; the generated tasks' keys don't apply to it, nor its to them."""
    if data.task != TABLE_TASK:
        given = [key for key in TABLE_KEYS if getattr(data, key) != getattr(DataConfig, key)]
        if given:
            raise PresetError(f"data.{given[0]} only applies to task 'table', not {data.task!r}; remove it")
        return
    for key in ("path", "target"):
        if not getattr(data, key).strip():
            raise PresetError(f"task 'table' needs data.{key} ("
                              + ("a .csv or .npz file" if key == "path" else "the column to predict") + ")")
    for key in ("samples", "noise"):
        if getattr(data, key) != getattr(DataConfig, key):
            raise PresetError(f"data.{key} doesn't apply to task 'table' (it trains on every row of the file); "
                              "remove it")


def _check_split(data: DataConfig, train: TrainConfig, samples: int) -> None:
    """Both splits keep a sample, and a table's training split fills a batch."""
    held_out = test_size(samples, data.test_fraction)
    what = f"{Path(data.path).name} has {samples} rows" if data.task == TABLE_TASK else f"data.samples is {samples}"
    if held_out >= samples:
        raise PresetError(f"data.test_fraction {data.test_fraction:g} holds out every sample ({what}); "
                          "lower it")
    if data.task == TABLE_TASK and samples - held_out < train.batch_size:
        split = f" ({samples - held_out} for training after test_fraction {data.test_fraction:g})" if held_out else ""
        raise PresetError(f"{what}{split}, too few for train.batch_size {train.batch_size}; lower the batch size")


def preset_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Preset:
    """Validate a preset given as plain data (a parsed TOML file, or ``Preset.to_dict()``)."""
    try:
        if not isinstance(data, Mapping):
            raise PresetError(f"expected a table of settings, got {describe(data)}")
        allowed = ("name", *SECTIONS)
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            kind = "section" if isinstance(data[unknown[0]], Mapping) else "key"
            raise PresetError(f"unknown {kind} {unknown[0]!r}; allowed: {', '.join(allowed)}")
        if "name" not in data:
            raise PresetError("missing key 'name' (the run's title, a string)")
        for section in ("model", "data", "train"):
            if section not in data:
                raise PresetError(f"missing section [{section}]")
        sections = {section: _section(section, data.get(section, {})) for section in SECTIONS}
        preset = Preset(name=text("name", data["name"]), source=source, **sections)
        _check_together(preset)
        _check_limits(preset)
    except SettingError as error:  # a checker's, a layer table's or the preset's own
        raise PresetError(f"{source}: {error}") from None
    return preset


def render_config_from_dict(table: Any, source: str = "<dict>") -> RenderConfig:
    """A ``[render]`` section on its own, checked key by key as in a preset (resolution, fps): what
    animating a saved run needs, without its model, data or data files."""
    try:
        render = _section("render", table)
        _check_render_ranges(render)
    except SettingError as error:
        raise PresetError(f"{source}: {error}") from None
    return render


def _check_render_ranges(render: RenderConfig) -> None:
    """The resolution and frame rate within Blender's ranges, the message naming the key."""
    try:
        check_resolution(*render.resolution)
    except PresetError as error:
        raise PresetError(f"render.resolution {error}") from None
    try:
        check_fps(render.fps)
    except PresetError as error:
        raise PresetError(f"render.fps {error}") from None


def load_preset(path: str | Path) -> Preset:
    """Read and validate one preset file."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise PresetError(f"{path}: no such preset file") from None
    except IsADirectoryError:
        raise PresetError(f"{path}: is a directory, not a preset file (.toml)") from None
    except OSError as error:
        raise PresetError(f"{path}: cannot read the preset file ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise PresetError(f"{path.name}: not valid TOML: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise PresetError(f"{path.name}: not valid TOML: {error}") from None
    return preset_from_dict(_with_table_path_resolved(data, path.parent), source=path.name)


def _with_table_path_resolved(data: Any, folder: Path) -> Any:
    """``data.path`` relative to the preset's folder, not to wherever the program runs."""
    table = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(table, Mapping) or not isinstance(table.get("path"), str) or not table["path"].strip():
        return data
    resolved = (folder / Path(table["path"]).expanduser()).resolve()
    return {**data, "data": {**table, "path": str(resolved)}}


def presets_dir() -> Path:
    """The shipped presets: beside the package when installed as an extension, else the repository's."""
    package = Path(__file__).resolve().parents[1]  # nnviz_addon, this module being in nnviz_addon/preset
    for candidate in (package / "presets", package.parent / "presets"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no presets folder in {package} or {package.parent}")


def find_presets() -> dict[str, Path]:
    """The shipped preset files by name (file stem), sorted."""
    return {path.stem: path for path in sorted(presets_dir().glob("*.toml"))}
