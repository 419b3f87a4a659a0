"""Does a recorded MNIST-shaped run show its learning? ``python tools/mnist_frames.py [--docs]``

A torch 784-128-10 (``Flatten, Linear(784, 128), ReLU, Linear(128, 10)``) is trained to at least
99% training accuracy on the shipped 8×8 digits, each pixel blown up to 3×3 and padded to 28×28
(made here, no download), recorded with ``Recorder(model, input_shape=(28, 28))``, animated with
every default by ``train.py --history run.npz`` and its first and last frames rendered at 1280×720
in Workbench, each in its own process as a user runs it. Prints how many pixels the two frames
differ in (the target is 10% or more); ``--docs`` also renders the last frame with
``--color-values change`` and copies the three to ``docs/frames/mnist_first.png``,
``mnist_last.png`` and ``mnist_last_change.png``, the frames docs/big-networks.md shows.
Needs torch and the bpy wheel; about two minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOCS_FRAMES = ROOT / "docs" / "frames"
RESOLUTION = (1280, 720)
TARGET_ACCURACY = 0.99
# A pixel "differs" when a channel moved by more than this many 8-bit steps: visibly, not by noise.
VISIBLE_STEPS = 8


def mnist_shaped_digits(samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` of the shipped digits as (n, 28, 28) float32 images in [0, 1] and their labels:
    each 8×8 pixel a 3×3 block, with a 2-pixel border, as MNIST centres its digits."""
    sys.path.insert(0, str(ROOT))
    from nnviz_addon.datasets.digits import digits

    pixels, labels = digits(samples, np.random.default_rng(seed))
    images = np.kron(pixels.reshape(-1, 8, 8), np.ones((3, 3)))
    return np.pad(images, ((0, 0), (2, 2), (2, 2))).astype(np.float32), labels


def record_run(path: Path, samples: int = 600, seed: int = 0, record_every: int = 10,
               max_epochs: int = 60) -> float:
    """Train the 784-128-10 with Adam until it fits ``TARGET_ACCURACY`` of its training set,
    recording every ``record_every`` steps (and the initial weights), save the run to ``path`` and
    return the final training accuracy."""
    import torch

    sys.path.insert(0, str(ROOT))
    from nnviz_addon.record import Recorder

    images, labels = mnist_shaped_digits(samples, seed)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    recorder = Recorder(model, name="784-128-10 on 28×28 digits", input_shape=(28, 28))
    recorder.snapshot(0)
    order = torch.Generator().manual_seed(seed)
    step, accuracy, loss = 0, 0.0, None
    for _ in range(max_epochs):
        for batch in torch.randperm(len(x), generator=order).split(32):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            step += 1
            if step % record_every == 0:
                recorder.snapshot(step, loss=loss.item())
        with torch.no_grad():
            accuracy = float((model(x).argmax(dim=1) == y).float().mean())
        if accuracy >= TARGET_ACCURACY:
            break
    if step % record_every:
        recorder.snapshot(step, loss=loss.item())
    recorder.save(path)
    return accuracy


def render_frame(history: Path, png: Path, frame: int | None = None, *options: str) -> None:
    """Render ``frame`` (default the last) of ``history`` animated with train.py's defaults (and
    its ``options``) to ``png``."""
    command = [sys.executable, str(ROOT / "train.py"), "--history", str(history), "--no-render",
               "--still", str(png), "--resolution", "x".join(map(str, RESOLUTION)), *options]
    if frame is not None:
        command += ["--still-frame", str(frame)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"train.py failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def read_png(path: Path) -> np.ndarray:
    """(height, width, 3) 8-bit RGB of a PNG, top row first (read through Blender's image loader)."""
    import bpy

    image = bpy.data.images.load(str(path))
    try:
        width, height = image.size
        pixels = np.array(image.pixels[:], dtype=np.float32).reshape(height, width, -1)[::-1, :, :3]
    finally:
        bpy.data.images.remove(image)
    return np.round(pixels * 255).astype(np.int16)


def changed_fraction(first: np.ndarray, last: np.ndarray, steps: int = VISIBLE_STEPS) -> float:
    """The share of pixels in which some channel differs by more than ``steps`` 8-bit steps."""
    return float((np.abs(first - last).max(axis=-1) > steps).mean())


def measure(workdir: Path) -> dict[str, float | Path]:
    """Record, render the first and last frames into ``workdir`` and measure them."""
    history = workdir / "mnist_shaped.npz"
    accuracy = record_run(history)
    first, last = workdir / "mnist_first.png", workdir / "mnist_last.png"
    render_frame(history, first, frame=1)
    render_frame(history, last)
    return {"accuracy": accuracy, "changed": changed_fraction(read_png(first), read_png(last)),
            "first": first, "last": last}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", action="store_true", help="copy the frames to docs/frames/")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        result = measure(Path(scratch))
        print(f"training accuracy {result['accuracy']:.2%}; first and last frames differ in "
              f"{result['changed']:.1%} of their pixels (target ≥ 10%)")
        if args.docs:
            change = Path(scratch) / "mnist_last_change.png"
            render_frame(Path(scratch) / "mnist_shaped.npz", change, None, "--color-values", "change")
            for path in (result["first"], result["last"], change):
                shutil.copyfile(path, DOCS_FRAMES / path.name)
    return 0 if result["changed"] >= 0.10 and result["accuracy"] >= TARGET_ACCURACY else 1


if __name__ == "__main__":
    sys.exit(main())
