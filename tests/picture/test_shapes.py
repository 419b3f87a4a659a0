"""The shapes plans are made of (pure numpy): the instanced writer's squares."""

import numpy as np

from nnviz_addon.picture.shapes import CUBE_SIZE, square_centres, square_corners


def test_a_square_is_a_cube_front_face_about_its_centre_and_scales_about_it():
    centres = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, -2.0]], dtype=np.float32)
    corners = square_corners(centres)
    assert corners.shape == (2, 4, 3)
    half = CUBE_SIZE / 2
    np.testing.assert_allclose(corners[1], [[3 - half, 0, -2 - half], [3 + half, 0, -2 - half],
                                            [3 + half, 0, -2 + half], [3 - half, 0, -2 + half]], rtol=1e-6)
    assert np.all(corners[..., 1] == 0)  # in the picture plane, facing the camera
    np.testing.assert_allclose(square_centres(corners.reshape(-1, 3)), centres, atol=1e-6)
    shrunk = square_corners(centres, np.array([0.5, 1.0]))
    np.testing.assert_allclose(shrunk[0].max(axis=0) - shrunk[0].min(axis=0), [half, 0, half], rtol=1e-6)
    np.testing.assert_allclose(shrunk[1], corners[1], rtol=1e-6)
