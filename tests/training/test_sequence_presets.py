"""The shipped reverse preset meets its target: ≥ 95% held-out per-token accuracy at its end (a
few seconds of CPU; its time and grokking's delayed jump are measured by
bench/bench_sequence_presets.py, see docs/benchmarks.md)."""

from __future__ import annotations

import pytest

from nnviz_addon.preset.config import find_presets, load_preset
from nnviz_addon.training.run import TrainingRun


@pytest.mark.slow
def test_reverse_reaches_95_percent_held_out_per_token():
    history = TrainingRun(load_preset(find_presets()["reverse"]), probes=()).run()
    assert history.metrics["test_accuracy"][-1] >= 0.95
    assert history.metrics["test_accuracy"][0] < 0.2  # learned, not given: 10 digits start near chance
