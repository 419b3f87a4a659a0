"""The task views' plan (pure numpy): swatches, tiles and points, digit pixels and bars, table bars."""

import numpy as np
import pytest

from nnviz_addon.history import History, LayerSpec
from nnviz_addon.picture import colormap, task_views
from nnviz_addon.picture.task_views import Bars, Patches, Text
from nnviz_addon.picture.view_layout import NEURON_RADIUS, Rect

RECT = Rect(left=20.0, bottom=-6.0, width=8.0, height=8.0, text_size=0.6)
# As large as a deep network's frame makes it: points wider than the gap between a point and its ring.
LARGE = Rect(left=20.0, bottom=-60.0, width=80.0, height=80.0, text_size=6.0)
WIDE = Rect(left=20.0, bottom=-6.0, width=16.0, height=8.0, text_size=0.6)  # room for a table's title
GREEN, GREY = (0.35, 0.85, 0.45), (0.62, 0.62, 0.62)


def srgb_to_linear(c) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def history_with(records: int, **data) -> History:
    """A History whose per-record probe keys (outputs, probabilities, predictions) are series, the rest static."""
    zeros = {"0.weight": np.zeros((records, 1, 1))}
    series = {k: v for k, v in data.items() if np.ndim(v) and len(v) == records and k.split("/")[1] in
              ("outputs", "probability", "probabilities", "predictions")}
    static = {k: v for k, v in data.items() if k not in series}
    return History(name="t", structure=[LayerSpec("0", "Linear", 1, 1, "0.weight", None, None)],
                   steps=np.arange(records), loss=np.ones(records), params=zeros, grads=zeros,
                   series={k: np.asarray(v) for k, v in series.items()},
                   static={k: np.asarray(v) for k, v in static.items()})


def plan(history: History, inside: bool = True, rect: Rect = RECT) -> task_views.TaskViewPlan:
    """The plan, checked to stay inside ``rect`` (``inside``; a data point on the extent's edge pokes
    out by its ring)."""
    picture = task_views.plan(history, np.arange(history.records) + 1.0, rect)
    assert picture is not None
    if not inside:
        return picture
    (x0, _, z0), (x1, _, z1) = picture.bounds
    assert rect.left - 1e-9 <= x0 and x1 <= rect.right + 1e-9 and rect.bottom - 1e-9 <= z0 and z1 <= rect.top + 1e-9
    return picture


def piece(picture, kind, prefix: str):
    found = [i for i in picture.items if isinstance(i, kind) and (i.names[0] if kind is not Text else i.name)
             .startswith(prefix)]
    assert len(found) == 1, prefix
    return found[0]


def texts(picture) -> list[str]:
    return [i.label.text for i in picture.items if isinstance(i, Text)]


def test_no_task_data_plans_nothing():
    assert task_views.plan(history_with(2), np.array([1.0, 2.0]), RECT) is None


def test_digit_pixels_are_a_square_grid_and_the_bars_are_the_probabilities():
    image = np.zeros((8, 8))
    image[2, 5] = 1.0
    probabilities = np.full((3, 10), 0.1)
    probabilities[:, 7] = [0.1, 0.5, 0.9]
    picture = plan(history_with(3, **{"digits/image": image, "digits/label": np.array(7),
                                      "digits/probabilities": probabilities}))
    assert "probe digit · label 7" in texts(picture)
    pixels = piece(picture, Patches, "digit · pixel")
    assert pixels.mesh == "square" and len(pixels.names) == 64 and pixels.keyed_rgba is None
    pitch = pixels.scale[0]
    assert pixels.scale == (pitch, 1.0, pitch)
    # row-major, left to right then top to bottom, touching, the first at the view's left edge
    np.testing.assert_allclose(pixels.positions[1] - pixels.positions[0], [pitch, 0, 0])
    np.testing.assert_allclose(pixels.positions[8] - pixels.positions[0], [0, 0, -pitch])
    assert pixels.positions[0, 0] - pitch / 2 == pytest.approx(RECT.left)
    np.testing.assert_allclose(pixels.rgba[2 * 8 + 5], [1, 1, 1, 1])
    np.testing.assert_allclose(pixels.rgba[0, :3], srgb_to_linear([0.06] * 3))
    bars = piece(picture, Bars, "digit · probability")
    np.testing.assert_array_equal(bars.heights, probabilities)
    np.testing.assert_allclose(bars.rgba[7, :3], srgb_to_linear(GREEN))
    np.testing.assert_allclose(bars.rgba[0, :3], srgb_to_linear(GREY))
    assert (np.diff(bars.positions[:, 0]) > bars.width).all()  # bars side by side, not overlapping
    assert bars.positions[:, 0].min() - bars.width / 2 > pixels.positions[:, 0].max() + pitch / 2


