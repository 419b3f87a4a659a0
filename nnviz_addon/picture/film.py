"""The film's camera and heads-up overlay, as pure numpy (no bpy).

The picture is the diagram's (:mod:`.layout`: x from input to output, z up, the cubes at y = 0);
the film looks at it with a perspective camera from in front (−y) at an angle. A path is a list of
:class:`Shot`: a box that must be in frame, seen from an azimuth and elevation, held over a share
of the film. Between two shots the camera glides (smoothstep in time; target and angles linear,
distance geometric), and :func:`camera_keys` gives its pose at every frame, keyed by the scene as
plain F-Curves (no handler).

The top ``HUD_BAND`` of the frame is kept for the heads-up overlay (title, counter, legends, fixed
to the camera): every shot fits its box into the rest of the frame, which the camera's vertical
shift centres on the optical axis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..history import History
from . import view_layout
from .cubes import CubeScales
from .layout import Layout
from .shapes import CUBE_SIZE, Block, Bounds, text_width

LENS_MM = 35.0
SENSOR_MM = 36.0  # Blender's default sensor; with AUTO fit it spans the frame's longer side
HUD_BAND = 0.17  # of the frame's height, at the top: the overlay's
HUD_DISTANCE = 1.0  # in front of the camera, nearer than anything in the picture
MARGIN = 0.06  # of the content window, free on every side of a shot's box
CLOSE_UP_CELLS = 2.2  # a close-up frames this many cells around one cube: the cube fills ~40% of it


@dataclass(frozen=True)
class Shot:
    """Frame ``box`` whole, the camera ``azimuth`` degrees round z (positive: from the right) and
    ``elevation`` degrees above it, held from share ``start`` to ``end`` of the film."""

    name: str
    box: Bounds
    azimuth: float
    elevation: float
    start: float
    end: float


@dataclass(frozen=True)
class Lens:
    """The perspective frustum: tangents of the half angles of the content window (the frame less
    the HUD band) and the camera's vertical shift that centres that window."""

    tan_x: float
    tan_y: float
    shift_y: float

    @classmethod
    def for_frame(cls, aspect: float, lens_mm: float = LENS_MM, sensor_mm: float = SENSOR_MM,
                  band: float = HUD_BAND) -> Lens:
        if not (aspect > 0 and math.isfinite(aspect)):
            raise ValueError(f"Lens.for_frame: aspect must be a positive number, got {aspect}")
        longer = sensor_mm / 2 / lens_mm
        tan_x, tan_y = (longer, longer / aspect) if aspect >= 1 else (longer * aspect, longer)
        # Shift is in units of the longer side; moving the frame up by half the band puts the
        # window under the band on the axis.
        shift_y = band / 2 * (1 / aspect if aspect >= 1 else 1.0)
        return cls(tan_x=tan_x, tan_y=tan_y * (1 - band), shift_y=shift_y)

    def frame_at(self, distance: float, band: float = HUD_BAND) -> tuple[float, float, float, float]:
        """The whole frame (x0, x1, y0, y1) in camera-local coordinates at ``distance`` in front."""
        half_h = self.tan_y / (1 - band) * distance
        half_w = self.tan_x * distance
        centre = self.shift_y * 2 * max(half_w, half_h)
        return -half_w, half_w, centre - half_h, centre + half_h


def basis(azimuth: float, elevation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forward, right, up) world vectors of a camera at ``azimuth``/``elevation`` degrees; at 0, 0
    it looks along +y like the diagram's camera."""
    a, e = math.radians(azimuth), math.radians(elevation)
    forward = np.array([-math.sin(a) * math.cos(e), math.cos(a) * math.cos(e), -math.sin(e)])
    right = np.array([math.cos(a), math.sin(a), 0.0])
    up = np.cross(right, forward)
    return forward, right, up


def euler_of(azimuth: float | np.ndarray, elevation: float | np.ndarray) -> np.ndarray:
    """Blender XYZ Euler angles (radians) of a camera (it looks down its local −z) at those angles."""
    a, e = np.radians(azimuth), np.radians(elevation)
    return np.stack(np.broadcast_arrays(np.pi / 2 - e, np.zeros_like(a), a), axis=-1)


