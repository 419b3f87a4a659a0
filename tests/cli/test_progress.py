"""The command line's progress: times as a person reads them, and reports spaced out in time."""

from __future__ import annotations

import pytest

from nnviz_addon.cli.progress import Every, duration


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0 s"), (42, "42 s"), (185, "3 min 5 s"),
                                               (3720, "1 h 2 min")])
def test_duration_reads_as_a_person_says_it(seconds, text):
    assert duration(seconds) == text


def test_every_lets_one_call_through_per_interval_and_always_the_last():
    due = Every(3600.0)
    assert due()
    assert not due()
    assert due(last=True)
