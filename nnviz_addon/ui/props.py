"""The settings stored on each scene (``scene.nnviz``) and their conversion to and from presets.

Every panel setting maps to one key of a preset (``FIELDS``), so a preset loads into the panel and
the panel turns back into a preset that :func:`config.preset_from_dict` validates: one set of rules
for TOML files, the Python API and the UI.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import bpy
import numpy as np
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    IntVectorProperty,
    StringProperty,
)

from .. import catalog
from ..datasets import RGB_MAPPINGS, TABLE_TASK, TASK_NAMES
from ..preset.config import Preset, PresetError, find_presets, preset_from_dict
from ..preset.limits import AUTO_INSTANCED_ABOVE, DEFAULT_PASS_SHARE
from .session import SESSION, cube_of

# The config reads "none" as None for its optional choices, so the panel can offer it as an item.
NONE = "none"
SETTINGS_SOURCE = "nnviz settings"


# 4.5+ warns about a "//" path unless the property says it may be relative to the .blend; 4.2 lacks the flag.
_BLEND_RELATIVE_PATH = {"PATH_SUPPORTS_BLEND_RELATIVE"} if bpy.app.version >= (4, 5) else set()


def _items(names: Iterable[str]) -> list[tuple[str, str, str]]:
    return [(name, name, "") for name in names]


# Blender keeps only a weak hold on the strings a dynamic enum callback returns: keep them alive here.
_preset_items: list[tuple[str, str, str]] = []


def _shipped_preset_items(_self: Any, _context: Any) -> list[tuple[str, str, str]]:
    _preset_items[:] = [(name, name, str(path)) for name, path in find_presets().items()]
    return _preset_items


def _selected_weight(_settings: Any) -> float:
    """The live value of the active cube's weight (0 when no cube of the built run is active)."""
    cube = cube_of(bpy.context.active_object)
    run = SESSION.run
    if cube is None or run is None or cube[0] not in run.model.parameter_arrays():
        return 0.0
    array = run.model.parameter_arrays()[cube[0]]
    return float(array[cube[1]]) if len(cube[1]) == array.ndim else 0.0


def _set_selected_weight(_settings: Any, value: float) -> None:
    cube = cube_of(bpy.context.active_object)
    if cube is None:
        return
    try:
        SESSION.set_weight(cube[0], cube[1], value)
    except ValueError as error:  # a setter can't report: the panel shows the message
        SESSION.message = str(error)