def corners(box: Bounds) -> np.ndarray:
    low, high = np.asarray(box[0], dtype=np.float64), np.asarray(box[1], dtype=np.float64)
    return np.array([[(low, high)[i][0], (low, high)[j][1], (low, high)[k][2]]
                     for i in (0, 1) for j in (0, 1) for k in (0, 1)])


def fit(box: Bounds, azimuth: float, elevation: float, lens: Lens, margin: float = MARGIN
        ) -> tuple[np.ndarray, float]:
    """(target, distance): the camera at ``target - distance * forward`` sees all of ``box``
    inside the content window with ``margin`` free; target is the box's centre."""
    forward, right, up = basis(azimuth, elevation)
    points = corners(box)
    target = points.mean(axis=0)
    relative = points - target
    x, y, z = relative @ right, relative @ up, relative @ forward
    scale = 1 - 2 * margin
    # A corner at depth distance + z projects to x / (distance + z): inside when that is ≤ tan.
    distance = max(np.max(np.abs(x) / (lens.tan_x * scale) - z), np.max(np.abs(y) / (lens.tan_y * scale) - z))
    return target, float(distance)


def smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def camera_keys(shots: Sequence[Shot], frames: int, lens: Lens) -> tuple[np.ndarray, np.ndarray]:
    """(locations (frames, 3), XYZ Euler rotations (frames, 3)) of the camera at frames 0..frames-1
    of the film: each shot held over its share, smooth glides between them."""
    if not shots:
        raise ValueError("camera_keys: a path needs at least one shot")
    if frames < 1:
        raise ValueError(f"camera_keys: frames must be at least 1, got {frames}")
    starts = np.array([s.start for s in shots])
    ends = np.array([s.end for s in shots])
    if np.any(ends < starts) or np.any(starts[1:] < ends[:-1]):
        raise ValueError("camera_keys: shots must be in time order without overlapping")
    fits = [fit(s.box, s.azimuth, s.elevation, lens) for s in shots]
    targets = np.array([t for t, _ in fits])
    log_distance = np.log(np.array([d for _, d in fits]))
    angles = np.array([(s.azimuth, s.elevation) for s in shots])
    share = np.arange(frames) / max(frames - 1, 1)
    # Index of the last shot begun; u: how far the glide from it to the next has gone.
    current = np.clip(np.searchsorted(starts, share, side="right") - 1, 0, len(shots) - 1)
    following = np.minimum(current + 1, len(shots) - 1)
    gap = np.maximum(starts[following] - ends[current], 1e-9)
    u = smoothstep((share - ends[current]) / gap)
    u = np.where(following == current, 0.0, u)[:, None]
    target = targets[current] * (1 - u) + targets[following] * u
    angle = angles[current] * (1 - u) + angles[following] * u
    distance = np.exp(log_distance[current] * (1 - u[:, 0]) + log_distance[following] * u[:, 0])
    forward = np.array([basis(a, e)[0] for a, e in angle])
    return target - distance[:, None] * forward, euler_of(angle[:, 0], angle[:, 1])


def close_up_box(centre: Sequence[float], cells: float = CLOSE_UP_CELLS, depth: float = 1.0) -> Bounds:
    """The box of ``cells`` grid cells around one cube at ``centre`` (``depth`` deep, its relief)."""
    x, y, z = (float(c) for c in centre)
    h = cells / 2
    return (x - h, y - depth / 2, z - h), (x + h, y + depth / 2, z + h)


@dataclass(frozen=True)
class ShotBoxes:
    """The boxes the camera path frames: the ``network`` (the cubes), each of its ``layers`` from
    input to output, a ``close_up`` on one cube of the largest tensor, and ``everything`` (the
    views too)."""

    network: Bounds
    layers: list[Bounds]
    close_up: Bounds
    everything: Bounds


