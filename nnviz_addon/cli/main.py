"""Train a preset headless and render the run to MP4 (or animate a saved run): ``train.py``'s run.

    python train.py --preset presets/xor.toml --out out/xor.mp4          # with the bpy module
    blender -b -P train.py -- --preset xor --out out/xor.mp4             # inside Blender
    python train.py --preset xor --no-render --save-history run.npz      # training only (numpy)
    python train.py --history run.npz --out run.mp4                      # render a saved run
    python train.py --checkpoints runs/ckpts --out run.mp4               # render a folder of state_dicts
    python train.py --preset xor --no-render --still xor.png             # one picture (last frame)

Errors end the script with one line, ``nnviz: error: ...``, and a non-zero exit code. A run that
diverges still saves what it recorded (``--save-history``, ``--save-blend``, ``--metrics``) but is not
rendered, and exits with code 1: replay the kept records with ``--history run.npz --out x.mp4``.
``--history`` is only ever read and ``--save-history`` only written, so a saved run is never
replaced by a new one by mistake.
Ctrl-C (SIGINT) or SIGTERM during training stops it after the current step and saves the same way
(exit code 130 or 143); during rendering it stops at the next frame and removes the unfinished file.
Every output replaces an earlier file only once it is complete (see nnviz_addon/history/atomic.py).
bpy is imported only to build or render a scene: ``--no-render`` runs with numpy alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from typing import Any

from .. import api
from ..history import History, atomic, keys
from ..preset.config import PresetError, check_scene_size, frame_range, preset_warnings
from ..training.checkpoints import read_checkpoints
from .arguments import UsageError, outputs, parse_arguments, render_overrides, script_arguments
from .console import frame_chatter_hidden
from .interrupts import Interrupts
from .progress import render_video, training_report


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (``sys.argv`` when None); the process's exit code."""
    # Nothing is registered with Blender here, so there is nothing to unregister before exit.
    try:
        with Interrupts() as interrupts:
            return run(parse_arguments(script_arguments(sys.argv if argv is None else argv)), interrupts)
    except UsageError as error:
        print(f"nnviz: error: {error} (see train.py --help)", file=sys.stderr)
        return 2
    except (PresetError, ValueError, OSError, RuntimeError) as error:
        print(f"nnviz: error: {error}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:
        if error.name != "bpy":
            raise
        print("nnviz: error: animating and rendering need Blender: run blender -b -P train.py -- ARGS, "
              "or pip install bpy (--no-render trains with numpy alone)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nnviz: interrupted", file=sys.stderr)
        return 130


def run(options: argparse.Namespace, interrupts: Interrupts) -> int:
    metrics: dict[str, Any] = {}
    prepare_outputs(options)
    if options.out is not None or options.still is not None:
        from ..scene.render import check_output

        # Before training, not after it.
        if options.out is not None:
            options.out = check_output(options.out)
        if options.still is not None:
            options.still = check_output(options.still, ".png")
    if options.preset is not None:
        history, render_config, stopped = train(options, metrics, interrupts)
        if options.save_history is not None:
            history.save(options.save_history)
            print(f"nnviz: saved the run to {options.save_history}", flush=True)
    else:
        history, render_config = load_history(options)
        stopped = None
    summarise(history, metrics)
    metrics["diverged"] = stopped is not None and stopped[1] == 1
    metrics["interrupted"] = stopped is not None and stopped[1] != 1

    rendering = options.out is not None and stopped is None
    picturing = options.still is not None and stopped is None
    try:
        if rendering or picturing or options.save_blend is not None:
            import bpy

            from ..scene.render import check_frame, save_blend

            bpy.ops.wm.read_homefile(use_empty=True)  # not the startup file's cube, camera and light
            api.animate(history, render=render_config)
            if picturing and options.still_frame is not None:
                check_frame(bpy.context.scene, options.still_frame)  # before any file is written
            if rendering:
                # So the saved .blend renders there. A run that stopped early keeps Blender's default:
                # rendering its .blend later must not overwrite the video at --out.
                bpy.context.scene.render.filepath = str(options.out)
            if options.save_blend is not None:
                save_blend(options.save_blend)
                print(f"nnviz: saved the scene to {options.save_blend}", flush=True)
            if picturing:
                with frame_chatter_hidden():  # its "Saved:" names a temporary file; we name the real one
                    path = api.render_still(options.still, frame=options.still_frame)
                print(f"nnviz: wrote {path}", flush=True)
            if rendering:
                render_video(options.out, metrics)
    finally:
        if options.metrics is not None:
            text = json.dumps(metrics, indent=2) + "\n"
            atomic.write_atomically(options.metrics, lambda partial: partial.write_text(text),
                                    check=lambda partial: json.loads(partial.read_text()))
    if stopped is not None:
        message, code = stopped
        print(f"nnviz: error: {message} (not rendered; the records kept were saved where asked)",
              file=sys.stderr)
        return code
    return 0


def prepare_outputs(options: argparse.Namespace) -> None:
    """Create the folders the outputs go to (``--out out/run.mp4`` in a fresh checkout), refuse
    paths that can't be written before any work is done, and sweep temporaries a killed run left."""
    for option, path in outputs(options).items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"{option} {path}: cannot create its folder ({error.strerror})") from None
        atomic.check_target(path, option)
        for left in atomic.sweep(path.parent):
            print(f"nnviz: removed {left}, left unfinished by a run that was killed", flush=True)


