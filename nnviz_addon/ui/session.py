"""The one training run the UI drives, kept in a plain module-level object.

Operators are short-lived (and can't be created at all in the bpy module), so the run lives here,
where the modal Train, the headless ``execute()``, Step, Stop and the panel all find it. It holds no
Blender data, only numpy state: the scene is always reached by name through :mod:`..scene`, so undo
or a deleted cube never leaves a dangling reference behind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import bpy
import numpy as np

from .. import api, scene
from ..history import History
from ..picture import cubes as cube_plan
from ..picture import magnitude
from ..preset.config import Preset, RenderConfig, check_scene_size
from ..scene import objects
from ..scene.options import SceneOptions
from ..training.run import TrainingRun

EDITS_PROPERTY = "nnviz_edits"  # on the root collection: the hand edits in effect when it was built


@dataclass(frozen=True)
class WeightEdit:
    key: str
    index: tuple[int, ...]
    old: float
    new: float


class Session:
    """The current run, the settings it was built from and what the panel shows about it."""

    def __init__(self) -> None:
        self.timer: Any = None  # the window-manager timer while the modal Train runs
        self.stop_requested = False
        self._forget_run()

    def _forget_run(self) -> None:
        self.run: TrainingRun | None = None
        self.preset: Preset | None = None
        self.options: SceneOptions | None = None
        self.scale: dict[str, float] = {}  # History key → |value| at the end of the colour map
        self.one_scale = True  # whether the build coloured every tensor on one scale
        self.origin: dict[str, np.ndarray] = {}  # with color_values = "change": the first record's values
        self.size_scale: dict[str, float] = {}  # History key → the |gradient| or |Δw| drawn full size
        self.shown: dict[str, np.ndarray] = {}  # the values last shown live, for the |Δw| view
        self.keyed_step = 0  # the step the keyframes go up to
        self.message = ""  # the last thing worth telling the user, shown in the panel
        self.edits: list[WeightEdit] = []  # weights set by hand at the current step, for undo and redo
        self.applied = 0  # how many of the edits are in effect (fewer after an undo)

    @property
    def training(self) -> bool:
        return self.timer is not None

    @property
    def unkeyed(self) -> bool:
        """Whether steps were trained since the keyframes were last written."""
        return self.run is not None and self.run.step != self.keyed_step

    def start(self, preset: Preset) -> None:
        """A fresh run at step 0, its cubes built with the initial weights; a scene too big to build
        (:func:`..preset.config.check_scene_size`, as train.py checks it) is refused first."""
        check_scene_size(preset)
        self.run = TrainingRun(preset)  # with the standard probes: neurons and task views, as rendered
        self.preset = preset
        self.options = SceneOptions.from_render_config(preset.render)
        self.message = ""
        self.edits, self.applied = [], 0
        self.keyframe()

    def ensure_run(self, preset: Preset, restart_finished: bool) -> None:
        """Go on with the current run if it was built from ``preset``, else start one."""
        stale = self.run is None or self.preset != preset
        if stale or (restart_finished and self.run.finished):
            self.start(preset)

    def keyframe(self) -> History:
        """Rebuild the cubes with everything trained so far keyframed, so scrubbing replays it."""
        if self.run.step != self.keyed_step:
            self.edits, self.applied = [], 0  # trained on: the hand edits are part of the run now
        return self._build()

    def _build(self) -> History:
        self.run.record_now()
        history = self.run.history()
        api.animate(history, options=self.options, render=self.preset.render)
        self.scale = scene.color_scale_for(history, self.options)
        shown = cube_plan.shown_history(history, self.options.color_values)
        self.one_scale = cube_plan.resolved_scale(shown, self.options.color_scale) == "global"
        self.origin = ({key: values[0] for key, values in history.params.items()}
                       if self.options.color_values == "change" else {})
        # Live sizes start afresh from the keyed run; |Δw| counts from the weights as keyed.
        self.size_scale = {}
        self.shown = {key: value.copy() for key, value in self.run.model.parameter_arrays().items()}
        self.keyed_step = self.run.step
        root = objects.root_collection()
        if root is not None:
            root[EDITS_PROPERTY] = self.applied  # what an undo brings back tells sync_edits where it is
        return history

    def set_weight(self, key: str, index: tuple[int, ...], value: float) -> float:
        """Set one weight or bias of the built run by hand and redraw everything from it (cube colour,
        loss, neurons, task view) without a training step; returns the old value. The cube stays
        selected. Train then goes on from the edited weights."""
        if self.run is None:
            raise ValueError("Build the network first: there is no run whose weights could be set")
        if self.training:
            raise ValueError("Training is running: press Stop (or Esc) first")
        old = self.run.set_parameter(key, index, value)
        del self.edits[self.applied:]
        self.edits.append(WeightEdit(key, tuple(int(i) for i in index), old, float(value)))
        self.applied = len(self.edits)
        self._build()
        select_cube(key, index)
        self.message = f"Set {key}{list(index)} from {old:.4g} to {value:.4g}"
        return old

    def sync_edits(self, applied: int) -> None:
        """Bring the model to ``applied`` hand edits (what an undone or redone scene holds): undo
        restores the scene's data but not the numpy model, so the model follows it here."""
        if (self.run is None or self.run.step != self.keyed_step or applied == self.applied
                or not 0 <= applied <= len(self.edits)):
            return  # nothing to follow, or trained since: the edits are part of the run
        while self.applied > applied:
            self.applied -= 1
            edit = self.edits[self.applied]
            self.run.set_parameter(edit.key, edit.index, edit.old)
        while self.applied < applied:
            edit = self.edits[self.applied]
            self.run.set_parameter(edit.key, edit.index, edit.new)
            self.applied += 1

    def show_live(self) -> None:
        """Colour the cubes with the weights as they are now (no keyframes; fast enough per tick).

        The colour scale only grows (to the largest |value| seen so far, or with a scale per layer to
        each tensor's robust scale), so growing weights don't saturate and the colours don't flicker
        as the maximum moves. With ``color_values = "change"`` the colours show w − w₀.
        """
        values = self.run.model.parameter_arrays()
        colored = {key: array - self.origin[key] if key in self.origin else array for key, array in values.items()}
        if self.one_scale:
            top = max((float(np.max(np.abs(a), initial=0.0)) for a in colored.values()), default=0.0)
            now = dict.fromkeys(colored, top)
        else:
            now = {key: cube_plan.robust_scale([array]) for key, array in colored.items()}
        self.scale = {key: max(self.scale.get(key, 0.0), value) for key, value in now.items()}
        magnitudes = self.live_magnitudes(values)
        if magnitudes:
            now = magnitude.run_scale({key: m[None] for key, m in magnitudes.items()},
                                      "global" if self.one_scale else "layer")
            self.size_scale = {key: max(self.size_scale.get(key, 0.0), value) for key, value in now.items()}
        scene.show_values(colored, self.scale, magnitudes=magnitudes, size_scale=self.size_scale)

    def live_magnitudes(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """What the cubes' sizes show now: each weight's gradient, or its change since last shown."""
        mode = self.options.magnitude
        if mode == "gradient":
            grads = self.run.model.gradient_arrays()
            return {key: np.abs(grads[key]) if grads[key] is not None else np.zeros_like(value)
                    for key, value in values.items()}
        if mode == "update":
            changed = {key: np.abs(value - self.shown[key]) if key in self.shown else np.zeros_like(value)
                       for key, value in values.items()}
            self.shown = {key: value.copy() for key, value in values.items()}
            return changed
        return {}

    def show_history(self, history: History, options: SceneOptions, render: RenderConfig) -> None:
        """Show a recorded run instead of training one."""
        self.discard()
        api.animate(history, options=options, render=render)
        self.message = f"Imported {history.name}: {history.records} records"

    def add_timer(self, window_manager: bpy.types.WindowManager, window: bpy.types.Window) -> None:
        self.timer = window_manager.event_timer_add(0.04, window=window)
        self.stop_requested = False

    def remove_timer(self) -> None:
        if self.timer is not None:
            bpy.context.window_manager.event_timer_remove(self.timer)
        self.timer = None
        self.stop_requested = False

    def discard(self) -> None:
        """Forget the run (a new file, unregistering, an imported history)."""
        self.remove_timer()
        self._forget_run()

    def status(self) -> str:
        """One line about the run: step, loss and accuracy where the task has one."""
        run = self.run
        if run is None:
            return self.message
        parts = [f"Step {run.step}/{run.total_steps}"]
        if run.last_loss is not None and math.isfinite(run.last_loss):
            parts.append(f"loss {run.last_loss:.4g}")
        if run.last_accuracy is not None:
            parts.append(f"accuracy {run.last_accuracy:.0%}")
        return " · ".join(parts)


def cube_of(obj: bpy.types.Object | None) -> tuple[str, tuple[int, ...]] | None:
    """(parameter, index) of a built cube, None for anything else."""
    if obj is None or "nnviz_param" not in obj:
        return None
    index = objects.cube_index(obj)
    return None if index is None else (str(obj["nnviz_param"]), index)


def select_cube(key: str, index: tuple[int, ...]) -> None:
    """Make the cube of ``key[index]`` the only selected object and the active one."""
    root = objects.root_collection()
    view_layer = bpy.context.view_layer
    view_layer.update()  # the rebuilt objects join the view layer's list only when it updates
    for obj in root.all_objects if root is not None else ():
        chosen = cube_of(obj) == (key, tuple(index))
        if obj.name in view_layer.objects:
            obj.select_set(chosen)
        if chosen:
            view_layer.objects.active = obj


SESSION = Session()