def shot_boxes(layout: Layout, views: Sequence[Bounds | None], depth: float) -> ShotBoxes:
    """The :class:`ShotBoxes` of ``layout`` beside ``views``, the blocks standing out of the grid
    plane by up to ``depth`` (the deepest block's, :func:`deepest`)."""
    half = max(depth, CUBE_SIZE) / 2
    # The layers in the order the scene makes their collections (the layout's labels: a grouped
    # model's module order), which its blocks' own order need not follow.
    layer_boxes: dict[str, list[Bounds]] = {name: [] for name in layout.layer_labels}
    reach = np.array([0.5, half, 0.5])  # from a cube's centre to its cell's edge, and its relief
    for block in layout.blocks:
        low = block.positions.min(axis=0) - reach
        high = block.positions.max(axis=0) + reach
        layer_boxes.setdefault(block.layer, []).append((tuple(low), tuple(high)))
    for name, label in layout.layer_labels.items():
        x, y, z = label.position
        layer_boxes.setdefault(name, []).append(((x, y, z), (x + text_width(label.text, label.size), y,
                                                              z + label.size)))
    layers = [view_layout.union(*boxes) for boxes in layer_boxes.values() if boxes]
    network = view_layout.union(*layers)
    weights = max(layout.blocks, key=lambda b: len(b.positions))
    centre = weights.positions[len(weights.positions) // 2]
    return ShotBoxes(network, layers, close_up_box(centre, depth=2 * half), view_layout.union(network, *views))


def path(kind: str, network: Bounds, layers: Sequence[Bounds], close_up: Bounds, everything: Bounds,
         timing: tuple[float, float] = (0.1, 0.2)) -> list[Shot]:
    """The shots of a camera path ``kind`` (see :data:`config.CAMERA_PATHS`).

    ``network`` is the cubes' box, ``layers`` each layer's box from input to output, ``close_up``
    a few cells around one cube, ``everything`` the whole picture (task view and loss curve
    included); ``timing`` the film's shares on the opening and the closing shot.
    """
    opening, closing = timing
    end_shot = Shot("everything", everything, 12.0, 8.0, 1 - closing, 1.0)
    if kind == "static":
        return [Shot("everything", everything, 18.0, 10.0, 0.0, 1.0)]
    open_shot = Shot("network", network, -32.0, 20.0, 0.0, opening)
    # The middle of the film, between the opening and a glide into the closing shot.
    first, last = opening + 0.06, 1 - closing - 0.08
    if kind == "orbit":
        middle = (first + last) / 2
        return [open_shot,
                Shot("close-up", close_up, -8.0, 12.0, middle - 0.04, middle + 0.04),
                Shot("network", network, 30.0, 16.0, last, last),
                end_shot]
    if kind != "fly-through":
        raise ValueError(f"film path {kind!r} is not one of fly-through, orbit, static")
    # One stop per layer (each held for a third of its slot), the close-up after the first.
    stops = [Shot(f"layer {i}", box, -20.0 + 40.0 * i / max(len(layers) - 1, 1), 12.0, 0.0, 0.0)
             for i, box in enumerate(layers)]
    stops.insert(1, Shot("close-up", close_up, -12.0, 10.0, 0.0, 0.0))
    slot = (last - first) / len(stops)
    timed = [Shot(s.name, s.box, s.azimuth, s.elevation, first + (i + 1 / 3) * slot, first + (i + 2 / 3) * slot)
             for i, s in enumerate(stops)]
    return [open_shot, *timed, end_shot]


FLASH_GAIN = 1.5  # a weight carrying the largest |w·x| of its layer flashes to (1 + gain) × its depth
FLASH_FRAMES = 6  # frames a flash takes to fade back; below FORWARD_STEP_FRAMES, so it ends in its pass


def flash_depths(depth: np.ndarray, share: np.ndarray, gain: float = FLASH_GAIN) -> np.ndarray:
    """A block's depth at the peak of its flash: its ``depth`` grown by ``gain`` × its ``share``."""
    return np.asarray(depth, dtype=np.float64) * (1 + gain * np.asarray(share, dtype=np.float64))


@dataclass(frozen=True)
class HudPlacement:
    """Where a group of picture-plane objects goes on the HUD: a point ``p`` of the XZ plane lands
    at camera-local ``(offset + scale * (p.x - anchor.x), offset + scale * (p.z - anchor.z), -HUD_DISTANCE)``."""

    anchor: tuple[float, float]
    offset: tuple[float, float]
    scale: float


def hud_placement(group: Bounds, lens: Lens, side: str, width_share: float = 0.48,
                  pad: float = 0.02) -> HudPlacement:
    """Fit ``group`` (its box in the XZ plane) into the HUD band at the top of the frame, on the
    ``side`` "left" or "right", at most ``width_share`` of the frame wide, top-aligned."""
    x0, x1, _, y1 = lens.frame_at(HUD_DISTANCE)
    frame_w, frame_h = x1 - x0, (lens.frame_at(HUD_DISTANCE)[3] - lens.frame_at(HUD_DISTANCE)[2])
    band_h = HUD_BAND * frame_h
    (gx0, _, gz0), (gx1, _, gz1) = group
    width, height = max(gx1 - gx0, 1e-9), max(gz1 - gz0, 1e-9)
    scale = min((width_share - pad) * frame_w / width, (band_h - 2 * pad * frame_h) / height)
    top = y1 - pad * frame_h
    if side == "left":
        return HudPlacement((gx0, gz1), (x0 + pad * frame_w, top), scale)
    if side == "right":
        return HudPlacement((gx1, gz1), (x1 - pad * frame_w, top), scale)
    raise ValueError(f"hud_placement: side must be 'left' or 'right', got {side!r}")


RELIEF_FLOOR = 0.12  # a zero weight's depth, as a multiple of its width: still a visible tile
RELIEF_GAIN = 2.4  # the depth a full-scale weight adds


def relief(magnitude: np.ndarray, scale: float, floor: float = RELIEF_FLOOR, gain: float = RELIEF_GAIN) -> np.ndarray:
    """A block's depth (as a multiple of its width) for ``|magnitude| / scale``: ``floor`` at zero
    (so a zero weight is still a visible tile), growing linearly to ``floor + gain`` at full scale."""
    share = np.abs(np.asarray(magnitude, dtype=np.float64)) / scale if scale > 0 else np.zeros(np.shape(magnitude))
    return floor + gain * np.clip(share, 0.0, 1.0)


def depth_source(history: History, scales: CubeScales) -> tuple[Mapping[str, np.ndarray], Mapping[str, float]]:
    """(History key → (records, *shape) what the blocks' depths show, key → its full scale): the
    cube plan's magnitudes and size scales in the magnitude modes, else the values on the colour
    scale, so depth and size show the same thing on the same scale."""
    if scales.sized:
        return scales.magnitudes, scales.size
    return history.params, scales.color


def block_depths(block: Block, shown: Mapping[str, np.ndarray], full: Mapping[str, float]) -> np.ndarray:
    """(records, cubes): the relief of each of ``block``'s cubes at every record (as multiples of
    the cube's width), from :func:`depth_source`'s ``shown`` and ``full`` scales."""
    values = np.asarray(shown[block.key], dtype=np.float64)
    values = values.reshape(len(values), *block.shape)
    return relief(values[(slice(None), *block.indices.T)], full[block.key])


def deepest(blocks: Sequence[Block], shown: Mapping[str, np.ndarray], full: Mapping[str, float]) -> float:
    """The deepest any of ``blocks`` gets over the run, in scene units: relief grows with |x|, so
    it is the largest |x|'s, found without a copy of every record."""
    largest = (float(np.max(np.abs(shown[block.key]), initial=0.0)) for block in blocks)
    return max((float(relief(x, full[b.key])) * CUBE_SIZE for b, x in zip(blocks, largest, strict=True)),
               default=0.0)


# Workbench draws a shadow volume for every casting block at every anti-aliasing sample, and on a
# CPU (llvmpipe) that was most of a big network's film frame: a 784-128-10's 101,632 blocks casting
# made its 1280x720 still 13x the diagram's. A big tensor's many small blocks shadow little but each
# other, and the studio light and the shadows of the smaller tensors stay: leaving the 100,352 out
# changed 0.1% of that frame's pixels, and a 784-16-10's 12,544 changed 0.7% (docs/benchmarks.md).
# So the smallest tensors cast, up to this many blocks together (digits' 2,410 all cast).
SHADOW_CASTING_BLOCKS = 4096


def shadow_casters(blocks: Mapping[str, int], budget: int = SHADOW_CASTING_BLOCKS) -> set[str]:
    """The tensors (keys of ``blocks``, each tensor's block count) whose blocks cast Workbench
    shadows: the smallest first, as many as fit ``budget`` blocks together."""
    casters, total = set(), 0
    for key, count in sorted(blocks.items(), key=lambda item: (item[1], item[0])):
        if total + count > budget:
            break
        casters.add(key)
        total += count
    return casters
