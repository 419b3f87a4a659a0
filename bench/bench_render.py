"""Draft vs final Workbench frame time, measured in one run on the bpy wheel:
``python bench/bench_render.py [--preset digits] [--frames 6]``.

A preset is trained for a few steps and animated at 1280×720; then frames are rendered (into
memory, not written) alternately at ``render.quality = "final"`` (8 anti-aliasing samples) and
``"draft"`` (FXAA), so machine noise hits both alike. The table shows each quality's median
seconds per frame and the draft's speed-up.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import bpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnviz_addon import api  # noqa: E402
from nnviz_addon.catalog import RENDER_QUALITIES  # noqa: E402
from nnviz_addon.scene.render import configure_render  # noqa: E402

RESOLUTION = (1280, 720)
TRAIN_STEPS = 20  # enough records to animate; the frame time does not depend on them


def seconds_per_frame(preset: str, frames: int) -> dict[str, list[float]]:
    history = api.train(preset, steps=TRAIN_STEPS)
    render = dataclasses.replace(api.render_config_of(history), engine="workbench", resolution=RESOLUTION)
    bpy.ops.wm.read_homefile(use_empty=True)
    api.animate(history, render=render)
    scene = bpy.context.scene
    times: dict[str, list[float]] = {quality: [] for quality in RENDER_QUALITIES}
    for index in range(frames + 1):  # the first round warms up (shaders, caches) and is not counted
        scene.frame_set(scene.frame_start + index % (scene.frame_end - scene.frame_start + 1))
        for quality in RENDER_QUALITIES:
            configure_render(scene, dataclasses.replace(render, quality=quality))
            start = time.perf_counter()
            bpy.ops.render.render(scene=scene.name)
            if index:
                times[quality].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="digits", help="a shipped preset's name or a .toml file")
    parser.add_argument("--frames", type=int, default=6, help="frames timed per quality")
    options = parser.parse_args()
    times = seconds_per_frame(options.preset, options.frames)
    median = {quality: statistics.median(values) for quality, values in times.items()}
    width, height = RESOLUTION
    print(f"\nWorkbench at {width}x{height}, preset {options.preset}, median of {options.frames} frames "
          f"(Blender {bpy.app.version_string})")
    print(f"{'quality':<8} {'s/frame':>8}")
    for quality, seconds in median.items():
        print(f"{quality:<8} {seconds:8.3f}")
    print(f"draft is {median['final'] / median['draft']:.2f}x faster than final")


if __name__ == "__main__":
    main()
