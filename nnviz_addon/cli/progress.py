"""The lines a command-line run prints as it goes: training steps now and then, a video's time
estimate before it renders, and its frames at every tenth of the way."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import api
from .console import frame_chatter_hidden

PROGRESS_INTERVAL_S = 1.0  # between training progress lines
RENDER_REPORTS = 10  # progress lines per render (a frame can take seconds, a step microseconds)


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


def training_report() -> Callable[[Any], None]:
    """A ``progress(run)`` for ``api.train``: the step and loss once a second and at the end, and
    the run's warning (learning nothing, say) when it finishes."""
    due = Every(PROGRESS_INTERVAL_S)

    def report(run: Any) -> None:
        if due(last=run.finished):
            accuracy = "" if run.last_accuracy is None else f"  accuracy {run.last_accuracy:.3f}"
            print(f"nnviz: step {run.step}/{run.total_steps}  loss {run.last_loss:.4g}{accuracy}", flush=True)
        if run.finished and run.warning:
            print(f"nnviz: warning: {run.warning}", file=sys.stderr, flush=True)

    return report


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


def render_video(out: Path, metrics: dict[str, Any]) -> None:
    """Render the built scene to ``out``, saying beforehand about how long it will take and how far
    it is as it goes; its time goes into ``metrics``."""
    import bpy

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
