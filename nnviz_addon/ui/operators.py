"""The nnviz.* operators: load a preset, build, train (modal or to the end), step, stop, reset, render.

Each operator is a thin driver of :data:`.session.SESSION`. Bad settings never surface as a
traceback: the expected errors (:data:`HANDLED_ERRORS`) are caught at the operator boundary and
reported, with the panel name of the setting where there is one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bpy
from bpy.props import EnumProperty, FloatProperty, IntVectorProperty, StringProperty

from .. import catalog
from ..history import History
from ..preset.config import find_presets, load_preset, render_config_from_dict
from ..scene.options import SceneOptions
from ..scene.render import render_mp4
from . import props
from .session import SESSION

TICK_BUDGET_S = 0.03  # training time per timer event: keeps the viewport responsive
# Expected failures, reported to the user: bad settings or files (PresetError is a ValueError),
# a render that could not finish (RuntimeError).
HANDLED_ERRORS = (ValueError, OSError, RuntimeError)
UNDOABLE = frozenset({'REGISTER', 'UNDO'})  # one undo step per use (a whole training run is one)
AS_PANEL = "PANEL"  # an Import History choice that keeps the panel's value


def reports_errors(method: Callable[[Any, bpy.types.Context], set[str]]) -> Callable[..., set[str]]:
    """Turn an expected error into an ERROR report and a cancelled operator.

    The wrapper keeps the exact ``(self, context)`` signature: Blender counts the arguments.
    """

    @functools.wraps(method)
    def guarded(self: Any, context: bpy.types.Context) -> set[str]:
        try:
            return method(self, context)
        except HANDLED_ERRORS as error:
            self.report({'ERROR'}, props.describe_error(error))
            return {'CANCELLED'}

    return guarded


class IdleOperator:
    """Operators that change the network: unavailable while the modal Train runs."""

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if SESSION.training:
            cls.poll_message_set("Training is running: press Stop (or Esc) first")
            return False
        return True


def _settings(context: bpy.types.Context) -> props.NNVIZ_PG_settings:
    return context.scene.nnviz


class NNVIZ_OT_load_preset(bpy.types.Operator):
    """Load a preset into the settings: the one chosen in the list, or a .toml file"""

    bl_idname = "nnviz.load_preset"
    bl_label = "Load Preset"
    bl_options = UNDOABLE

    filepath: StringProperty(name="File", subtype='FILE_PATH', options={'SKIP_SAVE'},
                             description="Preset file; empty loads the preset chosen in the panel")
    filter_glob: StringProperty(default="*.toml", options={'HIDDEN'})

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if self.filepath:
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {'RUNNING_MODAL'}

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = _settings(context)
        path = Path(bpy.path.abspath(self.filepath)) if self.filepath else find_presets()[settings.preset]
        preset = load_preset(path)
        props.apply_preset(settings, preset)
        self.report({'INFO'}, f"Loaded preset {preset.name!r}")
        return {'FINISHED'}


class NNVIZ_OT_build(IdleOperator, bpy.types.Operator):
    """Build the cubes for the current settings, with the initial weights"""

    bl_idname = "nnviz.build"
    bl_label = "Build"
    bl_options = UNDOABLE

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        SESSION.start(props.to_preset(_settings(context)))
        return {'FINISHED'}


class NNVIZ_OT_reset(IdleOperator, bpy.types.Operator):
    """Back to step 0: the same seed gives the same initial weights"""

    bl_idname = "nnviz.reset"
    bl_label = "Reset"
    bl_options = UNDOABLE

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        # The run's own preset, so edits made since Build don't sneak in; the settings if none yet.
        SESSION.start(SESSION.preset or props.to_preset(_settings(context)))
        return {'FINISHED'}


class NNVIZ_OT_step(IdleOperator, bpy.types.Operator):
    """Train one step and show the new weights"""

    bl_idname = "nnviz.step"
    bl_label = "Step"
    bl_options = UNDOABLE

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        SESSION.ensure_run(props.to_preset(_settings(context)), restart_finished=False)
        run = SESSION.run
        if run.finished:
            self.report({'WARNING'}, f"The run is over ({run.message}); press Reset to start again")
            return {'CANCELLED'}
        run.train_step()
        if run.diverged:
            return finish_training(self, context)
        SESSION.show_live()
        return {'FINISHED'}


class NNVIZ_OT_train(IdleOperator, bpy.types.Operator):
    """Train to the end, showing the weights as they change; Esc or Stop ends it and keeps the keyframes"""

    bl_idname = "nnviz.train"
    bl_label = "Train"
    bl_options = UNDOABLE

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if bpy.app.background or context.window is None:  # timers never fire: train here and now
            return self.execute(context)
        return self.start_modal(context)

    @reports_errors
    def start_modal(self, context: bpy.types.Context) -> set[str]:
        SESSION.ensure_run(props.to_preset(_settings(context)), restart_finished=True)
        SESSION.add_timer(context.window_manager, context.window)
        context.window_manager.modal_handler_add(self)
        return {'RUNNING_MODAL'}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if not SESSION.training:  # the run was discarded under us (a new file, add-on disabled)
            return {'CANCELLED'}
        if SESSION.stop_requested or (event.type == 'ESC' and event.value == 'PRESS'):
            return finish_training(self, context)
        if event.type != 'TIMER':
            return {'PASS_THROUGH'}
        run = SESSION.run
        run.tick(TICK_BUDGET_S)
        if run.finished:
            return finish_training(self, context)
        SESSION.show_live()
        redraw_views(context)
        return {'RUNNING_MODAL'}

    def cancel(self, context: bpy.types.Context) -> None:
        # Blender ends the modal (a new file, quitting): drop the timer, keep the run as it is.
        SESSION.remove_timer()

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        SESSION.ensure_run(props.to_preset(_settings(context)), restart_finished=True)
        SESSION.run.run()
        return finish_training(self, context)


class NNVIZ_OT_stop(bpy.types.Operator):
    """Stop training; everything trained so far stays, keyframed"""

    bl_idname = "nnviz.stop"
    bl_label = "Stop"
    bl_options = UNDOABLE

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return SESSION.run is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        if SESSION.training:
            SESSION.stop_requested = True  # the modal Train sees it on its next event and finishes
            return {'FINISHED'}
        if SESSION.unkeyed:  # steps taken one by one: keyframe them now
            return finish_training(self, context)
        return {'CANCELLED'}


class NNVIZ_OT_render(IdleOperator, bpy.types.Operator):
    """Render the keyframed run to an MP4 at the output path"""

    bl_idname = "nnviz.render"
    bl_label = "Render MP4"
    bl_options = frozenset({'REGISTER'})

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = _settings(context)
        if not settings.output_path:
            raise ValueError("Output: no output path set for the video")
        if settings.output_path.startswith("//") and not bpy.data.filepath:
            # bpy.path.abspath would resolve it against Blender's working directory, wherever that is
            raise ValueError(f"Output: {settings.output_path} is relative to the .blend file, which is not saved "
                             "yet; save the file or choose an absolute path")
        render_config = props.to_preset(settings).render
        if SESSION.unkeyed:  # steps taken one by one since the last keyframes: key them, or they'd be lost
            SESSION.keyframe()
        window_manager = context.window_manager
        window_manager.progress_begin(0, 1)
        try:
            path = render_mp4(bpy.path.abspath(settings.output_path), render_config,
                              progress=lambda done, total: window_manager.progress_update(done / total))
        finally:
            window_manager.progress_end()
        self.report({'INFO'}, f"Rendered {path}")
        return {'FINISHED'}


class NNVIZ_OT_import_history(IdleOperator, bpy.types.Operator):
    """Animate a recorded run (.npz, from nnviz or a PyTorch recording)"""

    bl_idname = "nnviz.import_history"
    bl_label = "Import History"
    bl_options = UNDOABLE

    filepath: StringProperty(name="File", subtype='FILE_PATH', options={'SKIP_SAVE'})
    filter_glob: StringProperty(default="*.npz", options={'HIDDEN'})
    # Shown beside the file browser; "as in the panel" keeps the Display panel's choice.
    color_scale: EnumProperty(name="Colour scale", default=AS_PANEL, items=[
        (AS_PANEL, "As in the panel", "The Display panel's colour scale"),
        *[(name, name, "") for name in catalog.COLOR_SCALES]])
    magnitude: EnumProperty(name="Cube size", default=AS_PANEL, items=[
        (AS_PANEL, "As in the panel", "The Display panel's cube size"),
        *[(mode, label, description) for mode, (label, description) in catalog.MAGNITUDES.items()]])

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if self.filepath:
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {'RUNNING_MODAL'}

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        if not self.filepath:
            raise ValueError("File: choose a history file (.npz) to import")
        history = History.load(bpy.path.abspath(self.filepath))
        # The panel's [render] settings alone: its model and data settings have no say over a saved run.
        render = props.to_preset_dict(_settings(context))["render"]
        render.update({key: getattr(self, key) for key in ("color_scale", "magnitude")
                       if getattr(self, key) != AS_PANEL})
        render_config = render_config_from_dict(render, source=props.SETTINGS_SOURCE)
        SESSION.show_history(history, SceneOptions.from_render_config(render_config), render_config)
        self.report({'INFO'}, SESSION.message)
        return {'FINISHED'}


class NNVIZ_OT_set_weight(IdleOperator, bpy.types.Operator):
    """Set one weight or bias of the built network by hand: the loss, neurons and task view follow at once"""

    bl_idname = "nnviz.set_weight"
    bl_label = "Set Weight"
    bl_options = UNDOABLE

    param: StringProperty(name="Parameter", description="The state_dict name, e.g. 0.weight or 0.bias")
    # Operator arrays have a fixed length: a bias (1-D) is addressed as (i, 0).
    index: IntVectorProperty(name="Index", size=2, min=0,
                             description="(row, column) of a weight; (i, 0) for a bias")
    value: FloatProperty(name="Value")

    @reports_errors
    def execute(self, context: bpy.types.Context) -> set[str]:
        SESSION.set_weight(self.param, parameter_index(self.param, tuple(self.index)), self.value)
        self.report({'INFO'}, SESSION.message)
        return {'FINISHED'}


def parameter_index(key: str, index: tuple[int, ...]) -> tuple[int, ...]:
    """The operator's two-number index as ``key``'s own: (i, 0) → (i,) for a 1-D parameter."""
    run = SESSION.run
    array = None if run is None else run.model.parameter_arrays().get(key)
    if array is not None and array.ndim == 1:
        if index[1] != 0:
            raise ValueError(f"index {index} is out of range for {key!r} of shape {tuple(array.shape)}: "
                             "a 1-D parameter takes (i, 0)")
        return index[:1]
    return index


def finish_training(operator: Any, context: bpy.types.Context) -> set[str]:
    """End a run (done, stopped or diverged): keyframe what was recorded, say how it went.

    A plain function, not a method, so ``modal()`` can be driven with a stand-in ``self``.
    """
    SESSION.remove_timer()
    run = SESSION.run
    SESSION.keyframe()
    if run.finished:  # done or diverged: the run says which
        SESSION.message = run.message[:1].upper() + run.message[1:]
    else:
        SESSION.message = f"Stopped at step {run.step} of {run.total_steps}"
    operator.report({'WARNING'} if run.diverged else {'INFO'}, SESSION.message)
    redraw_views(context)
    return {'FINISHED'}


def redraw_views(context: bpy.types.Context) -> None:
    """Ask the 3D views (cubes and the sidebar) to redraw; there are none in background mode."""
    if context.screen is None:
        return
    for area in context.screen.areas:
        if area.type == 'VIEW_3D':
            area.tag_redraw()


CLASSES = (
    NNVIZ_OT_load_preset,
    NNVIZ_OT_build,
    NNVIZ_OT_reset,
    NNVIZ_OT_step,
    NNVIZ_OT_train,
    NNVIZ_OT_stop,
    NNVIZ_OT_render,
    NNVIZ_OT_import_history,
    NNVIZ_OT_set_weight,
)