def test_rgb_swatches_show_input_target_and_the_keyed_answer():
    inputs = np.array([[1.0, 0.0, 0.0], [0.2, 0.4, 0.6]])
    targets = 1 - inputs
    outputs = np.stack([np.full((2, 3), 0.5), targets])
    picture = plan(history_with(2, **{"rgb/inputs": inputs, "rgb/targets": targets, "rgb/outputs": outputs}))
    assert {"colour probes", "input", "target", "network"} <= set(texts(picture))
    shown = piece(picture, Patches, "rgb · input")
    np.testing.assert_allclose(shown.rgba[:, :3], srgb_to_linear(inputs))
    np.testing.assert_allclose(piece(picture, Patches, "rgb · target").rgba[:, :3], srgb_to_linear(targets))
    network = piece(picture, Patches, "rgb · network")
    np.testing.assert_allclose(network.keyed_rgba[..., :3], srgb_to_linear(outputs))
    # columns left to right, rows top to bottom, one row per probe colour
    assert shown.positions[0, 0] < piece(picture, Patches, "rgb · target").positions[0, 0] < network.positions[0, 0]
    assert shown.positions[0, 2] > shown.positions[1, 2]
    still = plan(history_with(1, **{"rgb/inputs": inputs, "rgb/targets": targets, "rgb/outputs": outputs[:1]}))
    assert piece(still, Patches, "rgb · network").keyed_rgba is None


def test_decision_boundary_points_sit_on_the_tiles_of_their_coordinates():
    grid = 5
    probability = np.zeros((2, grid, grid))
    probability[1] = 1.0
    xy = np.array([[-2.0, -1.0], [2.0, 3.0]])
    picture = plan(history_with(2, **{"points/xy": xy, "points/labels": np.array([0, 1]),
                                      "boundary/extent": np.array([-2.0, 2.0, -1.0, 3.0]),
                                      "boundary/probability": probability,
                                      "task/class_names": np.array(["a", "b"])}), inside=False, rect=LARGE)
    tiles = piece(picture, Patches, "boundary · tile")
    assert len(tiles.names) == grid * grid and tiles.names[grid + 2] == "boundary · tile[1,2]"
    orange, blue = srgb_to_linear([0.48, 0.275, 0.06]), srgb_to_linear([0.08, 0.28, 0.47])
    np.testing.assert_allclose(tiles.keyed_rgba[0, :, :3], np.tile(orange, (grid * grid, 1)), atol=1e-12)
    np.testing.assert_allclose(tiles.keyed_rgba[1, :, :3], np.tile(blue, (grid * grid, 1)), atol=1e-12)
    points = piece(picture, Patches, "data · point")
    assert points.mesh == "sphere" and points.labels.tolist() == [0, 1]
    # the lowest-left point is on tile[0,0], the top-right one on the last tile, in front of them
    np.testing.assert_allclose(points.positions[0, [0, 2]], tiles.positions[0, [0, 2]])
    np.testing.assert_allclose(points.positions[1, [0, 2]], tiles.positions[-1, [0, 2]])
    assert points.positions[0, 1] < piece(picture, Patches, "data · outline").positions[0, 1] < tiles.positions[0, 1]
    # each point's front is ahead of its ring's, however large the points are drawn
    rings = piece(picture, Patches, "data · outline")
    def front(patches: Patches) -> float:
        return patches.positions[0, 1] - patches.scale[1] * NEURON_RADIUS

    assert front(points) < front(rings)
    key = {i.label.text: i.srgb for i in picture.items if isinstance(i, Text)}
    assert key["a"] == pytest.approx((0.96, 0.55, 0.12)) and key["b"] == pytest.approx((0.16, 0.56, 0.94))


def test_decision_boundary_refuses_labels_past_its_classes():
    with pytest.raises(ValueError, match="points/labels must be 0 or 1"):
        task_views.plan(history_with(1, **{"points/xy": np.zeros((1, 2)), "points/labels": np.array([2]),
                                           "boundary/extent": np.array([0.0, 1.0, 0.0, 1.0]),
                                           "boundary/probability": np.zeros((1, 3, 3))}), np.array([1.0]), RECT)


