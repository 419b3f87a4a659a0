"""The film's camera path and HUD maths (numpy only, no bpy) and its preset keys."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.picture import film as film_plan
from nnviz_addon.preset.config import PresetError, load_preset, presets_dir

NETWORK = ((0.0, -1.0, -8.0), (20.0, 1.0, 0.0))
LAYERS = [((0.0, -1.0, -8.0), (6.0, 1.0, 0.0)), ((9.0, -1.0, -4.0), (20.0, 1.0, 0.0))]
CLOSE_UP = film_plan.close_up_box((3.0, 0.0, -3.0))
EVERYTHING = ((-3.0, -1.0, -12.0), (30.0, 1.0, 6.0))


def project(points: np.ndarray, location: np.ndarray, euler: np.ndarray, lens: film_plan.Lens) -> np.ndarray:
    """(x, y) of ``points`` in the content window, -1..1 inside, for a camera at this pose: an
    independent projection through the rotation matrix Blender builds from XYZ Euler angles."""
    ax, ay, az = euler

    def rotation(axis: int, angle: float) -> np.ndarray:
        c, s = np.cos(angle), np.sin(angle)
        i, j = [k for k in range(3) if k != axis]
        matrix = np.eye(3)
        matrix[i, i], matrix[i, j], matrix[j, i], matrix[j, j] = c, -s, s, c
        return matrix

    world_from_camera = rotation(2, az) @ rotation(1, ay) @ rotation(0, ax)
    local = (points - location) @ world_from_camera  # rows: camera-local coordinates
    depth = -local[:, 2]
    assert np.all(depth > 0), "a point is behind the camera"
    return np.stack([local[:, 0] / depth / lens.tan_x, local[:, 1] / depth / lens.tan_y], axis=1)


@pytest.mark.parametrize("aspect", [16 / 9, 1.0, 9 / 16])
@pytest.mark.parametrize("kind", ["fly-through", "orbit", "static"])
def test_every_shot_frames_its_box_whole(kind: str, aspect: float) -> None:
    lens = film_plan.Lens.for_frame(aspect)
    shots = film_plan.path(kind, NETWORK, LAYERS, CLOSE_UP, EVERYTHING)
    frames = 400
    locations, rotations = film_plan.camera_keys(shots, frames, lens)
    assert locations.shape == rotations.shape == (frames, 3)
    for shot in shots:
        frame = round((shot.start + shot.end) / 2 * (frames - 1))
        xy = project(film_plan.corners(shot.box), locations[frame], rotations[frame], lens)
        assert np.all(np.abs(xy) <= 1.0 - film_plan.MARGIN), (shot.name, xy)
        # ... and fills it: the box touches the margin on one side, it is not a stamp in the middle.
        assert np.max(np.abs(xy)) > 0.8, (shot.name, xy)


def test_the_path_opens_on_the_network_travels_input_to_output_and_ends_on_everything() -> None:
    shots = film_plan.path("fly-through", NETWORK, LAYERS, CLOSE_UP, EVERYTHING, timing=(0.1, 0.2))
    names = [shot.name for shot in shots]
    assert names == ["network", "layer 0", "close-up", "layer 1", "everything"]
    assert shots[0].start == 0.0 and shots[0].end == pytest.approx(0.1)
    assert shots[-1].start == pytest.approx(0.8) and shots[-1].end == 1.0
    assert shots[0].azimuth != 0 and shots[0].elevation > 0  # at an angle
    lens = film_plan.Lens.for_frame(16 / 9)
    locations, _ = film_plan.camera_keys(shots, 500, lens)
    layer_x = [float(np.mean(locations[round((s.start + s.end) / 2 * 499)][0])) for s in shots[1:4:2]]
    assert layer_x[0] < layer_x[1]  # layer 0 before layer 1


def test_the_close_up_makes_one_cube_a_good_part_of_the_frame() -> None:
    lens = film_plan.Lens.for_frame(16 / 9)
    shots = film_plan.path("fly-through", NETWORK, LAYERS, CLOSE_UP, EVERYTHING)
    close_up = next(s for s in shots if s.name == "close-up")
    locations, rotations = film_plan.camera_keys(shots, 500, lens)
    frame = round((close_up.start + close_up.end) / 2 * 499)
    cube = film_plan.corners(((2.6, -0.4, -3.4), (3.4, 0.4, -2.6)))  # the 0.8-unit cube at the centre
    xy = project(cube, locations[frame], rotations[frame], lens)
    height_share = (xy[:, 1].max() - xy[:, 1].min()) / 2
    assert height_share > 0.3


def test_the_camera_glides_without_jumps() -> None:
    lens = film_plan.Lens.for_frame(16 / 9)
    for kind in ("fly-through", "orbit"):
        locations, rotations = film_plan.camera_keys(
            film_plan.path(kind, NETWORK, LAYERS, CLOSE_UP, EVERYTHING), 600, lens)
        steps = np.linalg.norm(np.diff(locations, axis=0), axis=1)
        assert steps.max() < 10 * np.median(steps[steps > 0]) + 1e-6
        assert np.abs(np.diff(rotations, axis=0)).max() < np.radians(2)


def test_static_holds_one_pose() -> None:
    lens = film_plan.Lens.for_frame(16 / 9)
    locations, rotations = film_plan.camera_keys(film_plan.path("static", NETWORK, LAYERS, CLOSE_UP, EVERYTHING),
                                                 50, lens)
    assert np.ptp(locations, axis=0).max() == 0 and np.ptp(rotations, axis=0).max() == 0


def test_hud_placement_fits_the_band() -> None:
    lens = film_plan.Lens.for_frame(16 / 9)
    x0, x1, y0, y1 = lens.frame_at(film_plan.HUD_DISTANCE)
    group = ((0.0, 0.0, -5.0), (30.0, 0.0, 0.0))
    for side in ("left", "right"):
        place = film_plan.hud_placement(group, lens, side)
        corners = [(place.offset[0] + place.scale * (x - place.anchor[0]),
                    place.offset[1] + place.scale * (z - place.anchor[1])) for x in (0.0, 30.0) for z in (-5.0, 0.0)]
        xs, ys = zip(*corners, strict=True)
        assert x0 <= min(xs) and max(xs) <= x1
        assert y1 - film_plan.HUD_BAND * (y1 - y0) <= min(ys) and max(ys) <= y1
    # The band is above the content window the shots use.
    assert lens.shift_y > 0


def test_relief_grows_with_magnitude() -> None:
    depth = film_plan.relief(np.array([0.0, -0.5, 1.0, 3.0]), 1.0)
    assert depth[0] == pytest.approx(0.12)
    assert depth[1] < depth[2] == depth[3]  # |value|, clipped at the scale


def test_camera_keys_refuses_bad_paths() -> None:
    lens = film_plan.Lens.for_frame(1.5)
    with pytest.raises(ValueError, match="at least one shot"):
        film_plan.camera_keys([], 10, lens)
    shot = film_plan.Shot("a", NETWORK, 0, 0, 0.5, 0.6)
    with pytest.raises(ValueError, match="time order"):
        film_plan.camera_keys([shot, film_plan.Shot("b", NETWORK, 0, 0, 0.2, 0.3)], 10, lens)
    with pytest.raises(ValueError, match="fly-through, orbit, static"):
        film_plan.path("zoom", NETWORK, LAYERS, CLOSE_UP, EVERYTHING)


def test_film_keys_are_validated() -> None:
    preset = load_preset(presets_dir() / "xor.toml")
    assert preset.render.style == "diagram" and preset.render.motion == "linear"
    film = preset.replace(render={"style": "film", "camera_path": "orbit", "camera_timing": [0.2, 0.3],
                                  "motion": "smooth"})
    assert (film.render.style, film.render.camera_path, film.render.camera_timing) == ("film", "orbit", (0.2, 0.3))
    assert film.render.forward_pass_share == 0.25  # a user can raise it, to 1 (no bound)
    assert preset.replace(render={"forward_pass_share": 1}).render.forward_pass_share == 1
    for key, value, message in (("style", "movie", "render.style: 'movie' is not allowed; allowed: diagram, film"),
                                ("camera_path", "spin", "render.camera_path: 'spin' is not allowed"),
                                ("motion", "eased", "render.motion: 'eased' is not allowed"),
                                ("forward_pass", "outro", "render.forward_pass: 'outro' is not allowed; allowed: "
                                 "none, intro, every"),
                                ("forward_pass_every", 0, "render.forward_pass_every"),
                                ("forward_pass_share", 0, r"render.forward_pass_share must be in \(0, 1\], got 0"),
                                ("forward_pass_share", 1.5, r"render.forward_pass_share must be in \(0, 1\]"),
                                ("camera_timing", [0.5, 0.1], r"render.camera_timing\[0\] must be in \[0, 0.45\]"),
                                ("camera_timing", 0.1, "render.camera_timing: expected a list of two numbers")):
        with pytest.raises(PresetError, match=message):
            preset.replace(render={key: value})


def test_the_smallest_tensors_cast_shadows_up_to_the_budget_of_blocks() -> None:
    mnist = {"0.weight": 100_352, "0.bias": 128, "2.weight": 1_280, "2.bias": 10}
    assert film_plan.shadow_casters(mnist) == {"0.bias", "2.weight", "2.bias"}
    assert film_plan.shadow_casters(mnist, budget=1_418) == {"0.bias", "2.weight", "2.bias"}
    assert film_plan.shadow_casters(mnist, budget=1_417) == {"0.bias", "2.bias"}
    assert film_plan.shadow_casters(mnist, budget=200_000) == set(mnist)
    # Ties in size go by name, so the same network always casts the same shadows.
    assert film_plan.shadow_casters({"b": 3, "a": 3}, budget=3) == {"a"}
