"""The camera's plan (pure numpy): it stands in front of the picture's centre and shows it whole."""

import pytest

from nnviz_addon.picture import camera


@pytest.mark.parametrize("aspect", [16 / 9, 1.0, 9 / 16])
def test_the_camera_centres_the_bounds_and_shows_them_with_a_margin(aspect):
    bounds = ((-2.0, -1.0, 1.0), (6.0, 1.0, 5.0))  # 8 wide, 4 high, centred on (2, 3)
    framing = camera.framing(bounds, aspect)
    assert framing.location == pytest.approx((2.0, -camera.CAMERA_DISTANCE, 3.0))
    # Blender's ortho scale spans the frame's wider side; the frame's width and height follow.
    width = framing.ortho_scale if aspect >= 1 else framing.ortho_scale * aspect
    height = width / aspect
    assert width >= 8.0 / (1 - 2 * 0.06) - 1e-9 and height >= 4.0 / (1 - 2 * 0.06) - 1e-9
    assert width == pytest.approx(8 / 0.88) or height == pytest.approx(4 / 0.88)  # one side fits tight


def test_aspect_counts_pixel_aspect():
    assert camera.aspect((1920, 1080)) == pytest.approx(16 / 9)
    assert camera.aspect((1000, 1000), (2.0, 1.0)) == pytest.approx(2.0)


def test_a_frame_without_an_aspect_is_refused():
    with pytest.raises(ValueError, match="aspect must be a positive number"):
        camera.framing(((0, 0, 0), (1, 0, 1)), 0.0)
