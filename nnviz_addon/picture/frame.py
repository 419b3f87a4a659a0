"""The frame plan: everything a build draws, decided at once, in plain numpy, before Blender is touched.

:func:`plan_frame` follows a History through every picture module in the order the decisions
depend on each other (scales → layout → writer and fill → legends, overlay → view places → views →
bounds → camera → the film's timeline) and returns one :class:`FramePlan`. ``scene.write`` then only
creates and keys what it says, so what a build will draw can be tested, printed and compared
without Blender.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..history import History
from ..preset.limits import writer_for
from . import attention as attention_plan
from . import camera as camera_plan
from . import census, features, film_passes, legends, token_rows, view_layout
from . import cubes as cube_plan
from . import loss_curve as loss_plan
from . import neurons as neuron_plan
from . import overlay as overlay_plan
from . import task_views as task_plan
from .layout import Layout
from .options import SceneOptions
from .shapes import Bounds, Label


@dataclass(frozen=True)
class TensorDraw:
    """One parameter tensor as its writer draws it, the build's cube ``fill`` folded in.

    The objects writer scales each cube's edge by ``fill``; the instanced writer keeps its own
    square size and scales the whole object by ``object_scale`` (``fill`` in the picture plane), so
    ``cubes``' positions are divided by it there to land where the layout put them."""

    cubes: cube_plan.TensorCubes
    fill: float
    object_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)

    @property
    def sizes(self) -> np.ndarray | None:
        """(records, N) keyed cube edges (× fill), or None when sizes show nothing."""
        return None if self.cubes.sizes is None else self.cubes.sizes * self.fill

    @property
    def first_sizes(self) -> np.ndarray | None:
        """(N,) the edges the cubes are made with (× fill), or None for full size."""
        if self.sizes is not None:
            return self.sizes[0]
        return None if self.fill == 1 else np.full(len(self.cubes.block.positions), self.fill)


@dataclass(frozen=True)
class FramePlan:
    """Every decision of one build. ``shown``: the History the cubes show (values, or changes since
    the first record) with its ``scales``; ``writer``: ``"objects"`` or ``"instanced"``; ``keyed``:
    whether cubes get keys (not for one record, a still, nor for the instanced writer, whose tree
    reads the records); ``fill``: the cubes' edge ÷ ``CUBE_SIZE``; the views (None where the History
    has none) and ``views`` their boxes; ``bounds``: everything, which the ``camera`` frames;
    ``timeline``: where records and the film's forward passes sit on the frames; ``film_scales``:
    the scales the film's block depths use (None for the diagram)."""

    history: History
    options: SceneOptions
    shown: History
    scales: cube_plan.CubeScales
    layout: Layout
    writer: str
    keyed: bool
    fill: float
    color_legend: legends.ColorLegend
    size_legend: legends.SizeCubes | None
    feature_cubes: tuple[cube_plan.TensorCubes, ...]
    overlay: overlay_plan.OverlayPlan
    overlay_box: Bounds
    neurons: neuron_plan.NeuronsPlan | None
    task: task_plan.TaskViewPlan | None
    loss: loss_plan.LossCurvePlan | None
    attention: attention_plan.AttentionPlan | None
    token_labels: tuple[Label, ...]
    bounds: Bounds
    camera: camera_plan.Framing
    timeline: film_passes.Timeline
    film_scales: cube_plan.CubeScales | None

    @property
    def record_frames(self) -> np.ndarray:
        """Record r's frame."""
        return self.timeline.record_frames

    @property
    def views(self) -> tuple[Bounds | None, ...]:
        """The boxes of the neurons, task view, loss curve, attention maps and token rows (None where
        there is none), in that order."""
        return _view_boxes(self.neurons, self.task, self.loss, self.attention, self.token_labels)

    def tensors(self) -> Iterator[TensorDraw]:
        """Each parameter tensor's drawing, in the layout's order. Made as asked for, one at a time,
        so a big run never holds every tensor's colours at once (:func:`.cubes.tensor_cubes`)."""
        for tensor in cube_plan.plan(self.shown, self.layout.blocks, self.scales):
            if self.writer == "instanced" and self.fill != 1:
                shrunk = tensor.block.positions * np.array([1 / self.fill, 1.0, 1 / self.fill])
                tensor = dataclasses.replace(tensor, block=dataclasses.replace(tensor.block, positions=shrunk))
            scale = (self.fill, 1.0, self.fill) if self.writer == "instanced" else (1.0, 1.0, 1.0)
            yield TensorDraw(tensor, self.fill, scale)

    def labels(self) -> list[Label]:
        """Every label the plan holds outside the views: layers, model parts, feature maps, token
        rows, the legends' and the title."""
        legend = [*self.color_legend.value_labels, self.color_legend.caption]
        if self.size_legend is not None:
            legend += [*self.size_legend.labels, self.size_legend.caption]
        return [*self.layout.layer_labels.values(), *self.layout.part_labels, *self.layout.feature_labels,
                *self.token_labels, *legend, self.overlay.title]

    def summary(self) -> str:
        """A few lines saying what the build will draw (counts, not contents)."""
        layout, timeline = self.layout, self.timeline
        views = [name for name, view in (("neurons", self.neurons), ("task view", self.task), ("loss curve", self.loss),
                                         ("attention", self.attention)) if view is not None]
        (low, _, bottom), (high, _, top) = self.bounds
        return "\n".join([
            f"frame plan of {self.history.name!r}: {self.options.style}, {self.writer} writer"
            f"{', keyed' if self.keyed else ''}, fill {self.fill:.3g}",
            f"  {len(layout.blocks)} blocks, {layout.cube_count} cubes; {len(layout.feature_blocks)} feature-map "
            f"groups; {len(self.labels())} labels",
            f"  views: {', '.join(views) or 'none'}",
            f"  bounds x {low:.3g}..{high:.3g}, z {bottom:.3g}..{top:.3g}; camera ortho scale "
            f"{self.camera.ortho_scale:.3g}",
            f"  frames {self.options.frame_start}..{timeline.frame_end}: {len(timeline.record_frames)} records, "
            f"{len(timeline.passes)} forward passes",
        ])

    def __str__(self) -> str:
        return self.summary()


