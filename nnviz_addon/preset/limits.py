"""The limits a run and its scene must keep, decided here once and read by the preset checks, the
scene build, the command line, the API and the panel: Blender's own ranges, the memory a run may
record, how many cubes each scene writer holds and which writer draws a network, and how many frames
a film's forward passes add. Plain numbers and counting rules; no numpy, no bpy."""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_SAMPLES = 100_000

# -- Limits (README "Limits"). Blender's own hard ranges, so nothing is clamped silently: -------
RESOLUTION_RANGE = (4, 65_536)  # RenderSettings.resolution_x/_y
MAX_FPS = 32_767  # RenderSettings.fps
MAX_FRAME = 1_048_574  # Scene.frame_end
MAX_RENDER_SAMPLES = 16_777_216  # Cycles' samples (EEVEE takes more, but no render needs them)
# -- and nnviz's own, so a run ends in a clear message rather than a MemoryError an hour in: -----
MAX_LAYER_UNITS = 100_000  # one entry of model.layers
MAX_STEPS = 1_000_000_000  # train.steps: more than a day of the smallest network's training
RECORD_DTYPE_BYTES = 4  # a History holds float32 values and gradients
MAX_RECORDED_BYTES = 4 * 2**30  # values + gradients of every record, held in memory while training
WARN_RECORDED_BYTES = 2**30
# Cubes a scene may hold, per way of holding them: one object per cube is minutes past ~20,000
# (10,000 build in 0.4 s, 300,000 in 8 minutes); the instanced writer built 936,330 in 17 s
# (bench/bench_big.py), its frames then take about a minute on a CPU. config.check_scene_size reads
# the entry of the writer render.cubes picks.
CUBE_LIMITS: dict[str, int] = {"objects": 100_000, "instanced": 5_000_000}
CUBE_WARNINGS: dict[str, int] = {"objects": 20_000, "instanced": 1_000_000}

WRITERS = ("auto", "objects", "instanced")  # render.cubes: which scene writer draws the cubes
# "auto" draws networks with more parameters than this instanced: an object per cube costs about
# 25 µs and 1 KB of .blend before any key (README, Speed), which at 10,000 cubes is already a
# quarter of a second and the bulk of a small run's scene time.
AUTO_INSTANCED_ABOVE = 10_000


# A 2-D task's view draws at most this many of its data points (an even sample of them when
# there are more): each is two objects, and 100,000 of them never finished building.
MAX_DRAWN_POINTS = 500


class SceneTooBig(ValueError):
    """A scene past what its writer holds; the message says what was counted and the limit."""


@dataclass(frozen=True)
class SceneSize:
    """What a scene will create, counted the same way from a preset before training
    (``config.scene_size``) and from a History when it is built (``picture.census``)."""

    parameters: int  # one cube per weight and bias
    feature_cells: int = 0  # one cube per feature-map cell (the probe image, each image layer's maps)
    neurons: int = 0  # the probe input and every drawn layer's outputs
    data_points: int = 0  # a 2-D task's data, before its view samples MAX_DRAWN_POINTS of them
    attention_cells: int = 0  # each attention head's L × L tile for the probe sequence, an object per cell

    @property
    def cubes(self) -> int:
        """What the cube writer holds: parameters, feature-map cells and neurons."""
        return self.parameters + self.feature_cells + self.neurons

    @property
    def drawn_points(self) -> int:
        return min(self.data_points, MAX_DRAWN_POINTS)

    def held(self, writer: str) -> int:
        """What counts against ``writer``'s budget: every cube as its own object, plus two objects per
        drawn data point; the instanced writer holds the cubes in a few objects, so only they count.
        The attention cells are objects whichever writer draws the cubes: they count for both."""
        points = 2 * self.drawn_points if writer == "objects" else 0
        return self.cubes + points + self.attention_cells

    def describe(self) -> str:
        parts = [f"{self.parameters:,} parameters"]
        parts += [f"{count:,} {what}" for count, what in ((self.feature_cells, "feature-map cells"),
                                                          (self.neurons, "neurons"),
                                                          (2 * self.drawn_points, "data-point objects"),
                                                          (self.attention_cells, "attention cells")) if count]
        return ", ".join(parts)


def writer_for(choice: str, cubes: int) -> str:
    """``"objects"`` or ``"instanced"`` for a ``render.cubes`` choice and the scene's
    :attr:`SceneSize.cubes`."""
    if choice not in WRITERS:
        raise ValueError(f"render.cubes must be one of {WRITERS}, got {choice!r}")
    if choice == "auto":
        return "instanced" if cubes > AUTO_INSTANCED_ABOVE else "objects"
    return choice


