"""engine.set_num_threads / get_num_threads reach the OpenBLAS numpy's own wheel bundles."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from nnviz_addon import engine


@pytest.fixture
def restore_threads() -> Iterator[int]:
    before = engine.get_num_threads()
    yield before
    engine.set_num_threads(before)


def test_the_count_set_is_the_count_openblas_reports(restore_threads: int) -> None:
    # numpy's wheels (1.x and 2.x, both suite lines) bundle an OpenBLAS: the calls must find it
    assert engine._threads._openblas_calls() is not None
    engine.set_num_threads(1)
    assert engine.get_num_threads() == 1
    engine.set_num_threads(2)
    assert engine.get_num_threads() == 2


def test_products_on_one_thread_are_the_same_products(restore_threads: int) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 200)), rng.standard_normal((200, 100))
    engine.set_num_threads(2)
    two = a @ b
    engine.set_num_threads(1)
    np.testing.assert_allclose(a @ b, two, rtol=1e-12)


@pytest.mark.parametrize("count", [0, -1, 1.5, True])
def test_a_count_that_is_not_a_positive_integer_is_refused(count: object) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        engine.set_num_threads(count)  # type: ignore[arg-type]
