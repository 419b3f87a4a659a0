"""The sequence tasks: token sequences in, a target token at every position out (numpy, seeded).

Each generator returns ``(tokens, targets)``, both int64 ``(N, L)``. A position whose output is not
asked for holds :data:`IGNORE` (torch's ``ignore_index`` default), so a cross-entropy over every
position leaves it out and per-token accuracy does not count it.

- ``reverse``: ``DIGITS_LENGTH`` random digits; the target is the same digits in reverse order;
- ``sort``: random digits (repeats allowed); the target is them in ascending order;
- ``modular_addition``: ``[a, b, =]`` for a, b in 0 … p-1 (``=`` is token p); only the last
  position has a target, ``(a + b) mod p``. There are p² such sums; ``samples`` of them, drawn
  without repeats, are the data set, and the test split holds out the rest of the fraction — the
  grokking set-up, where a small training share is memorised long before the rule is found.
"""

from __future__ import annotations

import numpy as np

IGNORE = -100  # a position without a target (cross_entropy's ignore_index)
DIGITS = 10  # the digit tasks' vocabulary: the tokens 0 … 9
DIGITS_LENGTH = 8  # digits per reverse / sort sequence
MODULUS = 23  # p of the modular_addition task
EQUALS = MODULUS  # the "=" token closing a modular_addition prompt


def reverse(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    tokens = rng.integers(0, DIGITS, size=(n, DIGITS_LENGTH))
    return tokens, tokens[:, ::-1].copy()


def sort(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    tokens = rng.integers(0, DIGITS, size=(n, DIGITS_LENGTH))
    return tokens, np.sort(tokens, axis=1)


def modular_addition(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct sums (at most p²) in a random order."""
    chosen = rng.permutation(MODULUS * MODULUS)[:n]
    a, b = np.divmod(chosen, MODULUS)
    tokens = np.stack([a, b, np.full(len(chosen), EQUALS)], axis=1)
    targets = np.full(tokens.shape, IGNORE, dtype=np.int64)
    targets[:, -1] = (a + b) % MODULUS
    return tokens.astype(np.int64), targets


def token_names(task: str) -> tuple[str, ...]:
    """What each token of ``task``'s vocabulary reads as in a view: digits, and ``=`` for the sum's prompt."""
    if task == "modular_addition":
        return (*(str(i) for i in range(MODULUS)), "=")
    return tuple(str(i) for i in range(DIGITS))


SEQUENCE_TASKS = {"reverse": reverse, "sort": sort, "modular_addition": modular_addition}
