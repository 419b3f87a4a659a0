"""The 8×8 handwritten digits shipped with the add-on (``digits.npz``, made by ``tools/extract_digits.py``).

Source: UCI Machine Learning Repository, "Optical Recognition of Handwritten Digits" (E. Alpaydin,
C. Kaynak, 1998), CC BY 4.0, as bundled with scikit-learn: 1,797 images whose pixels count 0..16.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

DIGITS_FILE = Path(__file__).with_name("digits.npz")


@cache
def _load() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DIGITS_FILE, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digits as (n, 64) pixels scaled to [0, 1] and their labels 0..9.

    All of them in file order when ``n`` is the full 1,797, else a random subset drawn with ``rng``.
    """
    images, labels = _load()
    if n > len(images):
        raise ValueError(f"digits: asked for {n} samples but the data set has {len(images)}")
    chosen = np.arange(n) if n == len(images) else np.sort(rng.choice(len(images), size=n, replace=False))
    return images[chosen].reshape(n, 64) / 16.0, labels[chosen].astype(np.int64)