def train(options: argparse.Namespace, metrics: dict[str, Any],
          interrupts: Interrupts) -> tuple[History, Any, tuple[str, int] | None]:
    """Train the preset: (History, RenderConfig, None or why it stopped early and the exit code)."""
    # Every override is validated here, before anything is printed or trained.
    preset = api.resolve_preset(options.preset, steps=options.steps, seed=options.seed)
    render_changes = render_overrides(options)
    if render_changes:
        preset = preset.replace(render=render_changes)
    warnings = preset_warnings(preset)
    if options.out is not None or options.still is not None or options.save_blend is not None:
        warnings += check_scene_size(preset)  # refuses, before training, a scene too big to build
    if options.still_frame is not None:
        check_still_frame(options.still_frame, *frame_range(preset))
    for warning in warnings:
        print(f"nnviz: warning: {warning}", file=sys.stderr, flush=True)
    print(f"nnviz: training {preset.name!r} ({preset.source})", flush=True)
    start = time.perf_counter()
    stopped = None
    interrupts.deferred = True
    try:
        history = api.train(preset, progress=training_report(), stop=interrupts.stop_requested)
    except api.TrainingDiverged as stop:
        history, stopped = stop.history, (str(stop), 1)
    except api.TrainingInterrupted as stop:
        history, stopped = stop.history, (f"{stop} ({interrupts.name})", interrupts.exit_code)
    finally:
        interrupts.deferred = False  # a second signal, while saving, exits at once
    metrics["train_seconds"] = round(time.perf_counter() - start, 3)
    return history, preset.render, stopped


def check_still_frame(frame: int, first: int, last: int) -> None:
    if not first <= frame <= last:
        raise UsageError(f"--still-frame {frame}: outside the run's frames {first}..{last}")


def load_history(options: argparse.Namespace) -> tuple[History, Any]:
    """A saved run (or folder of checkpoints) and its render settings (its preset's, with the command
    line's overrides)."""
    if options.checkpoints is not None:
        history = read_checkpoints(options.checkpoints)
        print(f"nnviz: animating {history.records} checkpoints (steps {history.steps[0]} to {history.steps[-1]}) "
              f"from {options.checkpoints}", flush=True)
    else:
        history = History.load(options.history)
        print(f"nnviz: animating {history.name!r} from {options.history}", flush=True)
    return history, dataclasses.replace(api.render_config_of(history), **render_overrides(options))


def summarise(history: History, metrics: dict[str, Any]) -> None:
    metrics.update(name=history.name, steps=int(history.steps[-1]), records=history.records,
                   final_loss=json_number(history.loss[-1]))
    for name in (keys.ACCURACY, keys.TEST_LOSS, keys.TEST_ACCURACY):  # the last two with a test split
        if name in history.metrics:
            metrics[name] = json_number(history.metrics[name][-1])


def json_number(value: float) -> float | None:
    """JSON has no NaN: a value not known (the initial record's loss) is null."""
    return float(value) if math.isfinite(value) else None
