"""The film style's frame time beside the diagram's, in one process (bpy).

    .venv/bin/python bench/bench_film.py [preset] [--size 1280x720] [--samples 8]

Trains the preset, then renders its last frame as the diagram (Workbench) and as the film in
Workbench (with its shadows, and without them for comparison), EEVEE and Cycles, the Workbench
variants interleaved (best of 2 each).
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


def seconds_to_render(history, config, path: Path, shadows: bool = True) -> float:
    api.animate(history, render=config)
    if not shadows:
        bpy.context.scene.display.shading.show_shadows = False
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
