"""The limits a run and its scene must keep, decided here once and read by the preset checks, the
scene build, the command line, the API and the panel: Blender's own ranges, the memory a run may
record, how many cubes each scene writer holds and which writer draws a network, and how many frames
a film's forward passes add. Plain numbers and counting rules; no numpy, no bpy."""

from __future__ import annotations

MAX_SAMPLES = 100_000

# -- Limits (README "Limits"). Blender's own hard ranges, so nothing is clamped silently: -------
RESOLUTION_RANGE = (4, 65_536)  # RenderSettings.resolution_x/_y
MAX_FPS = 32_767  # RenderSettings.fps
MAX_FRAME = 1_048_574  # Scene.frame_end
# -- and nnviz's own, so a run ends in a clear message rather than a MemoryError an hour in: -----
MAX_LAYER_UNITS = 100_000  # one entry of model.layers
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


def writer_for(choice: str, parameter_count: int) -> str:
    """``"objects"`` or ``"instanced"`` for a ``render.cubes`` choice and a network's size."""
    if choice not in WRITERS:
        raise ValueError(f"render.cubes must be one of {WRITERS}, got {choice!r}")
    if choice == "auto":
        return "instanced" if parameter_count > AUTO_INSTANCED_ABOVE else "objects"
    return choice


FORWARD_STEP_FRAMES = 12  # between two columns of neurons lighting up in the forward pass


def pass_frames(columns: int, step: int = FORWARD_STEP_FRAMES) -> int:
    """Frames one forward pass over ``columns`` neuron columns takes (0 without columns): all dark,
    then one column lit every ``step`` frames, the last held for ``step`` frames."""
    return (columns + 1) * step if columns else 0


def pass_records(records: int, mode: str, every: int) -> list[int]:
    """The records a forward pass of ``mode`` (see :data:`config.FORWARD_PASSES`) shows, in order:
    ``"intro"`` record 0 before the run and the last record (the trained network) after it;
    ``"every"`` also every ``every``-th record in between."""
    if mode == "none" or records < 1:
        return []
    if mode not in ("intro", "every"):
        raise ValueError(f"pass_records: mode must be one of none, intro, every, got {mode!r}")
    if mode == "every" and every < 1:
        raise ValueError(f"pass_records: every must be at least 1, got {every}")
    middle = range(every, records - 1, every) if mode == "every" else range(0)
    return sorted({0, *middle, records - 1})
