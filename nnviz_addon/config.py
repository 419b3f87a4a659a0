"""Presets: TOML files turned into validated, frozen dataclasses.

A preset has a top-level ``name`` and four tables, ``[model]``, ``[data]``, ``[train]`` and
``[render]`` (the last optional). Every key is checked: unknown keys, wrong types and values out of
range raise :class:`PresetError` naming the file, the key path and what is allowed; then the
sections are checked against each other (input size vs task, output size and activation vs loss).

TOML has no null: an optional setting (``output_activation``, ``norm``) is left out, or written as
``"none"``, to mean None.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .datasets import LOSSES, RGB_MAPPINGS, TASKS, output_size
from .magnitude import MODES
from .picture.cubes import WRITERS

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "gelu", "silu", "identity")
OUTPUT_ACTIVATIONS = (*ACTIVATIONS, "softmax")
NORMS = ("layernorm", "batchnorm")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")
RENDER_ENGINES = ("workbench", "eevee", "cycles")
COLOR_SCALES = ("global", "layer")
CUBE_WRITERS = WRITERS
MAGNITUDES = MODES  # what a cube's size can show, as magnitude.py draws it
LOGIT_LOSSES = ("cross_entropy", "bce_with_logits")
MAX_SAMPLES = 100_000


class PresetError(ValueError):
    """A preset that can't be used; the message names the file, the key and what is allowed."""


@dataclass(frozen=True)
class ModelConfig:
    layers: tuple[int, ...]
    activation: str = "tanh"
    output_activation: str | None = None
    norm: str | None = None  # None | "layernorm" | "batchnorm", after each hidden Linear
    dropout: float = 0.0  # after each hidden activation


@dataclass(frozen=True)
class DataConfig:
    task: str
    samples: int = 200
    seed: int = 0
    noise: float = 0.1  # jitter of the 2D point tasks
    mapping: str = "complement"  # rgb only


@dataclass(frozen=True)
class TrainConfig:
    loss: str
    optimizer: str
    lr: float
    batch_size: int = 32
    steps: int = 200
    record_every: int = 1
    seed: int = 0
    momentum: float = 0.0
    weight_decay: float = 0.0


@dataclass(frozen=True)
class RenderConfig:
    engine: str = "workbench"
    resolution: tuple[int, int] = (1280, 720)
    fps: int = 24
    frames_per_record: int = 1
    color_scale: str = "global"
    magnitude: str = "none"  # what a cube's size shows: none | gradient (|∂L/∂w|) | update (|Δw|)
    samples: int = 16  # Cycles / EEVEE render samples
    cubes: str = "auto"  # which writer draws the cubes: auto | objects | instanced (picture/cubes.py)


SECTIONS: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig,
                             "render": RenderConfig}


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
                                  f"config object, got {_describe(override)}")
            data[section] = {**data.get(section, {}), **override}  # unknown sections fail validation
        return preset_from_dict(data, self.source)


# ----------------------------------------------------------------------------------------------
# Reading and checking one value. Each checker takes (key path, value) and returns the value in
# the dataclass's form, or raises PresetError (the source file is added by preset_from_dict).