class NNVIZ_PG_settings(bpy.types.PropertyGroup):
    preset: EnumProperty(name="Preset", description="A shipped preset to load",
                         items=_shipped_preset_items)
    name: StringProperty(name="Name", description="The run's title, shown in the scene", default="nnviz")

    layers: StringProperty(name="Layer sizes", default="3, 3",
                           description="Width of every layer from inputs to outputs, e.g. 2, 16, 16, 1")
    # A preset whose layers are tables (a CNN, say) keeps them here as JSON; the panel shows them
    # read-only, and while set the layer sizes and the keys that shape them don't apply.
    layer_tables: StringProperty(name="Layer tables", default="", options={'HIDDEN'},
                                 description="The preset's layer tables (JSON), shown read-only")
    activation: EnumProperty(name="Hidden activation", items=_items(catalog.ACTIVATIONS), default="tanh")
    output_activation: EnumProperty(name="Output activation", items=_items((NONE, *catalog.OUTPUT_ACTIVATIONS)),
                                    default=NONE)
    norm: EnumProperty(name="Normalisation", items=_items((NONE, *catalog.NORMS)), default=NONE,
                       description="Normalisation after each hidden linear layer")
    dropout: FloatProperty(name="Dropout", min=0.0, max=0.99, default=0.0)

    task: EnumProperty(name="Task", items=_items(TASK_NAMES), default="rgb")
    samples: IntProperty(name="Samples", min=2, default=200, description="Training examples to generate")
    data_seed: IntProperty(name="Data seed", min=0, default=0)
    noise: FloatProperty(name="Noise", min=0.0, max=1.0, default=0.1, description="Jitter of the 2D points")
    mapping: EnumProperty(name="Colour mapping", items=_items(RGB_MAPPINGS), default="complement")
    table_path: StringProperty(name="Table", subtype="FILE_PATH", options=_BLEND_RELATIVE_PATH,
                               description="Your own data: a .csv with a header row, or an .npz of columns")
    table_target: StringProperty(name="Target column", description="The column to predict: whole numbers or "
                                 "text make a classification, real numbers a regression")
    table_features: StringProperty(name="Feature columns", description="Comma-separated column names; "
                                   "empty uses every column but the target")
    standardize: BoolProperty(name="Standardise", default=True,
                              description="Shift and scale each feature by the training split's mean and "
                                          "standard deviation (a table's columns may come on any scale)")
    test_fraction: FloatProperty(name="Test fraction", min=0.0, max=0.95, default=0.0,
                                 description="Held out (seeded by the data seed) for the test loss and accuracy")

    loss: EnumProperty(name="Loss", items=_items(catalog.LOSSES), default="mse")
    optimizer: EnumProperty(name="Optimizer", items=_items(catalog.OPTIMIZERS), default="sgd")
    # Hard minimum 0 (not above): a learning rate of 0 reaches the validator and is reported by name.
    lr: FloatProperty(name="Learning rate", min=0.0, soft_min=1e-4, default=0.1, precision=4, step=1)
    batch_size: IntProperty(name="Batch size", min=1, default=32)
    steps: IntProperty(name="Steps", min=1, default=200)
    record_every: IntProperty(name="Record every", min=1, default=1, description="Keyframe every k steps")
    train_seed: IntProperty(name="Seed", min=0, default=0, description="Seeds the initial weights")
    momentum: FloatProperty(name="Momentum", min=0.0, max=0.999, default=0.0)
    weight_decay: FloatProperty(name="Weight decay", min=0.0, default=0.0, precision=4)
    lr_schedule: EnumProperty(name="Learning rate schedule", items=_items(catalog.LR_SCHEDULES), default="constant",
                              description="Keep the learning rate, or lower it along a half cosine to 0 at the "
                                          "last step")

    color_scale: EnumProperty(name="Colour scale", items=_items(catalog.COLOR_SCALES), default="auto",
                              description="One colour scale for the whole network, one per layer (its 99th "
                                          "percentile |value|), or auto: per layer when the layers' ranges differ")
    color_values: EnumProperty(name="Colour shows", default="value", items=[
        (mode, label, description) for mode, (label, description) in catalog.COLOR_VALUES.items()])
    frames_per_record: IntProperty(name="Frames per record", min=1, default=1)
    magnitude: EnumProperty(name="Cube size", default="none", items=[
        (mode, label, description) for mode, (label, description) in catalog.MAGNITUDES.items()])
    style: EnumProperty(name="Style", items=_items(catalog.STYLES), default="diagram",
                        description="Diagram: flat and face-on; film: lit 3D blocks under a moving camera")
    camera_path: EnumProperty(name="Camera path", items=_items(catalog.CAMERA_PATHS), default="fly-through",
                              description="How the film's camera travels over the run")
    camera_timing: FloatVectorProperty(name="Opening / closing shot", size=2, min=0.0, max=0.45,
                                       default=(0.1, 0.2), precision=2,
                                       description="The film's share spent on its opening and closing shots")
    forward_pass: EnumProperty(name="Forward pass", items=_items(catalog.FORWARD_PASSES), default="none",
                               description="Intro: before and after the run the neurons light up layer by "
                                           "layer; every: also every N records, pausing the run")
    forward_pass_every: IntProperty(name="Pass every (records)", min=1, default=10,
                                    description="With forward pass 'every': a pass every this many records")
    forward_pass_share: FloatProperty(name="Passes' share", min=0.01, max=1.0, default=DEFAULT_PASS_SHARE,
                                      precision=2, description="The most of the film the forward passes take: "
                                                               "past it, fewer passes in the run, then shorter ones")
    motion: EnumProperty(name="Motion", items=_items(catalog.MOTIONS), default="linear",
                         description="Linear steps between records, or smooth (eased) ones")
    cubes: EnumProperty(name="Cubes", default="auto", items=[
        ("auto", "Auto", f"One object per cube up to {AUTO_INSTANCED_ABOVE:,} cubes, instanced above"),
        ("objects", "Objects", "One keyed object per weight: click a cube to see its curve"),
        ("instanced", "Instanced", "One Geometry Nodes object per tensor: fast for big networks"),
    ])
    engine: EnumProperty(name="Render engine", items=_items(catalog.RENDER_ENGINES), default="workbench")
    resolution: IntVectorProperty(name="Resolution", size=2, min=16, default=(1280, 720))
    fps: IntProperty(name="FPS", min=1, default=24)
    quality: EnumProperty(name="Quality", default="final", items=[
        (name, label, description) for name, (label, description) in catalog.RENDER_QUALITIES.items()])
    render_samples: IntProperty(name="Render samples", min=1, default=16,
                                description="Cycles / EEVEE samples")
    weight_value: FloatProperty(name="Value", precision=4, get=_selected_weight, set=_set_selected_weight,
                                description="The selected cube's weight in the live model: editing it sets it")
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
    ("mapping", "data.mapping"), ("table_path", "data.path"), ("table_target", "data.target"),
    ("table_features", "data.features"), ("standardize", "data.standardize"),
    ("test_fraction", "data.test_fraction"),
    ("loss", "train.loss"), ("optimizer", "train.optimizer"), ("lr", "train.lr"),
    ("batch_size", "train.batch_size"), ("steps", "train.steps"), ("record_every", "train.record_every"),
    ("train_seed", "train.seed"), ("momentum", "train.momentum"), ("weight_decay", "train.weight_decay"),
    ("lr_schedule", "train.lr_schedule"),
    ("engine", "render.engine"), ("resolution", "render.resolution"), ("fps", "render.fps"),
    ("frames_per_record", "render.frames_per_record"), ("color_scale", "render.color_scale"),
    ("color_values", "render.color_values"),
    ("magnitude", "render.magnitude"), ("quality", "render.quality"), ("render_samples", "render.samples"),
    ("style", "render.style"), ("camera_path", "render.camera_path"), ("camera_timing", "render.camera_timing"),
    ("motion", "render.motion"), ("forward_pass", "render.forward_pass"),
    ("forward_pass_every", "render.forward_pass_every"), ("forward_pass_share", "render.forward_pass_share"),
    ("cubes", "render.cubes"),
))


