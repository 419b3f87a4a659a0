"""The command line's arguments: parsed, and checked together before any work is done.

Every refusal is a :class:`UsageError`, one line naming the option (``main`` prints it and the
hint to ``--help``); argparse's own complaints are turned into one too, instead of its exit.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, NoReturn

from ..catalog import CAMERA_PATHS, COLOR_SCALES, COLOR_VALUES, FORWARD_PASSES, MAGNITUDES, MOTIONS, STYLES
from ..preset.config import PresetError, check_fps, check_resolution
from ..preset.limits import WRITERS

DESCRIPTION = "Train a preset headless and render the run to MP4 (or animate a saved run)."


class UsageError(ValueError):
    """Bad command-line arguments."""


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def script_arguments(argv: list[str]) -> list[str]:
    """The arguments meant for the script: after ``--`` inside Blender, else all but the name."""
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    bpy = sys.modules.get("bpy")
    if bpy is not None and bpy.app.binary_path:  # real Blender, whose own arguments fill argv
        return []
    return argv[1:]


def parse_arguments(args: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(prog="train.py", description=DESCRIPTION)
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
    _check_together(options)
    return options


def _check_together(options: argparse.Namespace) -> None:
    """The options that need or exclude each other."""
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


def resolution(text: str) -> tuple[int, int]:
    width, x, height = text.lower().partition("x")
    if not (x and width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT (e.g. 1280x720)")
    try:
        check_resolution(int(width), int(height))
    except PresetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return int(width), int(height)


def share_of_film(text: str) -> float:
    try:
        share = float(text)
    except ValueError:
        share = math.nan
    if not 0 < share <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share of the film in (0, 1]")
    return share


def records_apart(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of records >= 1")
    return int(text)


def frame_rate(text: str) -> int:
    try:
        fps = int(text)
        check_fps(fps)
    except ValueError as error:  # PresetError is one
        raise argparse.ArgumentTypeError(str(error) if isinstance(error, PresetError)
                                         else f"{text!r} is not a whole number") from None
    return fps


def render_overrides(options: argparse.Namespace) -> dict[str, Any]:
    """The ``[render]`` keys the command line sets (those it leaves out keep the preset's)."""
    chosen = {"engine": options.engine, "resolution": options.resolution, "fps": options.fps,
              "quality": "draft" if options.draft else None,
              "style": options.style, "camera_path": options.camera_path, "motion": options.motion,
              "forward_pass": options.forward_pass, "forward_pass_every": options.forward_pass_every,
              "forward_pass_share": options.forward_pass_share,
              "cubes": options.cubes, "color_scale": options.color_scale, "color_values": options.color_values,
              "magnitude": options.magnitude}
    return {key: value for key, value in chosen.items() if value is not None}


def outputs(options: argparse.Namespace) -> dict[str, Path]:
    """The files this run writes, by option (``--out``)."""
    chosen = {f"--{name.replace('_', '-')}": getattr(options, name)
              for name in ("out", "still", "save_history", "metrics", "save_blend")}
    return {option: path for option, path in chosen.items() if path is not None}