Checker = Callable[[str, Any], Any]


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _integer(minimum: int | None = None, maximum: int | None = None) -> Checker:
    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PresetError(f"{key}: expected an integer, got {_describe(value)}")
        if minimum is not None and value < minimum:
            raise PresetError(f"{key} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise PresetError(f"{key} must be at most {maximum}, got {value}")
        return value
    return check


def _number(minimum: float, maximum: float | None = None, *, open_min: bool = False,
            open_max: bool = False) -> Checker:
    low, high = "(" if open_min else "[", ")" if open_max or maximum is None else "]"
    allowed = f"{low}{minimum:g}, {'∞' if maximum is None else f'{maximum:g}'}{high}"

    def check(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PresetError(f"{key}: expected a number, got {_describe(value)}")
        number = float(value)
        too_low = number <= minimum if open_min else number < minimum
        too_high = maximum is not None and (number >= maximum if open_max else number > maximum)
        if not math.isfinite(number) or too_low or too_high:
            raise PresetError(f"{key} must be in {allowed}, got {value}")
        return number
    return check


def _choice(options: tuple[str, ...], optional: bool = False) -> Checker:
    allowed = ", ".join(options) + (", none" if optional else "")

    def check(key: str, value: Any) -> str | None:
        if optional and (value is None or value == "none"):
            return None
        if not isinstance(value, str):
            raise PresetError(f"{key}: expected a string (one of {allowed}), got {_describe(value)}")
        if value not in options:
            raise PresetError(f"{key}: {value!r} is not allowed; allowed: {allowed}")
        return value
    return check


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PresetError(f"{key}: expected a non-empty string, got {_describe(value)}")
    return value


def _int_list(min_length: int, exact: bool = False) -> Checker:
    wanted = f"{'exactly' if exact else 'at least'} {min_length}"

    def check(key: str, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list | tuple):
            raise PresetError(f"{key}: expected a list of integers, got {_describe(value)}")
        if len(value) < min_length or (exact and len(value) != min_length):
            raise PresetError(f"{key} must have {wanted} entries, got {len(value)}: {list(value)}")
        return tuple(_integer(minimum=1)(f"{key}[{i}]", item) for i, item in enumerate(value))
    return check


RULES: dict[str, dict[str, Checker]] = {
    "model": {
        "layers": _int_list(2),
        "activation": _choice(ACTIVATIONS),
        "output_activation": _choice(OUTPUT_ACTIVATIONS, optional=True),
        "norm": _choice(NORMS, optional=True),
        "dropout": _number(0.0, 1.0, open_max=True),
    },
    "data": {
        "task": _choice(tuple(TASKS)),
        "samples": _integer(2, MAX_SAMPLES),
        "seed": _integer(0),
        "noise": _number(0.0, 1.0),
        "mapping": _choice(tuple(RGB_MAPPINGS)),
    },
    "train": {
        "loss": _choice(LOSSES),
        "optimizer": _choice(OPTIMIZERS),
        "lr": _number(0.0, open_min=True),
        "batch_size": _integer(1),
        "steps": _integer(1),
        "record_every": _integer(1),
        "seed": _integer(0),
        "momentum": _number(0.0, 1.0, open_max=True),
        "weight_decay": _number(0.0),
    },
    "render": {
        "engine": _choice(RENDER_ENGINES),
        "resolution": _int_list(2, exact=True),
        "fps": _integer(1),
        "frames_per_record": _integer(1),
        "color_scale": _choice(COLOR_SCALES),
        "magnitude": _choice(MAGNITUDES),
        "samples": _integer(1),
        "cubes": _choice(CUBE_WRITERS),
    },
}


def _section(name: str, table: Any) -> Any:
    """Build one section's dataclass from its table."""
    config_type = SECTIONS[name]
    if not isinstance(table, Mapping):
        raise PresetError(f"[{name}]: expected a table of settings, got {_describe(table)}")
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
    return config_type(**values)


def _check_together(preset: Preset) -> None:
    """The checks that involve more than one key."""
    model, data, train = preset.model, preset.data, preset.train
    task = TASKS[data.task]
    layers, loss, out_act = model.layers, train.loss, model.output_activation
    if layers[0] != task.inputs:
        raise PresetError(f"model.layers[0] is {layers[0]} but task {data.task!r} has {task.inputs} inputs")
    if task.max_samples is not None and data.samples > task.max_samples:
        raise PresetError(f"data.samples is {data.samples} but task {data.task!r} has only "
                          f"{task.max_samples} samples")
    if data.mapping != DataConfig.mapping and data.task != "rgb":
        raise PresetError(f"data.mapping only applies to task 'rgb', not {data.task!r}; remove it")
    try:
        outputs = output_size(data.task, loss)
    except ValueError as error:
        raise PresetError(f"train.loss: {error}; use one of mse, l1, bce, bce_with_logits") from None
    if layers[-1] != outputs:
        hint = ""
        if task.kind == "binary":
            hint = ("; cross_entropy wants 2 outputs (one per class), the other losses 1"
                    if loss == "cross_entropy" else "; for 2 outputs (one per class) use cross_entropy")
        raise PresetError(f"model.layers[-1] is {layers[-1]} but task {data.task!r} with loss {loss!r} "
                          f"needs {outputs} output{'s' if outputs > 1 else ''}{hint}")
    if loss in LOGIT_LOSSES and out_act not in (None, "identity"):
        raise PresetError(f"model.output_activation {out_act!r} makes no sense with loss {loss!r}: that loss "
                          "applies its own sigmoid/softmax to raw scores (logits), so leave "
                          "output_activation out")
    if loss == "bce" and out_act not in ("sigmoid", "softmax"):
        raise PresetError(f"loss 'bce' needs outputs in (0, 1): set model.output_activation = 'sigmoid' "
                          f"(it is {out_act or 'none'!r}), or use loss 'bce_with_logits' on raw outputs")
    if out_act == "softmax" and layers[-1] == 1:
        raise PresetError("model.output_activation 'softmax' over a single output is always 1; "
                          "use 'sigmoid' for one output")
    if train.momentum and train.optimizer not in MOMENTUM_OPTIMIZERS:
        raise PresetError(f"train.momentum is used only by {', '.join(MOMENTUM_OPTIMIZERS)}, not "
                          f"{train.optimizer!r} (Adam's betas play that part); remove it")


def preset_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Preset:
    """Validate a preset given as plain data (a parsed TOML file, or ``Preset.to_dict()``)."""
    try:
        if not isinstance(data, Mapping):
            raise PresetError(f"expected a table of settings, got {_describe(data)}")
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
        preset = Preset(name=_text("name", data["name"]), source=source, **sections)
        _check_together(preset)
    except PresetError as error:
        raise PresetError(f"{source}: {error}") from None
    return preset


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
    return preset_from_dict(data, source=path.name)


def presets_dir() -> Path:
    """The shipped presets: beside the package when installed as an extension, else the repository's."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "presets", package.parent / "presets"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no presets folder in {package} or {package.parent}")


def find_presets() -> dict[str, Path]:
    """The shipped preset files by name (file stem), sorted."""
    return {path.stem: path for path in sorted(presets_dir().glob("*.toml"))}
