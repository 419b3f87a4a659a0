"""Train a preset headless and render the run to MP4 (or animate a saved run).

    python train.py --preset presets/xor.toml --out out/xor.mp4          # with the bpy module
    blender -b -P train.py -- --preset xor --out out/xor.mp4             # inside Blender
    python train.py --preset xor --no-render --history run.npz           # training only (numpy)
    python train.py --history run.npz --out run.mp4                      # render a saved run
    python train.py --preset xor --no-render --still xor.png             # one picture (last frame)

Errors end the script with one line, ``nnviz: error: ...``, and a non-zero exit code. A run that
diverges still saves what it recorded (``--history``, ``--save-blend``, ``--metrics``) but is not
rendered, and exits with code 1: replay the kept records with ``--history run.npz --out x.mp4``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

# Find nnviz_addon beside this script, wherever it is run from.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from nnviz_addon.config import CUBE_WRITERS

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
    parser = ArgumentParser(prog="train.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", help="a preset .toml file or a shipped preset's name (e.g. xor)")
    parser.add_argument("--out", type=Path, help="the MP4 to render")
    parser.add_argument("--steps", type=int, help="optimiser steps (overrides the preset)")
    parser.add_argument("--seed", type=int, help="training seed (overrides the preset)")
    parser.add_argument("--engine", help="workbench, eevee or cycles (overrides the preset)")
    parser.add_argument("--resolution", type=resolution, help="WIDTHxHEIGHT, e.g. 1280x720")
    parser.add_argument("--fps", type=int, help="frames per second of the video")
    parser.add_argument("--cubes", choices=CUBE_WRITERS,
                        help="draw the cubes as one object each, instanced by Geometry Nodes, or auto")
    parser.add_argument("--save-blend", type=Path, metavar="PATH", help="also save the animated scene")
    parser.add_argument("--history", type=Path, metavar="PATH",
                        help="write the recorded run to this .npz; without --preset, animate this saved run")
    parser.add_argument("--metrics", type=Path, metavar="PATH", help="write a JSON summary of the run")
    parser.add_argument("--no-render", action="store_true", help="train (and save) only, no MP4")
    parser.add_argument("--still", type=Path, metavar="PATH",
                        help="also render one frame to this PNG (the last, or --still-frame)")
    parser.add_argument("--still-frame", type=int, metavar="N", help="the frame --still renders")
    options = parser.parse_args(args)
    if options.preset is None and options.history is None:
        raise UsageError("give --preset (a .toml file or a shipped preset's name), or --history RUN.npz "
                         "to animate a saved run")
    if options.preset is None:
        if not options.history.is_file():
            raise UsageError(f"--history {options.history}: no such file (without --preset it is read)")
        if options.steps is not None or options.seed is not None:
            raise UsageError("--steps and --seed need --preset: a saved run is animated, not retrained")
    if options.out is None and not options.no_render:
        raise UsageError("give --out VIDEO.mp4, or --no-render to train without rendering")
    if options.out is not None and options.no_render:
        raise UsageError("--out and --no-render contradict each other; give one")
    if options.still_frame is not None and options.still is None:
        raise UsageError("--still-frame needs --still PATH.png")
    return options


def make_parent_directories(options: argparse.Namespace) -> None:
    """Create the folders the outputs go to (``--out out/run.mp4`` in a fresh checkout)."""
    for name in ("out", "still", "history", "metrics", "save_blend"):
        path = getattr(options, name)
        if name == "history" and options.preset is None:
            continue  # read, not written
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise UsageError(f"--{name.replace('_', '-')} {path}: cannot create its folder "
                                 f"({error.strerror})") from None


def resolution(text: str) -> tuple[int, int]:
    width, x, height = text.lower().partition("x")
    if not (x and width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT (e.g. 1280x720)")
    return int(width), int(height)


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
              "cubes": options.cubes}
    return {key: value for key, value in chosen.items() if value is not None}


def train(options: argparse.Namespace, metrics: dict[str, Any]) -> tuple[Any, Any, str | None]:
    """Train the preset: (History, RenderConfig, divergence message or None)."""
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

    print(f"nnviz: training {preset.name!r} ({preset.source})", flush=True)
    start = time.perf_counter()
    diverged = None
    try:
        history = api.train(preset, progress=report)
    except api.TrainingDiverged as stop:
        history, diverged = stop.history, str(stop)
    metrics["train_seconds"] = round(time.perf_counter() - start, 3)
    return history, preset.render, diverged


def load_history(options: argparse.Namespace) -> tuple[Any, Any]:
    """A saved run and its render settings (its preset's, with the command line's overrides)."""
    from nnviz_addon import api
    from nnviz_addon.history import History

    history = History.load(options.history)
    print(f"nnviz: animating {history.name!r} from {options.history}", flush=True)
    return history, dataclasses.replace(api.render_config_of(history), **render_overrides(options))


def render(out: Path, metrics: dict[str, Any]) -> None:
    from nnviz_addon import api

    def report(done: int, total: int) -> None:
        if done == 1 or done * RENDER_REPORTS // total != (done - 1) * RENDER_REPORTS // total:
            print(f"nnviz: frame {done}/{total}", flush=True)

    start = time.perf_counter()
    path = api.render(out, progress=report)
    metrics["render_seconds"] = round(time.perf_counter() - start, 3)
    print(f"nnviz: wrote {path}", flush=True)


def summarise(history: Any, metrics: dict[str, Any]) -> None:
    metrics.update(name=history.name, steps=int(history.steps[-1]), records=history.records,
                   final_loss=json_number(history.loss[-1]))
    if "accuracy" in history.metrics:
        metrics["accuracy"] = json_number(history.metrics["accuracy"][-1])


def json_number(value: float) -> float | None:
    """JSON has no NaN: a value not known (the initial record's loss) is null."""
    return float(value) if math.isfinite(value) else None


def run(options: argparse.Namespace) -> int:
    metrics: dict[str, Any] = {}
    make_parent_directories(options)
    if options.out is not None or options.still is not None:
        from nnviz_addon.scene.render import check_output

        # Before training, not after it.
        if options.out is not None:
            options.out = check_output(options.out)
        if options.still is not None:
            options.still = check_output(options.still, ".png")
    if options.preset is not None:
        history, render_config, diverged = train(options, metrics)
        if options.history is not None:
            history.save(options.history)
            print(f"nnviz: saved the run to {options.history}", flush=True)
    else:
        history, render_config = load_history(options)
        diverged = None
    summarise(history, metrics)
    metrics["diverged"] = diverged is not None

    rendering = options.out is not None and diverged is None
    picturing = options.still is not None and diverged is None
    try:
        if rendering or picturing or options.save_blend is not None:
            import bpy

            from nnviz_addon import api

            bpy.ops.wm.read_homefile(use_empty=True)  # not the startup file's cube, camera and light
            api.animate(history, render=render_config)
            if picturing and options.still_frame is not None:
                from nnviz_addon.scene.render import check_frame

                check_frame(bpy.context.scene, options.still_frame)  # before any file is written
            if options.out is not None:
                bpy.context.scene.render.filepath = str(options.out)  # so the saved .blend renders there
            if options.save_blend is not None:
                bpy.ops.wm.save_as_mainfile(filepath=str(options.save_blend.absolute()), check_existing=False)
                print(f"nnviz: saved the scene to {options.save_blend}", flush=True)
            if picturing:
                path = api.render_still(options.still, frame=options.still_frame)
                print(f"nnviz: wrote {path}", flush=True)
            if rendering:
                render(options.out, metrics)
    finally:
        if options.metrics is not None:
            options.metrics.write_text(json.dumps(metrics, indent=2) + "\n")
    if diverged is not None:
        print(f"nnviz: error: {diverged} (not rendered; the records kept were saved where asked)",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    # Nothing is registered with Blender here, so there is nothing to unregister before exit.
    from nnviz_addon.config import PresetError

    try:
        return run(parse_arguments(script_arguments(sys.argv if argv is None else argv)))
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