def test_table_classes_are_a_bar_per_class_and_sample_the_true_class_green():
    probabilities = np.array([[[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]] * 2)
    probabilities[1] = probabilities[1, :, ::-1]
    picture = plan(history_with(2, **{"table/labels": np.array([2, 0]), "table/probabilities": probabilities,
                                      "task/class_names": np.array(["setosa", "versicolor", "virginica"])}), rect=WIDE)
    assert {"setosa", "versicolor", "virginica", "#1", "#2"} <= set(texts(picture))
    bars = piece(picture, Bars, "table · bar")
    assert bars.names[:3] == ["table · bar[0,0]", "table · bar[0,1]", "table · bar[1,0]"]
    # bar[class, sample] is the network's P(class) for that sample at each record
    np.testing.assert_array_equal(bars.heights.reshape(2, 3, 2), probabilities.transpose(0, 2, 1))
    green = [i for i in range(6) if np.allclose(bars.rgba[i, :3], srgb_to_linear(GREEN))]
    assert green == [1, 4]  # sample #2 is class 0 (bar[0,1]), sample #1 class 2 (bar[2,0])
    tracks = piece(picture, Patches, "table · track")
    np.testing.assert_allclose(tracks.positions[:, [0, 2]] - [0, bars.height / 2], bars.positions[:, [0, 2]])


def test_a_recorded_probes_values_are_a_labelled_row_of_cells_on_its_own_scale():
    values = np.array([0.5, -2.0, 0.0, 1.25, -0.75])
    picture = plan(history_with(2, **{"probe/values": values}), rect=WIDE)
    cells = piece(picture, Patches, "probe · value")
    assert cells.names == [f"probe · value[{i}]" for i in range(5)] and cells.keyed_rgba is None  # static
    np.testing.assert_allclose(cells.rgba, colormap.colors(values, 2.0))  # the largest |value| at the map's end
    assert len(set(cells.positions[:, 2])) == 1 and np.all(np.diff(cells.positions[:, 0]) > 0)  # one row
    shown = texts(picture)
    assert "probe input · 5 values · colour ±2" in shown
    assert {"0", "4", "0.5", "-2", "1.2", "-0.75"} <= set(shown)  # each cell's index over it, its value under it
    index = next(i.label for i in picture.items if isinstance(i, Text) and i.label.text == "4")
    assert abs(index.position[0] - cells.positions[4, 0]) < 1e-9 and index.position[2] > cells.positions[4, 2]


def test_probe_values_go_above_the_view_the_history_has_and_long_ones_wrap():
    probabilities = np.array([[[0.2, 0.8]], [[0.7, 0.3]]])
    history = history_with(2, **{"probe/values": np.linspace(-1, 1, 100), "table/labels": np.array([1]),
                                 "table/probabilities": probabilities})
    picture = plan(history, rect=WIDE)
    cells = piece(picture, Patches, "probe · value")
    assert len(cells.names) == task_views.MAX_SHOWN_VALUES
    assert len(set(cells.positions[:, 2].round(6))) == task_views.MAX_SHOWN_VALUES // task_views.VALUES_PER_ROW
    assert "probe input · 100 values, the first 64 shown · colour ±1" in texts(picture)
    tracks = piece(picture, Patches, "table · track")
    title = next(i.label for i in picture.items if isinstance(i, Text) and i.label.text.startswith("P(class)"))
    assert title.position[2] + WIDE.text_size < cells.positions[:, 2].min()  # the bars' view under the values
    assert tracks.positions[:, 2].max() < title.position[2]


def test_table_values_scale_the_targets_and_predictions_on_the_range():
    targets = np.array([1.0, 3.0, 5.0])
    predictions = np.array([[3.0, 3.0, 3.0], [1.0, 3.0, 9.0]])
    picture = plan(history_with(2, **{"table/targets": targets, "table/predictions": predictions,
                                      "table/range": np.array([1.0, 5.0])}), rect=WIDE)
    bars = piece(picture, Bars, "table · bar")
    heights = bars.heights.reshape(2, 2, 3)  # records, (target, network), samples
    np.testing.assert_allclose(heights[:, 0], [[0.05, 0.525, 1.0]] * 2)
    np.testing.assert_allclose(heights[:, 1], [[0.525] * 3, [0.05, 0.525, 1.0]])  # clipped at the top
    assert {"target", "network"} <= set(texts(picture))
