"""The settings stored on each scene (``scene.nnviz``) and their conversion to and from presets.

Every panel setting maps to one key of a preset (``FIELDS``), so a preset loads into the panel and
the panel turns back into a preset that :func:`config.preset_from_dict` validates: one set of rules
for TOML files, the Python API and the UI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import bpy
import numpy as np
from bpy.props import (
    EnumProperty,
    FloatProperty,
    IntProperty,
    IntVectorProperty,
    StringProperty,
)

from ..config import (
    ACTIVATIONS,
    COLOR_SCALES,
    MOMENTUM_OPTIMIZERS,
    NORMS,
    OPTIMIZERS,
    OUTPUT_ACTIVATIONS,
    RENDER_ENGINES,
    Preset,
    PresetError,
    find_presets,
    preset_from_dict,
)
from ..datasets import LOSSES, RGB_MAPPINGS, TASKS
from ..picture.cubes import AUTO_INSTANCED_ABOVE

# The config reads "none" as None for its optional choices, so the panel can offer it as an item.
NONE = "none"
SETTINGS_SOURCE = "nnviz settings"


# 4.5+ warns about a "//" path unless the property says it may be relative to the .blend; 4.2 lacks the flag.
_BLEND_RELATIVE_PATH = {"PATH_SUPPORTS_BLEND_RELATIVE"} if bpy.app.version >= (4, 5) else set()


def _items(names: tuple[str, ...] | list[str]) -> list[tuple[str, str, str]]:
    return [(name, name, "") for name in names]


# Blender keeps only a weak hold on the strings a dynamic enum callback returns: keep them alive here.
_preset_items: list[tuple[str, str, str]] = []


def _shipped_preset_items(_self: Any, _context: Any) -> list[tuple[str, str, str]]:
    _preset_items[:] = [(name, name, str(path)) for name, path in find_presets().items()]
    return _preset_items


class NNVIZ_PG_settings(bpy.types.PropertyGroup):
    preset: EnumProperty(name="Preset", description="A shipped preset to load",
                         items=_shipped_preset_items)
    name: StringProperty(name="Name", description="The run's title, shown in the scene", default="nnviz")

    layers: StringProperty(name="Layer sizes", default="3, 3",
                           description="Width of every layer from inputs to outputs, e.g. 2, 16, 16, 1")
    activation: EnumProperty(name="Hidden activation", items=_items(ACTIVATIONS), default="tanh")
    output_activation: EnumProperty(name="Output activation", items=_items((NONE, *OUTPUT_ACTIVATIONS)),
                                    default=NONE)
    norm: EnumProperty(name="Normalisation", items=_items((NONE, *NORMS)), default=NONE,
                       description="Normalisation after each hidden linear layer")
    dropout: FloatProperty(name="Dropout", min=0.0, max=0.99, default=0.0)

    task: EnumProperty(name="Task", items=_items(tuple(TASKS)), default="rgb")
    samples: IntProperty(name="Samples", min=2, default=200, description="Training examples to generate")
    data_seed: IntProperty(name="Data seed", min=0, default=0)
    noise: FloatProperty(name="Noise", min=0.0, max=1.0, default=0.1, description="Jitter of the 2D points")
    mapping: EnumProperty(name="Colour mapping", items=_items(tuple(RGB_MAPPINGS)), default="complement")

    loss: EnumProperty(name="Loss", items=_items(LOSSES), default="mse")
    optimizer: EnumProperty(name="Optimizer", items=_items(OPTIMIZERS), default="sgd")
    # Hard minimum 0 (not above): a learning rate of 0 reaches the validator and is reported by name.
    lr: FloatProperty(name="Learning rate", min=0.0, soft_min=1e-4, default=0.1, precision=4, step=1)
    batch_size: IntProperty(name="Batch size", min=1, default=32)
    steps: IntProperty(name="Steps", min=1, default=200)
    record_every: IntProperty(name="Record every", min=1, default=1, description="Keyframe every k steps")
    train_seed: IntProperty(name="Seed", min=0, default=0, description="Seeds the initial weights")
    momentum: FloatProperty(name="Momentum", min=0.0, max=0.999, default=0.0)
    weight_decay: FloatProperty(name="Weight decay", min=0.0, default=0.0, precision=4)

    color_scale: EnumProperty(name="Colour scale", items=_items(COLOR_SCALES), default="global",
                              description="Scale colours over the whole network or per layer")
    frames_per_record: IntProperty(name="Frames per record", min=1, default=1)
    magnitude: EnumProperty(name="Cube size", default="none", items=[
        ("none", "Uniform", "Every cube full size"),
        ("gradient", "Gradient |∂L/∂w|", "A cube grows with its weight's gradient at each recorded step"),
        ("update", "Update |Δw|", "A cube grows with how much its weight changed since the last record"),
    ])
    cubes: EnumProperty(name="Cubes", default="auto", items=[
        ("auto", "Auto", f"One object per cube up to {AUTO_INSTANCED_ABOVE:,} parameters, instanced above"),
        ("objects", "Objects", "One keyed object per weight: click a cube to see its curve"),
        ("instanced", "Instanced", "One Geometry Nodes object per tensor: fast for big networks"),
    ])
    engine: EnumProperty(name="Render engine", items=_items(RENDER_ENGINES), default="workbench")
    resolution: IntVectorProperty(name="Resolution", size=2, min=16, default=(1280, 720))
    fps: IntProperty(name="FPS", min=1, default=24)
    render_samples: IntProperty(name="Render samples", min=1, default=16,
                                description="Cycles / EEVEE samples")
    output_path: StringProperty(name="Output", subtype="FILE_PATH", default="//nnviz.mp4",
                                description="Where Render MP4 writes the video (// is the .blend's folder)",
                                options=_BLEND_RELATIVE_PATH)


@dataclass(frozen=True)
class Field:
    """One panel setting and the preset key it stands for."""

    prop: str
    section: str
    key: str

    @property
    def path(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def label(self) -> str:
        return NNVIZ_PG_settings.bl_rna.properties[self.prop].name


FIELDS: tuple[Field, ...] = tuple(Field(prop, *path.split(".")) for prop, path in (
    ("layers", "model.layers"), ("activation", "model.activation"),
    ("output_activation", "model.output_activation"), ("norm", "model.norm"), ("dropout", "model.dropout"),
    ("task", "data.task"), ("samples", "data.samples"), ("data_seed", "data.seed"), ("noise", "data.noise"),
    ("mapping", "data.mapping"),
    ("loss", "train.loss"), ("optimizer", "train.optimizer"), ("lr", "train.lr"),
    ("batch_size", "train.batch_size"), ("steps", "train.steps"), ("record_every", "train.record_every"),
    ("train_seed", "train.seed"), ("momentum", "train.momentum"), ("weight_decay", "train.weight_decay"),
    ("engine", "render.engine"), ("resolution", "render.resolution"), ("fps", "render.fps"),
    ("frames_per_record", "render.frames_per_record"), ("color_scale", "render.color_scale"),
    ("magnitude", "render.magnitude"), ("render_samples", "render.samples"), ("cubes", "render.cubes"),
))


def applies(settings: NNVIZ_PG_settings, prop: str) -> bool:
    """Whether a setting means anything with the others as they are (the panel hides it otherwise)."""
    if prop == "mapping":
        return settings.task == "rgb"
    if prop == "momentum":
        return settings.optimizer in MOMENTUM_OPTIMIZERS
    return True


def parse_layers(text: str) -> list[int]:
    """``"2, 16, 1"`` → ``[2, 16, 1]``; a word that is not a whole number is reported by name."""
    words = [word for word in re.split(r"[\s,;]+", text.strip()) if word]
    try:
        return [int(word) for word in words]
    except ValueError:
        raise PresetError(f"model.layers: {text!r} is not a list of whole numbers; "
                          "write the sizes like 2, 16, 16, 1") from None


def to_preset_dict(settings: NNVIZ_PG_settings) -> dict[str, Any]:
    """The panel's settings as preset data; settings that don't apply are left to their defaults."""
    data: dict[str, Any] = {"name": settings.name, "model": {}, "data": {}, "train": {}, "render": {}}
    for field in FIELDS:
        if not applies(settings, field.prop):
            continue
        value = getattr(settings, field.prop)
        if field.prop == "layers":
            value = parse_layers(value)
        elif field.prop == "resolution":
            value = list(value)
        elif isinstance(value, float):
            value = decimal_float(value)
        data[field.section][field.key] = value
    return data


def decimal_float(value: float) -> float:
    """The number a float property was set to: Blender stores 0.1 as float32 0.10000000149…, which
    would train differently from a preset file's 0.1. The shortest float32 repr gives 0.1 back."""
    return float(str(np.float32(value)))


def to_preset(settings: NNVIZ_PG_settings) -> Preset:
    """The panel's settings as a validated preset (raises PresetError naming the setting)."""
    try:
        return preset_from_dict(to_preset_dict(settings), source=SETTINGS_SOURCE)
    except PresetError as error:
        raise PresetError(describe_error(error)) from None


def apply_preset(settings: NNVIZ_PG_settings, preset: Preset) -> None:
    """Show a preset in the panel."""
    data = preset.to_dict()
    settings.name = preset.name
    for field in FIELDS:
        value = data[field.section][field.key]
        if field.prop == "layers":
            value = ", ".join(str(size) for size in value)
        elif value is None:
            value = NONE
        setattr(settings, field.prop, value)


def describe_error(error: Exception) -> str:
    """The error with the panel label of the setting it is about in front, e.g. ``Learning rate: …``."""
    message = str(error).removeprefix(f"{SETTINGS_SOURCE}: ")
    for field in FIELDS:
        if field.path in message:
            return f"{field.label}: {message}"
    return message
