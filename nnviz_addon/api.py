"""nnviz from Python: train a preset, animate the run, render it to MP4 (or one frame to PNG).

Three calls, usable from Blender's Python console, a script, or ``python`` with the bpy module::

    from nnviz_addon import api      # installed as an extension: from bl_ext.user_default.nnviz import api

    history = api.train("xor", steps=200)         # a shipped preset's name, a .toml path or a Preset
    api.animate(history)                          # cubes, labels, overlay; every record keyed
    api.render("/tmp/xor.mp4")                    # H.264 MP4 of the scene's frame range
    api.render_still("/tmp/xor.png")              # one frame (default: the last) as a PNG

    history.save("/tmp/xor.npz")                  # ...and later, or elsewhere:
    api.animate("/tmp/xor.npz")
    api.animate("runs/checkpoints/")              # a folder of torch state_dict files, in step order

Training needs only numpy; :func:`animate`, :func:`render` and :func:`render_still` import bpy
when first called.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .history import History
from .preset.config import Preset, PresetError, RenderConfig, find_presets, load_preset, render_config_from_dict
from .training.checkpoints import read_checkpoints
from .training.run import TrainingRun

if TYPE_CHECKING:
    from .scene.options import SceneOptions

__all__ = ["TrainingDiverged", "TrainingInterrupted", "animate", "check_scene", "render", "render_config_of",
           "render_still", "resolve_preset", "train"]


class TrainingDiverged(RuntimeError):
    """Training stopped on a non-finite loss or parameter. ``history`` holds the records kept
    before that (the last good one included), so the run can still be saved or animated."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


