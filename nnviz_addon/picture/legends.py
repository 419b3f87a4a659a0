"""The legends' plan: the colour bar's segments, colours, value labels and caption, and the size
legend's cubes, their sizes and labels (pure numpy, no bpy). ``scene.objects`` only writes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import colormap, magnitude
from .shapes import CUBE_SIZE, Label, Legend, SizeLegend

VALUE_ALIGNMENTS = ("LEFT", "CENTER", "RIGHT")  # the colour bar's labels under its min, 0 and max


@dataclass(frozen=True)
class ColorLegend:
    """``positions`` (S, 3) and ``rgba`` (S, 4, linear) of the bar's segments, each a cube mesh
    scaled by ``scale``; ``value_labels`` under its min, 0 and max; ``caption`` beside it."""

    positions: np.ndarray
    rgba: np.ndarray
    scale: tuple[float, float, float]
    value_labels: tuple[Label, ...]
    caption: Label


@dataclass(frozen=True)
class SizeCubes:
    """The size legend's neutral cubes at ``positions`` (S, 3), ``rgba`` (S, 4), each ``sizes`` (S,)
    of full size (a network cube showing its label's magnitude), with their ``labels`` and ``caption``."""

    positions: np.ndarray
    rgba: np.ndarray
    sizes: np.ndarray
    labels: tuple[Label, ...]
    caption: Label


def color_legend(legend: Legend, labels: Sequence[str], caption: str) -> ColorLegend:
    """The colour bar ``legend`` lays out, labelled ``labels`` (min, 0, max) and ``caption``."""
    value_labels = tuple(Label(text, anchor, legend.text_size, align) for anchor, text, align
                         in zip(legend.value_label_anchors, labels, VALUE_ALIGNMENTS, strict=True))
    return ColorLegend(positions=np.asarray(legend.segment_positions),
                       rgba=colormap.colors(legend.segment_values, 1.0),
                       scale=tuple(s / CUBE_SIZE for s in legend.segment_size),
                       value_labels=value_labels,
                       caption=Label(caption, legend.caption_anchor, legend.text_size))


def size_legend(legend: SizeLegend) -> SizeCubes:
    """The size legend ``legend`` lays out: one cube per :data:`magnitude.LEGEND_FRACTIONS` of the
    scale, neutral in colour (only size varies)."""
    positions = np.asarray(legend.positions)
    return SizeCubes(positions=positions, rgba=colormap.colors(np.zeros(len(positions)), 1.0),
                     sizes=magnitude.sizes(np.array(magnitude.LEGEND_FRACTIONS), 1.0),
                     labels=tuple(legend.labels), caption=legend.caption)
