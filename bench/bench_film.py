"""The film style's frame time beside the diagram's, in one process (bpy).

    .venv/bin/python bench/bench_film.py [preset] [--size 1280x720] [--samples 8]

Trains the preset, then renders its last frame as the diagram (Workbench) and as the film in
Workbench, EEVEE and Cycles, the two Workbench styles interleaved (best of 2 each).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpy

from nnviz_addon import api


def seconds_to_render(history, config, path: Path) -> float:
    api.animate(history, render=config)
    start = time.perf_counter()
    api.render_still(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("preset", nargs="?", default="spiral")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--samples", type=int, default=8)
    options = parser.parse_args()
    size = tuple(int(n) for n in options.size.split("x"))
    bpy.ops.wm.read_homefile(use_empty=True)
    history = api.train(options.preset)
    base = dataclasses.replace(api.render_config_of(history), resolution=size, samples=options.samples)
    variants = {"diagram, workbench": base, "film, workbench": dataclasses.replace(base, style="film")}
    times: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(2):
            for name, config in variants.items():
                times[name].append(seconds_to_render(history, config, Path(folder) / "frame.png"))
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
