"""Shared fixtures."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed-seed generator so every test draws the same data each run."""
    return np.random.default_rng(12345)


@pytest.fixture
def hang_guard() -> Iterator[Callable[[float], None]]:
    """``hang_guard(seconds)``: a fuzz test that runs longer ends the whole process with every
    thread's traceback (faulthandler), so a hang fails CI loudly rather than stalling it. Hypothesis'
    own deadlines are per example and off in the fuzz tests: a machine under load made them flaky."""
    import faulthandler

    # sys.__stderr__: a test capturing its output (capsys) has replaced sys.stderr with a file without fileno
    yield lambda seconds: faulthandler.dump_traceback_later(seconds, exit=True, file=sys.__stderr__)
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def empty_blend() -> None:
    """A factory-fresh, empty Blender file for a test that builds in it (needs bpy)."""
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.fixture
def settings(empty_blend):
    """An empty Blender with nnviz registered; yields ``scene.nnviz`` and unregisters after
    (a class left registered makes bpy 4.2 crash and 4.5 hang at exit)."""
    bpy = pytest.importorskip("bpy")
    import nnviz_addon

    nnviz_addon.register()
    try:
        yield bpy.context.scene.nnviz
    finally:
        nnviz_addon.unregister()


@dataclass(frozen=True)
class RenderedRun:
    """What ``train.py`` left after training xor for 16 steps and rendering it to MP4."""

    folder: Path  # holds out/xor.mp4, run.npz (--history) and m.json (--metrics)
    video: Path
    result: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def rendered_run(tmp_path_factory) -> Callable[[str], RenderedRun]:
    """``rendered_run(engine)``: the session's one full MP4 render with that engine, made by
    ``train.py`` on first use (a subprocess: without EGL, Workbench aborts the whole process) and
    shared by every test that checks a finished video, so each engine renders once."""
    renders: dict[str, RenderedRun] = {}

    def render(engine: str) -> RenderedRun:
        if engine not in renders:
            folder = tmp_path_factory.mktemp(f"rendered-{engine}")
            video = folder / "out" / "xor.mp4"  # the folder is made, as in the README's command
            # One EEVEE / Cycles sample: 16 make the EEVEE video take minutes on a CPU-only machine.
            preset = folder.parent / f"xor-1-sample-{engine}.toml"
            preset.write_text((ROOT / "presets" / "xor.toml").read_text() + "samples = 1\n")
            command = [sys.executable, str(ROOT / "train.py"), "--preset", str(preset),
                       "--steps", "16", "--engine", engine, "--resolution", "160x90", "--fps", "12",
                       "--out", str(video), "--metrics", str(folder / "m.json"),
                       "--save-history", str(folder / "run.npz")]
            result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
            renders[engine] = RenderedRun(folder, video, result)
        return renders[engine]

    return render
