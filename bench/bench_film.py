"""The film style's frame time beside the diagram's.

    .venv/bin/python bench/bench_film.py [preset] [--size 1280x720] [--samples 8] [--rounds 3] [--skip-big]

Trains the preset, then renders its last frame as the diagram (Workbench) and as the film in
Workbench (with its shadows, and without them for comparison), EEVEE and Cycles, in one process,
the Workbench variants interleaved (best of 2 each).

Then a big network (issue #20: target ≤ 3×): a 784-128-10 (101,770 parameters, drawn instanced)
recorded from torch for 5 records, and the whole command a user runs for its last frame,
``train.py --history run.npz --no-render --still x.png --resolution …``, as the diagram and with
``--style film``, each in its own process and with the CLI's default engine (Workbench),
interleaved over ``--rounds`` rounds.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpy

from nnviz_addon import api

ROOT = Path(__file__).resolve().parents[1]
BIG_TARGET = 3.0  # issue #20: the big network's film still at most this many times the diagram's


def seconds_to_render(history, config, path: Path, shadows: bool = True) -> float:
    api.animate(history, render=config)
    if not shadows:
        bpy.context.scene.display.shading.show_shadows = False
    start = time.perf_counter()
    api.render_still(path)
    return time.perf_counter() - start


def whole_command_seconds(history: Path, style: str, size: str, png: Path) -> float:
    """Wall seconds of ``train.py`` rendering ``history``'s last frame in ``style``, as a user runs it."""
    command = [sys.executable, str(ROOT / "train.py"), "--history", str(history), "--no-render",
               "--still", str(png), "--resolution", size, "--style", style]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"train.py --style {style} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def bench_big_network(size: str, rounds: int) -> None:
    """The 784-128-10's still, diagram vs film, whole commands interleaved (see the docstring)."""
    from bench_big import recorded_mlp

    times: dict[str, list[float]] = {"diagram": [], "film": []}
    with tempfile.TemporaryDirectory() as folder:
        history = Path(folder) / "mnist.npz"
        recorded_mlp((784, 128, 10), records=5).save(history)
        for _ in range(rounds):
            for style, runs in times.items():
                runs.append(whole_command_seconds(history, style, size, Path(folder) / f"{style}.png"))
                print(f"  {style}: {runs[-1]:.1f} s (load average {os.getloadavg()[0]:.1f})", flush=True)
    best = {style: min(runs) for style, runs in times.items()}
    median = {style: statistics.median(runs) for style, runs in times.items()}
    ratio = best["film"] / best["diagram"]
    print(f"784-128-10 (101,770 parameters, instanced), last frame at {size}, the whole train.py command, "
          f"{rounds} rounds:")
    print("| style | best s | median s |")
    print("|---|---:|---:|")
    for style in times:
        print(f"| {style} | {best[style]:.1f} | {median[style]:.1f} |")
    print(f"film vs diagram: {ratio:.2f}x best, {median['film'] / median['diagram']:.2f}x median "
          f"(target <= {BIG_TARGET:g}x: {'met' if ratio <= BIG_TARGET else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("preset", nargs="?", default="spiral")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="the big network's interleaved rounds")
    parser.add_argument("--skip-big", action="store_true", help="the preset's table only")
    parser.add_argument("--big-only", action="store_true", help="the big network only")
    options = parser.parse_args()
    if not options.big_only:
        bench_preset(options)
    if not options.skip_big:
        bench_big_network(options.size, options.rounds)


def bench_preset(options: argparse.Namespace) -> None:
    """The preset's last frame as the diagram and the film's variants, in this process."""
    size = tuple(int(n) for n in options.size.split("x"))
    bpy.ops.wm.read_homefile(use_empty=True)
    history = api.train(options.preset)
    base = dataclasses.replace(api.render_config_of(history), resolution=size, samples=options.samples)
    film = dataclasses.replace(base, style="film")
    variants = {"diagram, workbench": (base, True), "film, workbench": (film, True),
                "film, workbench, no shadows": (film, False)}
    times: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(2):
            for name, (config, shadows) in variants.items():
                times[name].append(seconds_to_render(history, config, Path(folder) / "frame.png", shadows))
        for engine in ("eevee", "cycles"):
            config = dataclasses.replace(base, style="film", engine=engine)
            times[f"film, {engine} ({options.samples} samples)"] = [
                seconds_to_render(history, config, Path(folder) / "frame.png")]
    diagram = min(times["diagram, workbench"])
    print(f"{options.preset} at {options.size}, last frame, best of the runs:")
    print("| style, engine | s/frame | vs diagram |")
    print("|---|---:|---:|")
    for name, runs in times.items():
        print(f"| {name} | {min(runs):.2f} | {min(runs) / diagram:.2f}x |")


if __name__ == "__main__":
    main()
