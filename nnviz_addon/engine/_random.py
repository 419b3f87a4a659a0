"""The engine's default random generator, seeded by :func:`manual_seed` (init and dropout use it)."""

from __future__ import annotations

import numpy as np

_default = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator, like ``torch.manual_seed``; returns it."""
    global _default
    _default = np.random.default_rng(seed)
    return _default


def default_generator() -> np.random.Generator:
    return _default


def resolve(generator: np.random.Generator | None) -> np.random.Generator:
    """``generator`` if given, else the default one (looked up now, so a later seed counts)."""
    return _default if generator is None else generator
