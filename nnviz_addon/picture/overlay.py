"""The overlay plan: the run's title, and the counter's numbers and text at every record, where they
stand and how high they are (pure numpy, no bpy). ``scene.overlay`` only writes it.

Numbers not known at a record (the initial record's loss is NaN) are :data:`UNKNOWN` (``-1``) and
shown as "–": losses and accuracies are never negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..history import History
from ..history.keys import ACCURACY, TEST_ACCURACY, TEST_LOSS
from .layout import LINE_SPACING, OVERLAY_LINES
from .shapes import Bounds, Label, text_width

TITLE_SCALE = 1.2  # the title's height relative to the other text
UNKNOWN = -1.0  # keyed where a record has no value; shown as "–"
DASH = "–"

# The counter's number inputs, in interface order: (name, socket type).
INPUTS = (
    ("Step", "NodeSocketFloat"),
    ("Loss", "NodeSocketFloat"),
    ("Loss Decimals", "NodeSocketInt"),
    ("Accuracy %", "NodeSocketFloat"),
    ("Test Loss", "NodeSocketFloat"),
    ("Test Loss Decimals", "NodeSocketInt"),
    ("Test Accuracy %", "NodeSocketFloat"),
)


@dataclass(frozen=True)
class OverlayPlan:
    """``title``: the run's name, its top-left at the anchor; ``counter_location``: the counter
    text's first baseline; ``size``: the counter's text height; ``values``: input name → (records,)
    what the counter shows at each record (only the inputs this run has)."""

    title: Label
    counter_location: tuple[float, float, float]
    size: float
    values: dict[str, np.ndarray]


def plan(history: History, anchor: tuple[float, float, float], size: float) -> OverlayPlan:
    """The overlay top-left at ``anchor`` (in the XZ picture plane), with text ``size`` units high."""
    if not size > 0:
        raise ValueError(f"add_overlay: size must be a positive number, got {size}")
    x, y, z = anchor
    title_size = TITLE_SCALE * size
    return OverlayPlan(title=Label(history.name, (x, y, z - title_size), title_size),
                       counter_location=(x, y, z - title_size - LINE_SPACING * size),
                       size=size, values=keyed_values(history))


def loss_decimals(loss: np.ndarray) -> np.ndarray:
    """Decimals that show a loss with about three significant digits: 4 down to 0.01, more below
    (0.000123 rather than 0.0001), at most 8."""
    magnitude = np.where(np.isfinite(loss) & (loss > 0), loss, 1.0)
    return np.clip(np.ceil(-np.log10(magnitude)) + 2, 4, 8)


def keyed_values(history: History) -> dict[str, np.ndarray]:
    """What each counter input shows at each record (input name → (records,) floats)."""
    values = {
        "Step": np.asarray(history.steps, dtype=np.float64),
        "Loss": _known(history.loss),
        "Loss Decimals": loss_decimals(np.asarray(history.loss, dtype=np.float64)),
    }
    if ACCURACY in history.metrics:
        values["Accuracy %"] = _known(100.0 * np.asarray(history.metrics[ACCURACY], dtype=np.float64))
    if TEST_LOSS in history.metrics:
        test_loss = np.asarray(history.metrics[TEST_LOSS], dtype=np.float64)
        values["Test Loss"], values["Test Loss Decimals"] = _known(test_loss), loss_decimals(test_loss)
    if TEST_ACCURACY in history.metrics:
        values["Test Accuracy %"] = _known(100.0 * np.asarray(history.metrics[TEST_ACCURACY], dtype=np.float64))
    return values


def counter_lines(history: History) -> list[str]:
    """The counter's text at each record, spelled as its node tree spells it from the keyed values
    (which F-Curves hold as 32-bit floats): for measuring the text and for checking the tree."""
    values = keyed_values(history)

    def number(value: float, decimals: float, unit: str = "") -> str:
        value = float(np.float32(value))
        return DASH if value < 0 else f"{value:.{int(decimals)}f}{unit}"

    lines = []
    for record in range(history.records):
        text = (f"step {number(values['Step'][record], 0)}\n"
                f"loss {number(values['Loss'][record], values['Loss Decimals'][record])}")
        if "Test Loss" in values:
            text += f" · test {number(values['Test Loss'][record], values['Test Loss Decimals'][record])}"
        if "Accuracy %" in values:
            text += f"   accuracy {number(values['Accuracy %'][record], 1, '%')}"
        if "Test Accuracy %" in values:
            text += f" · test {number(values['Test Accuracy %'][record], 1, '%')}"
        lines.append(text)
    return lines


def width(history: History, size: float) -> float:
    """The width of the widest line the overlay draws for ``history`` at text ``size``: its title,
    or the step counter and loss line at whichever record makes them longest."""
    lines = [line for text in counter_lines(history) for line in text.split("\n")]
    longest = max(lines, key=len)
    return max(text_width(history.name, TITLE_SCALE * size), text_width(longest, size))


def box(anchor: tuple[float, float, float], line_width: float, size: float) -> Bounds:
    """The box the title and counter lines take, ``line_width`` wide, top-left at ``anchor``."""
    x, y, z = anchor
    height = (TITLE_SCALE + (OVERLAY_LINES - 1) * LINE_SPACING + 0.3) * size
    return (x, y, z - height), (x + line_width, y, z)


def _known(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values), values, UNKNOWN)
