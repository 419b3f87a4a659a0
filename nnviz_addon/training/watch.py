"""Recording with no edits to the training loop: the optimizer's own step hooks take the snapshots.

:meth:`Recorder.watch <.record.Recorder.watch>` makes a :class:`StepWatch`. ``every`` counts
optimizer steps, as ``wandb.watch(model, log_freq=N)`` does: the N-th, 2N-th, ... ``step()`` after
``watch`` is recorded, under its count as the step.

The loss of a record comes from ``opt.step(closure)``'s closure when one is given (its first
result: the loss at the weights the step starts from), or from :meth:`StepWatch.log`. Loops call
``log`` either right before ``step()`` or right after it; the first call tells which: one made
before any step has been taken means "the step about to be taken" from then on, otherwise "the step
just taken". Values logged for a step that is not recorded are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def check_every(every: object, source: str) -> int:
    """``every`` as a whole number of optimizer steps >= 1, else a ValueError starting with ``source``."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"{source}: every must be a whole number of optimizer steps >= 1, got {every!r}")
    return every


class StepWatch:
    """Hooks on one optimizer that call ``record(step, loss, metrics)`` after every ``every``-th step.

    ``update_last(values)`` is called when :meth:`log` adds values to the record just taken.
    """

    def __init__(self, optimizer: Any, every: int, first_step: int,
                 record: Callable[[int, Any, dict[str, Any]], None],
                 update_last: Callable[[dict[str, Any]], None]) -> None:
        check_every(every, "nnviz Recorder.watch")
        for name in ("register_step_pre_hook", "register_step_post_hook"):
            if not callable(getattr(optimizer, name, None)):
                raise TypeError(f"nnviz Recorder.watch: {type(optimizer).__name__} has no {name}(); "
                                f"give a torch.optim optimizer (torch 2.0 or later)")
        self.every = every
        self.step = first_step  # the count of optimizer steps, as recorded
        self._steps_taken = 0
        self._record = record
        self._update_last = update_last
        self._closure_result: Any = None
        self._pending: dict[str, Any] = {}
        self._log_before_step: bool | None = None  # learnt from the first log() call
        self._recorded_last_step = False
        self._handles = [optimizer.register_step_pre_hook(self._before_step),
                         optimizer.register_step_post_hook(self._after_step)]

    def remove(self) -> None:
        """Take the hooks off the optimizer; training goes on unrecorded."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @property
    def active(self) -> bool:
        return bool(self._handles)

    def log(self, values: dict[str, Any]) -> None:
        """Values (``loss=``, metrics) for the step just taken or the one about to be taken (see the module)."""
        if self._log_before_step is None:
            self._log_before_step = self._steps_taken == 0
        if self._log_before_step:
            self._pending.update(values)
        elif self._recorded_last_step:
            self._update_last(values)

    def _before_step(self, _optimizer: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        """Wrap a closure so its result (the loss) is kept for the record. torch passes the
        optimizer itself as ``args[0]``, so a closure given by position is ``args[1]``."""
        self._closure_result = None
        if kwargs.get("closure") is not None:
            return args, {**kwargs, "closure": self._catching(kwargs["closure"])}
        if len(args) > 1 and callable(args[1]):
            return (args[0], self._catching(args[1]), *args[2:]), kwargs
        return None

    def _catching(self, closure: Callable[[], Any]) -> Callable[[], Any]:
        def caught() -> Any:
            result = closure()
            if self._closure_result is None:  # LBFGS calls it again: keep the first, the step's own loss
                self._closure_result = result
            return result
        return caught

    def _after_step(self, _optimizer: Any, _args: tuple, _kwargs: dict) -> None:
        self._steps_taken += 1
        self.step += 1
        logged = self._pending if self._log_before_step else {}
        self._pending = {}
        closure_loss, self._closure_result = self._closure_result, None
        self._recorded_last_step = self._steps_taken % self.every == 0
        if self._recorded_last_step:
            loss = logged.pop("loss", closure_loss)
            self._record(self.step, loss, logged)
