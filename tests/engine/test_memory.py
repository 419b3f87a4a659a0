"""A training step reuses the memory the step before freed instead of faulting in new pages."""

from __future__ import annotations

import resource
import subprocess
import sys

import numpy as np
import pytest

from nnviz_addon import engine
from nnviz_addon.engine import nn
from nnviz_addon.engine._memory import glibc_version

# the engine's first backward pass sets glibc's malloc to keep what a step frees (engine/_memory.py)
pytestmark = pytest.mark.skipif(sys.platform != "linux" or not glibc_version(),
                                reason="glibc's malloc on Linux only")


def test_steady_training_steps_fault_in_no_new_pages() -> None:
    # bench_transformer's tiny GPT: the step the page faults were measured on
    vocab, width, length, batch = 16, 32, 16, 32
    engine.manual_seed(0)
    model = nn.Sequential(nn.Embedding(vocab, width),
                          nn.TransformerEncoder(nn.TransformerEncoderLayer(width, 4, 128, 0.0, batch_first=True), 2),
                          nn.Linear(width, vocab))
    optimizer = engine.optim.AdamW(model.parameters(), lr=1e-3)
    tokens = np.random.default_rng(0).integers(0, vocab, (batch, length + 1))
    x, y = engine.Tensor(tokens[:, :-1].copy()), engine.Tensor(tokens[:, 1:].reshape(-1).copy())

    def step() -> None:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x).reshape(-1, vocab), y).backward()
        optimizer.step()

    for _ in range(5):
        step()
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    steps = 20
    for _ in range(steps):
        step()
    faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before
    # glibc's defaults gave about 600 a step here: the freed top of the heap went back to the kernel
    assert faults / steps < 5, f"{faults / steps:.0f} page faults a step"


def test_only_training_with_the_engine_sets_the_allocator_not_importing_nnviz():
    # a PyTorch run with the Recorder imports nnviz (and the engine) but never runs its backward
    script = ("import nnviz_addon.record, nnviz_addon.engine as engine\n"
              "from nnviz_addon.engine import _memory\n"
              "before = _memory._asked\n"
              "x = engine.Tensor([1.0, 2.0], requires_grad=True)\n"
              "(x * x).sum().backward()\n"
              "print(before, _memory._asked)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]