def check_scene(size: SceneSize, choice: str) -> tuple[str, list[str]]:
    """The writer that draws a scene of ``size`` and the warnings (past ``CUBE_WARNINGS``), or
    :class:`SceneTooBig` past ``CUBE_LIMITS``. The one check the CLI, the API and the panel make."""
    writer = writer_for(choice, size.cubes)
    held = size.held(writer)
    if held > CUBE_LIMITS[writer]:
        hint = ' or render.cubes = "instanced"' if writer == "objects" else ""
        raise SceneTooBig(f"{size.describe()}: {held:,} cubes and objects; a scene of {writer} holds at most "
                          f"{CUBE_LIMITS[writer]:,} — use smaller layers{hint}, or train with --no-render")
    if held > CUBE_WARNINGS[writer]:
        return writer, [f"{held:,} cubes drawn as {writer}; building the scene will take minutes"]
    return writer, []


FORWARD_STEP_FRAMES = 12  # between two columns of neurons lighting up in the forward pass
MIN_STEP_FRAMES = 6  # the shortest a stage's turn gets to keep the passes in their share: one weight flash
DEFAULT_PASS_SHARE = 0.25  # of the film's frames, at most, spent in forward passes (render.forward_pass_share)


def frame_count(records: int, frames_per_record: int, style: str = "diagram", forward_pass: str = "none",
                forward_pass_every: int = 1, columns: int = 0,
                share: float = DEFAULT_PASS_SHARE) -> tuple[int, int, int]:
    """(the last frame, forward passes shown, frames they add) of a run of ``records`` drawn
    ``frames_per_record`` apart; the film's forward passes over ``columns`` stages add frames, at
    most ``share`` of the film's (:func:`fit_passes`)."""
    frames = 1 + (records - 1) * frames_per_record
    if style != "film":
        return frames, 0, 0
    shown, step = fit_passes(records, frames_per_record, forward_pass, forward_pass_every, columns, share)
    added = shown * pass_frames(columns, step)
    return frames + added, shown, added




def pass_frames(columns: int, step: int = FORWARD_STEP_FRAMES) -> int:
    """Frames one forward pass over ``columns`` neuron columns takes (0 without columns): all dark,
    then one column lit every ``step`` frames, the last held for ``step`` frames."""
    return (columns + 1) * step if columns else 0


def pass_records(records: int, mode: str, every: int, keep: int | None = None) -> list[int]:
    """The records a forward pass of ``mode`` (see :data:`catalog.FORWARD_PASSES`) shows, in order:
    ``"intro"`` record 0 before the run and the last record (the trained network) after it;
    ``"every"`` also every ``every``-th record in between, or only ``keep`` passes in all (the
    first and last, and the rest of them evenly spread over the middle ones; :func:`fit_passes`)."""
    if mode == "none" or records < 1:
        return []
    if mode not in ("intro", "every"):
        raise ValueError(f"pass_records: mode must be one of none, intro, every, got {mode!r}")
    if mode == "every" and every < 1:
        raise ValueError(f"pass_records: every must be at least 1, got {every}")
    middle = range(every, records - 1, every) if mode == "every" else range(0)
    ends = min(records, 2)
    if keep is not None and keep < ends + len(middle):
        kept = max(keep - ends, 0)
        middle = [middle[(2 * j + 1) * len(middle) // (2 * kept)] for j in range(kept)]
    return sorted({0, *middle, records - 1})


def pass_count(records: int, mode: str, every: int) -> int:
    """``len(pass_records(records, mode, every))``, counted without listing a billion records."""
    if mode == "none" or records < 1:
        return 0
    middle = len(range(every, records - 1, every)) if mode == "every" else 0
    return min(records, 2) + middle


def fit_passes(records: int, frames_per_record: int, mode: str, every: int, columns: int,
               share: float = DEFAULT_PASS_SHARE, step: int = FORWARD_STEP_FRAMES) -> tuple[int, int]:
    """(how many forward passes show, frames per stage) so that the passes over ``columns`` stages
    take at most ``share`` of the film's frames (1: no bound): first the passes in the middle of the
    run are thinned out (:func:`pass_records`' ``keep``); when the opening and closing pass alone
    would take more, each stage's turn is shortened, to ``MIN_STEP_FRAMES`` at the least (so a very
    short run's two passes may still take more than ``share``)."""
    if not 0 < share <= 1:
        raise ValueError(f"fit_passes: share must be in (0, 1], got {share}")
    count = pass_count(records, mode, every)
    length = pass_frames(columns, step)
    run = 1 + (records - 1) * frames_per_record
    budget = math.inf if share == 1 else share / (1 - share) * run  # passes / (run + passes) <= share
    if count * length <= budget:
        return count, step
    ends = min(count, 2)
    if ends * length <= budget:
        return max(ends, int(budget // length)), step
    return ends, min(step, max(MIN_STEP_FRAMES, int(budget // (ends * (columns + 1)))))