class TrainingInterrupted(RuntimeError):
    """Training was asked to stop (``train(..., stop=...)``) before its last step. ``history``
    holds every step trained, the one it stopped at included."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


def resolve_preset(preset: Preset | str | Path, *, steps: int | None = None, seed: int | None = None) -> Preset:
    """A Preset as given, read from a ``.toml`` path, or a shipped preset by name, with ``steps``
    and ``seed`` (when given) replacing its ``[train]`` values, validated.

    Example: ``resolve_preset("xor").train.loss`` is ``"bce"``.
    """
    chosen = _find_preset(preset)
    overrides = {key: value for key, value in (("steps", steps), ("seed", seed)) if value is not None}
    return chosen.replace(train=overrides) if overrides else chosen


def _find_preset(preset: Preset | str | Path) -> Preset:
    if isinstance(preset, Preset):
        return preset
    path = Path(preset)
    if path.exists() or path.suffix == ".toml":
        return load_preset(path)
    shipped = find_presets()
    if str(preset) in shipped:
        return load_preset(shipped[str(preset)])
    raise PresetError(f"no preset {str(preset)!r}: give a .toml file or one of the shipped presets "
                      f"({', '.join(shipped)})")


def train(preset: Preset | str | Path, *, steps: int | None = None, seed: int | None = None,
          progress: Callable[[TrainingRun], object] | None = None,
          stop: Callable[[], bool] | None = None) -> History:
    """Train ``preset`` to the end and return its History.

    ``steps`` and ``seed`` override the preset's ``[train]`` values. ``progress(run)`` is called
    after every record (``run.step``, ``run.last_loss``, ``run.message``). Raises
    :class:`TrainingDiverged`, carrying the records kept, if the loss or a parameter stops being finite.
    ``stop()`` is asked before every step; when it returns True training stops and
    :class:`TrainingInterrupted` carries the records (train.py's Ctrl-C and SIGTERM do this).

    Example::

        history = train("xor", steps=40, seed=1)
        history.steps[-1], history.records            # (40, 11): xor records every 4 steps
        try:
            history = train(my_preset.replace(train={"lr": 1e6}))
        except TrainingDiverged as stop:
            history = stop.history                    # watch it blow up anyway
    """
    chosen = resolve_preset(preset, steps=steps, seed=seed)
    run = TrainingRun(chosen)
    history = run.run(progress, stop)
    if run.interrupted:
        raise TrainingInterrupted(f"{chosen.name}: {run.message}", history)
    if run.diverged:
        raise TrainingDiverged(f"{chosen.name}: {run.message}", history)
    return history


def render_config_of(history: History) -> RenderConfig:
    """The ``[render]`` settings stored with ``history`` (those of the preset it was trained from),
    read from that section alone: the preset's data file need not exist here. The defaults for a run
    recorded without one (e.g. from PyTorch)."""
    stored = history.config.get("render")
    if stored is None:
        return RenderConfig()
    return render_config_from_dict(stored, source=f"the [render] settings stored in {history.name!r}")


def animate(history: History | str | Path, *, options: SceneOptions | None = None,
            render: RenderConfig | None = None) -> None:
    """Build the scene for ``history`` (a History, a ``.npz`` path, or a folder of checkpoints read
    by :func:`~.training.checkpoints.read_checkpoints`) and keyframe every record.

    Replaces any earlier nnviz scene. The scene's output (engine, resolution, fps, MP4) is set from
    ``render`` first — the layout and camera are chosen for its aspect ratio — defaulting to the
    run's own preset's ``[render]`` section; ``options`` (timing, colour scale) default to the same
    section. This is the one build path: ``train.py`` and the panel's Build, Train, Step and Import
    History build through it too, so a resolution chosen anywhere gives the same layout.

    Example::

        animate(train("rgb_perceptron", steps=20))
        animate("runs/xor.npz", options=SceneOptions(frames_per_record=2),
                render=RenderConfig(resolution=(1920, 1080)))
    """
    import bpy

    from . import scene
    from .scene.options import SceneOptions
    from .scene.render import configure_render

    if not isinstance(history, History):
        history = read_checkpoints(history) if Path(history).is_dir() else History.load(history)
    render = render_config_of(history) if render is None else render
    options = SceneOptions.from_render_config(render) if options is None else options
    check_scene(history, options)  # before the scene is touched
    configure_render(bpy.context.scene, render)
    scene.build(history, options)


def check_scene(history: History, options: SceneOptions) -> list[str]:
    """Refuse, before any scene work, a History the scene can't draw (:meth:`History.validate`),
    frames past Blender's last, or more cubes and objects than the chosen writer holds (counted by
    :func:`.picture.census.scene_size`, limited by :func:`.preset.limits.check_scene`, as train.py
    and the panel count a preset). Returns the warnings for a scene that takes minutes to build."""
    import numpy as np

    from .picture import census, film_passes, neurons, task_views
    from .picture.view_layout import Rect
    from .preset import limits

    history.validate()
    # The probe data the neurons and the task view draw, checked by their own (pure numpy) plans:
    # the view planned in a unit box is the same check, at a few milliseconds.
    neurons.column_values(history)
    task_views.plan(history, np.arange(1.0, history.records + 1), Rect(0.0, 0.0, 1.0, 1.0, 0.1))
    frames, _shown, _added = limits.frame_count(history.records, options.frames_per_record, options.style,
                                                options.forward_pass, options.forward_pass_every,
                                                len(film_passes.pass_stages(history)), options.forward_pass_share)
    last = options.frame_start - 1 + frames
    if options.frame_start < 0 or last > limits.MAX_FRAME:
        raise ValueError(f"frames_per_record: {history.records:,} records × {options.frames_per_record} frames from "
                         f"frame {options.frame_start} would end at frame {last:,}; Blender's frames are "
                         f"0..{limits.MAX_FRAME:,}")
    try:
        return limits.check_scene(census.scene_size(history), options.cubes)[1]
    except limits.SceneTooBig as error:
        raise limits.SceneTooBig(f"{history.name}: {error}") from None


def render(path: str | Path, render: RenderConfig | None = None, *, frame_start: int | None = None,
           frame_end: int | None = None, progress: Callable[[int, int], object] | None = None) -> Path:
    """Render the current scene to the MP4 ``path`` and return its absolute path.

    ``render`` (engine, resolution, fps, samples) defaults to the scene's current settings, i.e.
    those :func:`animate` set. The frame range defaults to the scene's. ``progress(done, total)``
    is called after each frame. The file appears only when complete; on any error no partial
    file is left and an existing file at ``path`` is kept.

    Example::

        render("/tmp/run.mp4")
        render("/tmp/run.mp4", RenderConfig(engine="cycles", resolution=(640, 360), samples=8),
               progress=lambda done, total: print(f"frame {done}/{total}"))
    """
    from .scene.render import render_mp4

    return render_mp4(path, render, frame_start=frame_start, frame_end=frame_end, progress=progress)


def render_still(path: str | Path, render: RenderConfig | None = None, *, frame: int | None = None) -> Path:
    """Render one frame of the current scene to the PNG ``path`` and return its absolute path.

    ``frame`` defaults to the scene's last frame (the trained network) and must lie in the scene's
    frame range (a ValueError otherwise); ``render`` as for :func:`render`. The scene's MP4
    settings are kept; the file appears only when complete.

    Example::

        render_still("/tmp/trained.png")
        render_still("/tmp/start.png", frame=1)
    """
    from .scene.render import render_png

    return render_png(path, render, frame=frame)
