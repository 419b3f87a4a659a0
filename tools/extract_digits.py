"""Write ``nnviz_addon/datasets/digits.npz`` from scikit-learn's bundled copy of the digits data.

A one-off script kept so the shipped file's origin is reproducible. The data is the test set of the
UCI "Optical Recognition of Handwritten Digits" data set (Alpaydin & Kaynak, 1998; CC BY 4.0):
1,797 images of 8×8 pixels, each pixel a count 0..16. scikit-learn is *not* a project dependency;
run this from a throw-away virtual environment::

    python3 -m venv /tmp/sk-venv && /tmp/sk-venv/bin/pip install scikit-learn
    /tmp/sk-venv/bin/python tools/extract_digits.py

The file holds ``images`` (uint8, (1797, 8, 8), values 0..16) and ``labels`` (uint8, (1797,)).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

TARGET = Path(__file__).resolve().parent.parent / "nnviz_addon" / "datasets" / "digits.npz"


def main() -> None:
    digits = load_digits()
    images = np.asarray(digits.images)
    if images.min() < 0 or images.max() > 16 or not np.all(images == np.round(images)):
        raise SystemExit("unexpected pixel values: the digits data should hold integers 0..16")
    np.savez_compressed(
        TARGET,
        images=images.astype(np.uint8),
        labels=np.asarray(digits.target).astype(np.uint8),
    )
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes, {len(images)} samples)")


if __name__ == "__main__":
    main()