def film_timeline(history: History, options: SceneOptions) -> film_passes.Timeline:
    """Where the records and the forward passes sit on the frames (no passes in the diagram)."""
    mode = options.forward_pass if options.style == "film" else "none"
    return film_passes.timeline(history.records, options.frames_per_record, options.frame_start,
                                len(film_passes.pass_stages(history)), mode, options.forward_pass_every,
                                share=options.forward_pass_share)


def plan_frame(history: History, options: SceneOptions, aspect: float, render_size: tuple[int, int]) -> FramePlan:
    """The :class:`FramePlan` of ``history`` drawn with ``options`` in a frame ``aspect`` wide per
    unit high, rendered ``render_size`` pixels (width, height)."""
    if history.records < 1:
        raise ValueError("scene.build: the history has no records")
    film = options.style == "film"
    # What the cubes show (values, or changes since the first record) is scaled, drawn and, in the
    # film, given depth; the probe's views read the run itself.
    shown = cube_plan.shown_history(history, options.color_values)
    scales = cube_plan.scales_for(shown, options.color_scale, options.magnitude, options.color_values)
    shapes = {key: array.shape[1:] for key, array in history.params.items()}
    # The film leaves the layers' ±scale notes out: its close-up, framed around the labels, would
    # reach into the heads-up band with the longer labels.
    layout = view_layout.layout_for_frame(history.structure, shapes, aspect, legend_caption=scales.caption,
                                          size_labels=scales.size_labels, size_caption=scales.size_caption,
                                          input_shape=history.input_shape,
                                          feature_maps=features.feature_maps(history), graph=history.graph,
                                          layer_notes={} if film else scales.layer_notes)
    timeline = film_timeline(history, options)
    frames = timeline.record_frames
    # The film's camera comes close to the blocks, so only the diagram's face-on framing tells how small a cube is.
    fill = 1.0 if film else view_layout.cube_fill(layout, render_size)
    # Feature-map cells and neurons are cubes too: "auto" counts them as the scene-size check does.
    writer = writer_for(options.cubes, census.scene_size(history).cubes)

    overlay_width = overlay_plan.width(history, layout.text_size)
    overlay_box = overlay_plan.box(layout.overlay_anchor, overlay_width, layout.text_size)
    places = view_layout.place_views(layout, overlay_width, aspect)
    caption = view_layout.INSTANCED_NEURON_CAPTION if writer == "instanced" else view_layout.NEURON_CAPTION
    neurons = neuron_plan.plan(history, frames, places.neurons, caption)
    loss = loss_plan.plan(history, frames, places.loss)
    # Attention maps go in a band under the rest, the probe sequence's view beside them there.
    above = view_layout.union(layout.bounds, overlay_box, *_view_boxes(neurons, loss))
    band = attention_plan.band_under(history, above, aspect, layout.text_size)
    sequence_place, attention_place = attention_plan.share_band(band, history)
    task = task_plan.plan(history, frames, sequence_place or places.task)
    attention = None if attention_place is None else attention_plan.plan(history, frames, attention_place)
    token_labels = tuple(token_rows.row_labels(history, layout.blocks))
    bounds = view_layout.union(layout.bounds, overlay_box, *_view_boxes(neurons, task, loss, attention, token_labels))
    return FramePlan(
        history=history, options=options, shown=shown, scales=scales, layout=layout, writer=writer,
        # One record is a still picture: its colours are set on the cubes, and keys would only cost time.
        keyed=history.records > 1 and writer == "objects", fill=fill,
        color_legend=legends.color_legend(layout.legend, scales.legend_labels, scales.caption),
        size_legend=None if layout.size_legend is None else legends.size_legend(layout.size_legend),
        feature_cubes=tuple(_feature_cubes(history, layout)),
        overlay=overlay_plan.plan(history, layout.overlay_anchor, layout.text_size), overlay_box=overlay_box,
        neurons=neurons, task=task, loss=loss, attention=attention,
        token_labels=token_labels, bounds=bounds, camera=camera_plan.framing(bounds, aspect),
        timeline=timeline, film_scales=film_depth_scales(shown, scales) if film else None)


def _view_boxes(*views: neuron_plan.NeuronsPlan | task_plan.TaskViewPlan | loss_plan.LossCurvePlan
                | attention_plan.AttentionPlan | tuple[Label, ...] | None) -> list[Bounds | None]:
    """The box of each view (a plan, or the token rows' labels), None where there is none."""
    return [token_rows.bounds(view) if isinstance(view, tuple) else None if view is None else view.bounds
            for view in views]


def _feature_cubes(history: History, layout: Layout) -> Iterator[cube_plan.TensorCubes]:
    """The probe image's and feature maps' cells, each group on its own colour scale."""
    for block in layout.feature_blocks:
        values = features.values_of(history, block)
        yield cube_plan.TensorCubes(block, values, features.color_scale(values))


def film_depth_scales(shown: History, scales: cube_plan.CubeScales) -> cube_plan.CubeScales:
    """``scales`` for the film, whose block depths take the colour scale: the depths show |value| on
    the run's one global scale whatever scale the colours use, so the film's shots (framed for the
    deepest block) and depths compare across layers as the colours may not."""
    return dataclasses.replace(scales, color=dict.fromkeys(scales.color, shown.value_range()))
