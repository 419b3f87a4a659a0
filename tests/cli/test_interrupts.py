"""A signal while training only asks the run to stop after its step; the handlers are put back after.
(A signal at any other time exits at once: tests/history/test_atomic.py sends real ones to train.py.)"""

from __future__ import annotations

import os
import signal

from nnviz_addon.cli.interrupts import Interrupts


def test_a_signal_while_training_asks_for_a_stop_and_names_itself():
    before = signal.getsignal(signal.SIGTERM)
    with Interrupts() as interrupts:
        interrupts.deferred = True
        assert not interrupts.stop_requested()
        os.kill(os.getpid(), signal.SIGTERM)  # handled at once: the main thread is running Python
        assert interrupts.stop_requested()
        assert (interrupts.name, interrupts.exit_code) == ("SIGTERM", 128 + signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
