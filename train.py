"""Train a preset headless and render the run to MP4 (or animate a saved run).

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
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

# Find nnviz_addon beside this script, wherever it is run from.
sys.path.insert(0, str(Path(__file__).resolve().parent))

PROGRESS_INTERVAL_S = 1.0  # between training progress lines
RENDER_REPORTS = 10  # progress lines per render (a frame can take seconds, a step microseconds)


class UsageError(ValueError):
    """Bad command-line arguments."""


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def script_arguments(argv: list[str]) -> list[str]:
    """The arguments meant for this script: after ``--`` inside Blender, else all but the name."""
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    bpy = sys.modules.get("bpy")
    if bpy is not None and bpy.app.binary_path:  # real Blender, whose own arguments fill argv
        return []
    return argv[1:]


def parse_arguments(args: list[str]) -> argparse.Namespace:
    from nnviz_addon.catalog import (
        CAMERA_PATHS,
        COLOR_SCALES,
        COLOR_VALUES,
        FORWARD_PASSES,
        MAGNITUDES,
        MOTIONS,
        STYLES,
    )
    from nnviz_addon.preset.limits import WRITERS

    parser = ArgumentParser(prog="train.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", help="a preset .toml file or a shipped preset's name (e.g. xor)")
    parser.add_argument("--out", type=Path, help="the MP4 to render")
    parser.add_argument("--steps", type=int, help="optimiser steps (overrides the preset)")
    parser.add_argument("--seed", type=int, help="training seed (overrides the preset)")
    parser.add_argument("--engine", help="workbench, eevee or cycles (overrides the preset)")
    parser.add_argument("--resolution", type=resolution, help="WIDTHxHEIGHT, e.g. 1280x720")
    parser.add_argument("--fps", type=frame_rate, help="frames per second of the video")
    parser.add_argument("--draft", action="store_true",
                        help="a quick look: Workbench FXAA instead of 8 samples, 4 EEVEE/Cycles samples")
    parser.add_argument("--style", choices=STYLES, help="diagram (flat, face-on) or film (3D, moving camera)")
    parser.add_argument("--camera-path", choices=CAMERA_PATHS, help="the film's camera path")
    parser.add_argument("--forward-pass", choices=FORWARD_PASSES,
                        help="film: none, intro (before and after the run) or every (also every N records)")
    parser.add_argument("--forward-pass-every", type=records_apart, metavar="N",
                        help="film: with --forward-pass every, a pass every N records")
    parser.add_argument("--forward-pass-share", type=share_of_film, metavar="S",
                        help="film: the most of the frames the passes take, in (0, 1] (default 0.25)")
    parser.add_argument("--color-scale", choices=COLOR_SCALES,
                        help="one colour scale for all layers (global), one per layer (layer), or auto")
    parser.add_argument("--color-values", choices=tuple(COLOR_VALUES),
                        help="colour shows each weight's value, or its change since the first record")
    parser.add_argument("--magnitude", choices=tuple(MAGNITUDES),
                        help="what a cube's size shows: none, gradient (|dL/dw|) or update (|dw|)")
    parser.add_argument("--motion", choices=MOTIONS, help="linear or smooth (eased) change between records")
    parser.add_argument("--cubes", choices=WRITERS,
                        help="draw the cubes as one object each, instanced by Geometry Nodes, or auto")
    parser.add_argument("--save-blend", type=Path, metavar="PATH", help="also save the animated scene")
    parser.add_argument("--history", type=Path, metavar="PATH",
                        help="animate this saved run (.npz) instead of training a preset; it is only read")
    parser.add_argument("--checkpoints", type=Path, metavar="DIR",
                        help="animate the folder's state_dict files (.pt, .pth, .ckpt, .safetensors) in step order")
    parser.add_argument("--save-history", type=Path, metavar="PATH", help="write the trained run to this .npz")
    parser.add_argument("--metrics", type=Path, metavar="PATH", help="write a JSON summary of the run")
    parser.add_argument("--no-render", action="store_true", help="train (and save) only, no MP4")
    parser.add_argument("--still", type=Path, metavar="PATH",
                        help="also render one frame to this PNG (the last, or --still-frame)")
    parser.add_argument("--still-frame", type=int, metavar="N", help="the frame --still renders")
    options = parser.parse_args(args)
    sources = [option for option, given in (("--preset", options.preset), ("--history", options.history),
                                            ("--checkpoints", options.checkpoints)) if given is not None]
    if not sources:
        raise UsageError("give --preset (a .toml file or a shipped preset's name), --history RUN.npz "
                         "to animate a saved run, or --checkpoints DIR to animate a folder of checkpoints")
    if options.preset is not None and options.history is not None:
        raise UsageError(f"--preset trains a new run and --history {options.history} animates a saved one; give "
                         f"one of them (to keep the new run, name its file with --save-history PATH)")
    if len(sources) > 1:
        raise UsageError(f"{' and '.join(sources)} each name the run to animate; give one")
    if options.history is not None and not options.history.is_file():
        raise UsageError(f"--history {options.history}: no such file")
    if options.checkpoints is not None and not options.checkpoints.is_dir():
        raise UsageError(f"--checkpoints {options.checkpoints}: no such folder")
    if options.preset is None:
        if options.save_history is not None:
            raise UsageError("--save-history needs --preset: it writes the run --preset trains")
        if options.steps is not None or options.seed is not None:
            raise UsageError("--steps and --seed need --preset: a saved run is animated, not retrained")
    if options.out is None and not options.no_render:
        raise UsageError("give --out VIDEO.mp4, or --no-render to train without rendering")
    if options.out is not None and options.no_render:
        raise UsageError("--out and --no-render contradict each other; give one")
    if options.still_frame is not None and options.still is None:
        raise UsageError("--still-frame needs --still PATH.png")
    return options


def outputs(options: argparse.Namespace) -> dict[str, Path]:
    """The files this run writes, by option (``--out``)."""
    chosen = {f"--{name.replace('_', '-')}": getattr(options, name)
              for name in ("out", "still", "save_history", "metrics", "save_blend")}
    return {option: path for option, path in chosen.items() if path is not None}


def prepare_outputs(options: argparse.Namespace) -> None:
    """Create the folders the outputs go to (``--out out/run.mp4`` in a fresh checkout), refuse
    paths that can't be written before any work is done, and sweep temporaries a killed run left."""
    from nnviz_addon.history import atomic

    for option, path in outputs(options).items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"{option} {path}: cannot create its folder ({error.strerror})") from None
        atomic.check_target(path, option)
        for left in atomic.sweep(path.parent):
            print(f"nnviz: removed {left}, left unfinished by a run that was killed", flush=True)


class Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM.

    While training (``deferred``) a signal only asks training to stop after the current step, so
    the records kept are saved as a diverged run's are. At any other time — building the scene,
    saving, rendering, where Blender's render loop runs Python only between frames and ignores
    what a handler raises — the temporaries being written are removed and the process exits at
    once with 128 + the signal's number; the earlier outputs stay as they were.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: int | None = None
        self.deferred = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        self._previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}
        return self

    def __exit__(self, *_exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def stop_requested(self) -> bool:
        return self.received is not None

    @property
    def exit_code(self) -> int:
        return 128 + (self.received or 0)

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received else ""

    def _handle(self, number: int, _frame: Any) -> None:
        self.received = number
        if self.deferred:
            return
        from nnviz_addon.cli.console import write_to_real_stderr
        from nnviz_addon.history import atomic

        removed = ", ".join(str(path) for path in atomic.remove_temporaries()) or "nothing unfinished"
        sys.stderr.flush()
        write_to_real_stderr(f"nnviz: error: stopped by {self.name}; removed {removed}; earlier files are kept")
        os._exit(self.exit_code)  # the only way out of Blender's render loop; nothing is left to save


def resolution(text: str) -> tuple[int, int]:
    from nnviz_addon.preset.config import PresetError, check_resolution

    width, x, height = text.lower().partition("x")
    if not (x and width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT (e.g. 1280x720)")
    try:
        check_resolution(int(width), int(height))
    except PresetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return int(width), int(height)


def records_apart(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of records >= 1")
    return int(text)


def share_of_film(text: str) -> float:
    try:
        share = float(text)
    except ValueError:
        share = math.nan
    if not 0 < share <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share of the film in (0, 1]")
    return share


def frame_rate(text: str) -> int:
    from nnviz_addon.preset.config import PresetError, check_fps

    try:
        fps = int(text)
        check_fps(fps)
    except ValueError as error:  # PresetError is one
        raise argparse.ArgumentTypeError(str(error) if isinstance(error, PresetError)
                                         else f"{text!r} is not a whole number") from None
    return fps


class Every:
    """Lets through one call per ``interval`` seconds (and any call marked ``last``)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.next_time = 0.0

    def __call__(self, last: bool = False) -> bool:
        now = time.monotonic()
        if last or now >= self.next_time:
            self.next_time = now + self.interval
            return True
        return False


def render_overrides(options: argparse.Namespace) -> dict[str, Any]:
    chosen = {"engine": options.engine, "resolution": options.resolution, "fps": options.fps,
              "quality": "draft" if options.draft else None,
              "style": options.style, "camera_path": options.camera_path, "motion": options.motion,
              "forward_pass": options.forward_pass, "forward_pass_every": options.forward_pass_every,
              "forward_pass_share": options.forward_pass_share,
              "cubes": options.cubes, "color_scale": options.color_scale, "color_values": options.color_values,
              "magnitude": options.magnitude}
    return {key: value for key, value in chosen.items() if value is not None}


def train(options: argparse.Namespace, metrics: dict[str, Any],
          interrupts: Interrupts) -> tuple[Any, Any, tuple[str, int] | None]:
    """Train the preset: (History, RenderConfig, None or why it stopped early and the exit code)."""
    from nnviz_addon import api

    # Every override is validated here, before anything is printed or trained.
    preset = api.resolve_preset(options.preset, steps=options.steps, seed=options.seed)
    render_changes = render_overrides(options)
    if render_changes:
        preset = preset.replace(render=render_changes)
    due = Every(PROGRESS_INTERVAL_S)

    def report(run: Any) -> None:
        if due(last=run.finished):
            accuracy = "" if run.last_accuracy is None else f"  accuracy {run.last_accuracy:.3f}"
            print(f"nnviz: step {run.step}/{run.total_steps}  loss {run.last_loss:.4g}{accuracy}", flush=True)
        if run.finished and run.warning:
            print(f"nnviz: warning: {run.warning}", file=sys.stderr, flush=True)

    from nnviz_addon.preset.config import check_scene_size, frame_range, preset_warnings

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
        history = api.train(preset, progress=report, stop=interrupts.stop_requested)
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


def load_history(options: argparse.Namespace) -> tuple[Any, Any]:
    """A saved run (or folder of checkpoints) and its render settings (its preset's, with the command
    line's overrides)."""
    from nnviz_addon import api
    from nnviz_addon.history import History
    from nnviz_addon.training.checkpoints import read_checkpoints

    if options.checkpoints is not None:
        history = read_checkpoints(options.checkpoints)
        print(f"nnviz: animating {history.records} checkpoints (steps {history.steps[0]} to {history.steps[-1]}) "
              f"from {options.checkpoints}", flush=True)
    else:
        history = History.load(options.history)
        print(f"nnviz: animating {history.name!r} from {options.history}", flush=True)
    return history, dataclasses.replace(api.render_config_of(history), **render_overrides(options))


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 2 min``: a time left, as a person reads it."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    return f"{minutes // 60} h {minutes % 60} min"


def first_frame_seconds(scene: Any) -> float:
    """How long the scene's first frame takes to render (into Blender's render result, no file): the
    estimate of a frame's cost printed before a video starts. It includes the render engine's
    one-off start-up, so short videos are estimated a little long."""
    import bpy

    current = scene.frame_current
    scene.frame_set(scene.frame_start)
    start = time.perf_counter()
    bpy.ops.render.render()
    seconds = time.perf_counter() - start
    scene.frame_set(current)
    return seconds


def render(out: Path, metrics: dict[str, Any]) -> None:
    import bpy

    from nnviz_addon import api
    from nnviz_addon.cli.console import frame_chatter_hidden

    scene = bpy.context.scene
    frames = scene.frame_end - scene.frame_start + 1
    with frame_chatter_hidden():
        one_frame = first_frame_seconds(scene)
    print(f"nnviz: rendering {frames} frames at {scene.render.resolution_x}×{scene.render.resolution_y} "
          f"({scene.render.engine.removeprefix('BLENDER_').lower()}): about {duration(one_frame * frames)} "
          f"(a trial frame took {one_frame:.1f} s)", flush=True)

    def report(done: int, total: int) -> None:
        if done == 1 or done * RENDER_REPORTS // total != (done - 1) * RENDER_REPORTS // total:
            spent = time.perf_counter() - start
            left = "" if done == total else f", about {duration(spent / done * (total - done))} left"
            print(f"nnviz: frame {done}/{total}  ({duration(spent)} so far{left})", file=progress, flush=True)

    start = time.perf_counter()
    with frame_chatter_hidden() as progress:  # Blender's line per frame and EGL's noise would bury ours
        path = api.render(out, progress=report)
    metrics["render_seconds"] = round(time.perf_counter() - start, 3)
    print(f"nnviz: wrote {path}", flush=True)


def summarise(history: Any, metrics: dict[str, Any]) -> None:
    metrics.update(name=history.name, steps=int(history.steps[-1]), records=history.records,
                   final_loss=json_number(history.loss[-1]))
    for name in ("accuracy", "test_loss", "test_accuracy"):  # the last two with a test split
        if name in history.metrics:
            metrics[name] = json_number(history.metrics[name][-1])


def json_number(value: float) -> float | None:
    """JSON has no NaN: a value not known (the initial record's loss) is null."""
    return float(value) if math.isfinite(value) else None


def run(options: argparse.Namespace, interrupts: Interrupts) -> int:
    from nnviz_addon.history.atomic import write_atomically

    metrics: dict[str, Any] = {}
    prepare_outputs(options)
    if options.out is not None or options.still is not None:
        from nnviz_addon.scene.render import check_output

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

            from nnviz_addon import api
            from nnviz_addon.scene.render import save_blend

            bpy.ops.wm.read_homefile(use_empty=True)  # not the startup file's cube, camera and light
            api.animate(history, render=render_config)
            if picturing and options.still_frame is not None:
                from nnviz_addon.scene.render import check_frame

                check_frame(bpy.context.scene, options.still_frame)  # before any file is written
            if rendering:
                # So the saved .blend renders there. A run that stopped early keeps Blender's default:
                # rendering its .blend later must not overwrite the video at --out.
                bpy.context.scene.render.filepath = str(options.out)
            if options.save_blend is not None:
                save_blend(options.save_blend)
                print(f"nnviz: saved the scene to {options.save_blend}", flush=True)
            if picturing:
                from nnviz_addon.cli.console import frame_chatter_hidden

                with frame_chatter_hidden():  # its "Saved:" names a temporary file; we name the real one
                    path = api.render_still(options.still, frame=options.still_frame)
                print(f"nnviz: wrote {path}", flush=True)
            if rendering:
                render(options.out, metrics)
    finally:
        if options.metrics is not None:
            text = json.dumps(metrics, indent=2) + "\n"
            write_atomically(options.metrics, lambda partial: partial.write_text(text),
                             check=lambda partial: json.loads(partial.read_text()))
    if stopped is not None:
        message, code = stopped
        print(f"nnviz: error: {message} (not rendered; the records kept were saved where asked)",
              file=sys.stderr)
        return code
    return 0


def main(argv: list[str] | None = None) -> int:
    # Nothing is registered with Blender here, so there is nothing to unregister before exit.
    from nnviz_addon.preset.config import PresetError

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


if __name__ == "__main__":
    sys.exit(main())
