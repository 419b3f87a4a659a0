"""The task generators: numpy only, every random draw from one seeded ``np.random.Generator``.

Each generator returns ``(x, labels_or_targets)`` in float64; :mod:`.dataset` casts and shapes them
for the loss. The 2D tasks live in roughly ``[-1, 1]²`` and are balanced (``n // 2`` samples of
class 1, the rest class 0); ``noise`` is the standard deviation of Gaussian jitter added to the
points *after* they were labelled, so more noise makes the classes overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .sequences import DIGITS, DIGITS_LENGTH, MODULUS

# Colour mappings for the rgb task: each maps (N, 3) colours in [0, 1] to (N, 3) targets in [0, 1].
_LUMA = np.array([0.299, 0.587, 0.114])
# The usual sepia tone matrix (rows: output R, G, B); its rows sum past 1, hence the clip.
_SEPIA = np.array([[0.393, 0.769, 0.189],
                   [0.349, 0.686, 0.168],
                   [0.272, 0.534, 0.131]])

RGB_MAPPINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "complement": lambda c: 1.0 - c,
    "grayscale": lambda c: np.repeat((c @ _LUMA)[:, None], 3, axis=1),
    "sepia": lambda c: np.clip(c @ _SEPIA.T, 0.0, 1.0),
    "swap": lambda c: c[:, [2, 0, 1]],  # RGB → BRG
}

XOR_MARGIN = 0.1  # xor points keep this distance from the axes before jitter, so labels are learnable


@dataclass(frozen=True)
class TaskInfo:
    """What the config needs to know about a task to check a model against it."""

    inputs: int
    outputs: int  # the model's output width with float targets (0/1 or one-hot for classes)
    classes: int  # 0 for the regression task
    max_samples: int | None = None  # fixed-size data sets
    input_shape: tuple[int, ...] | None = None  # one sample's shape when the inputs form an image
    # A sequence task's vocabulary: its samples are ``inputs`` tokens (0 … vocab-1) and every position
    # has a target token (``outputs`` = ``classes`` = the vocabulary); 0 for the other tasks.
    vocab: int = 0

    @property
    def is_sequence(self) -> bool:
        return self.vocab > 0

    @property
    def layer_input_shape(self) -> tuple[int, ...]:
        """One sample as a layer-table model takes it: an image as (channels, height, width) (a
        greyscale (H, W) gets one channel), else a vector of ``inputs``."""
        if self.input_shape is None:
            return (self.inputs,)
        return (1, *self.input_shape) if len(self.input_shape) == 2 else self.input_shape

    @property
    def kind(self) -> str:
        if self.classes == 0:
            return "regression"
        return "binary" if self.classes == 2 else "multiclass"


DIGITS_SAMPLES = 1797

TASKS: dict[str, TaskInfo] = {
    "rgb": TaskInfo(inputs=3, outputs=3, classes=0),
    "xor": TaskInfo(inputs=2, outputs=1, classes=2),
    "circle": TaskInfo(inputs=2, outputs=1, classes=2),
    "gauss": TaskInfo(inputs=2, outputs=1, classes=2),
    "spiral": TaskInfo(inputs=2, outputs=1, classes=2),
    "moons": TaskInfo(inputs=2, outputs=1, classes=2),
    "digits": TaskInfo(inputs=64, outputs=10, classes=10, max_samples=DIGITS_SAMPLES, input_shape=(8, 8)),
    "reverse": TaskInfo(inputs=DIGITS_LENGTH, outputs=DIGITS, classes=DIGITS, vocab=DIGITS),
    "sort": TaskInfo(inputs=DIGITS_LENGTH, outputs=DIGITS, classes=DIGITS, vocab=DIGITS),
    # tokens 0 … p-1 and "=", answers 0 … p-1 (the "=" never is one, but the head scores every token)
    "modular_addition": TaskInfo(inputs=3, outputs=MODULUS + 1, classes=MODULUS + 1, max_samples=MODULUS**2,
                                 vocab=MODULUS + 1),
}


def rgb(n: int, rng: np.random.Generator, mapping: str) -> tuple[np.ndarray, np.ndarray]:
    colours = rng.random((n, 3))
    return colours, RGB_MAPPINGS[mapping](colours)


def _balanced_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    labels = np.zeros(n, dtype=np.int64)
    labels[: n // 2] = 1
    return rng.permutation(labels)


def _jitter(points: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return points + rng.normal(0.0, noise, points.shape) if noise > 0 else points


def _polar(radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


def xor(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Label 1 where sign(x)·sign(y) < 0 (quadrants II and IV)."""
    labels = _balanced_labels(n, rng)
    sign_x = rng.choice([-1.0, 1.0], size=n)
    sign_y = np.where(labels == 1, -sign_x, sign_x)
    magnitude = XOR_MARGIN + (1.0 - XOR_MARGIN) * rng.random((n, 2))
    points = magnitude * np.stack([sign_x, sign_y], axis=1)
    return _jitter(points, noise, rng), labels


def circle(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Label 1 inside radius 0.5, label 0 in the ring 0.7..1.0 (uniform over each area)."""
    labels = _balanced_labels(n, rng)
    inner, outer = (0.0, 0.5), (0.7, 1.0)
    low = np.where(labels == 1, inner[0], outer[0])
    high = np.where(labels == 1, inner[1], outer[1])
    # Uniform over an annulus's area: the radius's square is uniform between the squared bounds.
    radius = np.sqrt(low**2 + (high**2 - low**2) * rng.random(n))
    points = _polar(radius, rng.uniform(0.0, 2 * np.pi, n))
    return _jitter(points, noise, rng), labels


def gauss(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two round blobs (std 0.3) centred on (0.5, 0.5) for label 1 and (-0.5, -0.5) for label 0."""
    labels = _balanced_labels(n, rng)
    centres = np.where(labels[:, None] == 1, 0.5, -0.5)
    points = centres + rng.normal(0.0, 0.3, (n, 2))
    return _jitter(points, noise, rng), labels


SPIRAL_TURNS = 1.25


def spiral(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two arms winding out from the centre, the second the first turned by half a circle."""
    labels = _balanced_labels(n, rng)
    t = rng.uniform(0.08, 1.0, n)  # skip the very centre, where the arms meet
    angle = 2 * np.pi * SPIRAL_TURNS * t + np.pi * labels
    return _jitter(_polar(t, angle), noise, rng), labels


def moons(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles, scaled by 2/3 and centred so x spans [-1, 1]."""
    labels = _balanced_labels(n, rng)
    angle = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)  # label 0
    lower = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)  # label 1
    points = np.where(labels[:, None] == 1, lower, upper)
    points = (points - [0.5, 0.25]) / 1.5
    return _jitter(points, noise, rng), labels


POINT_TASKS: dict[str, Callable[[int, np.random.Generator, float], tuple[np.ndarray, np.ndarray]]] = {
    "xor": xor,
    "circle": circle,
    "gauss": gauss,
    "spiral": spiral,
    "moons": moons,
}