TABLE_PROPS = ("table_path", "table_target", "table_features", "standardize")


def applies(settings: NNVIZ_PG_settings, prop: str) -> bool:
    """Whether a setting means anything with the others as they are (the panel hides it otherwise)."""
    if prop == "mapping":
        return settings.task == "rgb"
    if prop in TABLE_PROPS:
        return settings.task == TABLE_TASK
    if prop in ("samples", "noise"):  # a table trains on every row it has
        return settings.task != TABLE_TASK
    if prop == "momentum":
        return settings.optimizer in catalog.MOMENTUM_OPTIMIZERS
    if prop in SIZES_ONLY:
        return not settings.layer_tables
    if prop == "forward_pass_every":
        return settings.style == "film" and settings.forward_pass == "every"
    if prop == "forward_pass_share":
        return settings.style == "film" and settings.forward_pass != "none"
    if prop in ("camera_path", "camera_timing", "forward_pass"):
        return settings.style == "film"
    return True


# the settings that describe a list of layer sizes (a layer-table preset says all of it in its tables)
SIZES_ONLY = ("layers", "activation", "output_activation", "norm", "dropout")


def layer_tables(settings: NNVIZ_PG_settings) -> list[dict[str, Any]]:
    """The loaded preset's layer tables, or [] when its layers are sizes."""
    return json.loads(settings.layer_tables) if settings.layer_tables else []


