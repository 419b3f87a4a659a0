"""The Recorder's buffers: every row kept in order across chunks, the next chunk mapped ahead of need."""

import ctypes
import mmap
import multiprocessing
import os
import sys

import numpy as np
import pytest

from nnviz_addon.training.record_buffer import CHUNK_BYTES, RecordBuffer

SHAPES = {"w": (3, 2), "b": (3,), "s": ()}
EIGHT_MIB_A_RECORD = {"w": (1024, 1024)}  # float32 values and gradients


def _fill(buffer: RecordBuffer, step: int) -> None:
    values, grads, _ = buffer.append(step, loss=step)
    for key in buffer.shapes:
        values[key][...] = step
        grads[key][...] = -step


@pytest.mark.parametrize("capacity", [1, 3, None])
def test_rows_across_chunks_keep_every_value_in_order(capacity):
    buffer = RecordBuffer(SHAPES, np.float32, capacity)
    for step in range(1, 41):
        _fill(buffer, step)
        buffer.set_series({"activation/0": np.full(4, step, dtype=np.float32)})
    joined = buffer.joined(40)
    assert joined["steps"].tolist() == list(range(1, 41))
    for key, shape in SHAPES.items():
        expected = np.arange(1, 41, dtype=np.float32).reshape(-1, *[1] * len(shape)) * np.ones(shape)
        np.testing.assert_array_equal(joined["params"][key], expected)
        np.testing.assert_array_equal(joined["grads"][key], -expected)
    np.testing.assert_array_equal(joined["series"]["activation/0"][:, 0], np.arange(1, 41))


def test_chunks_double_from_one_row_up_to_the_capacity_or_the_chunk_bytes():
    capped = RecordBuffer(SHAPES, np.float32, capacity=5)
    for step in range(20):
        _fill(capped, step)
    assert [chunk.rows for chunk in capped._chunks] == [1, 2, 4, 5, 5, 5]
    by_bytes = RecordBuffer(EIGHT_MIB_A_RECORD, np.float32)
    for step in range(8):
        by_bytes.append(step, None)
    fitting = CHUNK_BYTES // 2**23
    assert [chunk.rows for chunk in by_bytes._chunks] == [1, 2, fitting, fitting]


def test_a_dropped_record_frees_its_row_for_the_next():
    buffer = RecordBuffer(SHAPES, np.float32, capacity=2)
    for step in (1, 2):
        _fill(buffer, step)
    buffer.append(3, None)  # the first row of a new chunk, dropped unwritten
    buffer.drop_last()
    _fill(buffer, 4)
    joined = buffer.joined(3)
    assert joined["steps"].tolist() == [1, 2, 4]
    assert joined["params"]["s"].tolist() == [1, 2, 4]


def _mapped_fraction(array: np.ndarray) -> float:
    """The share of ``array``'s memory pages the kernel has mapped (``mincore``)."""
    page = mmap.PAGESIZE
    start = array.ctypes.data // page * page
    length = array.ctypes.data + array.nbytes - start
    pages = (ctypes.c_ubyte * -(-length // page))()
    assert ctypes.CDLL(None).mincore(ctypes.c_void_p(start), ctypes.c_size_t(length), pages) == 0
    return sum(flag & 1 for flag in pages) / len(pages)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="asks Linux's mincore which pages are mapped")
def test_the_rows_a_record_is_copied_into_are_already_mapped():
    # a row over 32 MiB, glibc's largest mmap threshold, so it is fresh memory whatever this process freed
    buffer = RecordBuffer({"w": (4097, 2048)}, np.float32)
    values, grads, _ = buffer.append(0, None)
    assert _mapped_fraction(values["w"]) == 1.0
    assert _mapped_fraction(grads["w"]) == 1.0
    # Fresh memory, which a record would land in without: an anonymous mapping of its own (numpy's
    # allocator may hand back memory freed earlier and still mapped, e.g. Blender's jemalloc once bpy
    # is imported), so this shows mincore tells the two apart.
    fresh = mmap.mmap(-1, values["w"].nbytes)
    assert _mapped_fraction(np.frombuffer(fresh, np.float32)) < 0.5


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks")
def test_a_forked_child_records_with_its_own_preparing_thread():
    RecordBuffer(SHAPES, np.float32).append(0, None)  # the parent's preparing thread is running
    child = multiprocessing.get_context("fork").Process(target=_record_forty)
    child.start()
    child.join(timeout=120)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0, "the forked child could not record (waiting on its parent's thread?)"


def _record_forty() -> None:
    buffer = RecordBuffer(SHAPES, np.float32, capacity=3)
    for step in range(40):
        _fill(buffer, step)
    assert buffer.joined(40)["params"]["s"].tolist() == list(range(40))
