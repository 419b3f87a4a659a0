"""Render the last frame of every shipped preset for the README: ``python tools/render_frames.py``.

Each preset is trained with its own settings (the default run records the probe series the learning
views draw), animated with ``api.animate`` as ``train.py`` does and its last frame rendered with
Workbench into ``docs/frames/<preset>.png``. Every preset renders in its own subprocess: without
EGL, Workbench aborts the whole process, and a fresh process keeps one preset's scene out of the next.

Options: preset names to render only those; ``--size WxH`` (default 1280x720; other sizes go to
``docs/frames/<preset>_<W>x<H>.png``, so the README's landscape frames stay); ``--style film``
renders the film instead, into ``docs/frames/film_<preset>.png``, at ``--at`` (the fraction of the
film's frames, default 1: its last frame, the closing shot).
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "frames"


def render_one(preset: str, path: Path, width: int, height: int, style: str, at: float) -> None:
    """Train ``preset``, animate it as ``train.py`` would (its own ``[render]`` settings, Workbench at
    ``width`` × ``height``, in ``style``) and render the frame ``at`` of the way through to ``path``
    (runs in-process)."""
    sys.path.insert(0, str(ROOT))
    import bpy

    from nnviz_addon import api

    history = api.train(preset)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    render = dataclasses.replace(api.render_config_of(history), engine="workbench", resolution=(width, height),
                                 style=style)
    api.animate(history, render=render)
    scene = bpy.context.scene
    api.render_still(path, frame=round(scene.frame_start + at * (scene.frame_end - scene.frame_start)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", help="preset names (default: every shipped preset)")
    parser.add_argument("--size", default="1280x720", help="width x height in pixels")
    parser.add_argument("--style", choices=("diagram", "film"), default="diagram")
    parser.add_argument("--at", type=float, default=1.0, help="where in the run, 0 (first frame) to 1 (last)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.lower().split("x"))
    suffix = "" if (width, height) == (1280, 720) else f"_{width}x{height}"
    prefix = "film_" if args.style == "film" else ""
    if args.one:
        (preset,) = args.presets
        render_one(preset, OUTPUT / f"{prefix}{preset}{suffix}.png", width, height, args.style, args.at)
        return 0
    presets = args.presets or sorted(p.stem for p in (ROOT / "presets").glob("*.toml"))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    failed = []
    for preset in presets:
        path = OUTPUT / f"{prefix}{preset}{suffix}.png"
        path.unlink(missing_ok=True)  # so a failed render can't pass for the old picture
        command = [sys.executable, __file__, "--one", "--size", args.size, "--style", args.style,
                   "--at", str(args.at), preset]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not path.exists():
            failed.append(preset)
            print(f"{preset}: failed\n{done.stdout[-2000:]}{done.stderr[-2000:]}", file=sys.stderr)
        else:
            print(f"{preset}: {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