def describe_table(table: dict[str, Any]) -> str:
    """One layer table as a line of the panel: ``conv2d out=8 kernel=3 padding=1``."""
    return " ".join([table["type"], *(f"{key}={value}" for key, value in table.items() if key != "type")])


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
    if settings.layer_tables:
        data["model"]["layers"] = layer_tables(settings)
    for field in FIELDS:
        if not applies(settings, field.prop):
            continue
        value = getattr(settings, field.prop)
        if field.prop == "layers":
            value = parse_layers(value)
        elif field.prop == "table_features":
            value = [word.strip() for word in value.split(",") if word.strip()]
        elif field.prop == "table_path":
            value = bpy.path.abspath(value) if value else value
        elif field.prop == "resolution":
            value = list(value)
        elif field.prop == "camera_timing":
            value = [decimal_float(share) for share in value]
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


def panel_values(preset: Preset) -> dict[str, Any]:
    """Every panel property's value for ``preset``, each checked to fit its property first.

    A preset the CLI runs may still not fit the panel: Blender's integer properties are 32-bit
    (``steps`` = 2³¹ does not fit), its float properties float32 and some ranges narrower than the
    config's. Such a value is refused by name rather than clamped or half-applied.
    """
    data = preset.to_dict()
    values: dict[str, Any] = {"name": preset.name}
    values["layer_tables"] = json.dumps(data["model"]["layers"]) if preset.model.is_stack else ""
    for field in FIELDS:
        if field.key not in data[field.section]:  # a layer-table preset has no activation, norm, …
            continue
        value = data[field.section][field.key]
        if field.prop == "layers" and preset.model.is_stack:
            continue
        if field.prop in ("layers", "table_features"):
            value = ", ".join(str(item) for item in value)
        elif field.prop == "standardize":  # left unset, it follows the task: the box shows what happens
            value = preset.data.standardizes
        elif value is None:
            value = NONE
        _check_fits(field, value, preset.source)
        values[field.prop] = value
    return values


def _check_fits(field: Field, value: Any, source: str) -> None:
    rna = NNVIZ_PG_settings.bl_rna.properties[field.prop]
    if rna.type not in {'INT', 'FLOAT'}:
        return  # enum items are the catalog's names, strings hold any text
    for number in value if rna.is_array else (value,):
        with np.errstate(over="ignore"):  # a float past float32's range becomes inf: refused below
            stored = float(np.float32(number)) if rna.type == 'FLOAT' else number
        lost = rna.type == 'FLOAT' and (not math.isfinite(stored) or (stored == 0) != (number == 0))
        if lost or not rna.hard_min <= number <= rna.hard_max:
            raise PresetError(f"{field.path} = {number} in {source} does not fit the panel, which holds "
                              f"{rna.hard_min:g} to {rna.hard_max:g}; run it with train.py --preset, or "
                              "change it in the file")


def apply_preset(settings: NNVIZ_PG_settings, preset: Preset) -> None:
    """Show a preset in the panel: every value is checked before any is set, so a preset that
    does not fit leaves the settings as they were."""
    for prop, value in panel_values(preset).items():
        setattr(settings, prop, value)


def describe_error(error: Exception) -> str:
    """The error with the panel label of the setting it is about in front, e.g. ``Learning rate: …``
    (once: an error that already carries its label is left as it is)."""
    message = str(error).removeprefix(f"{SETTINGS_SOURCE}: ")
    for field in FIELDS:
        if message.startswith(f"{field.label}: "):
            return message
    for field in FIELDS:
        if field.path in message:
            return f"{field.label}: {message}"
    return message
