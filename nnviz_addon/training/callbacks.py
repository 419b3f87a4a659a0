"""Record a Lightning or Hugging Face run with the callback those trainers already take.

    from nnviz_addon.training.callbacks import NnvizCallback           # PyTorch Lightning
    trainer = lightning.Trainer(callbacks=[NnvizCallback("runs/run.npz", every=10)])

    from nnviz_addon.training.callbacks import NnvizTrainerCallback    # Hugging Face transformers
    trainer = transformers.Trainer(..., callbacks=[NnvizTrainerCallback("runs/run.npz", every=10)])

Both record through a :class:`~.record.Recorder` watching the trainer's optimizer (``every`` counts
optimizer steps, as ``global_step`` does), with the same ``probe``, ``input_shape``, ``dtype`` and
``name`` options, and save to ``path`` when training ends — or stops on an error, keeping what was
recorded. Under distributed training only the main process (rank 0) records; the others do nothing.
Lightning's loss comes from its optimizer closure at every step; Hugging Face's from what the
Trainer logs (every ``logging_steps``), on the records taken at those steps.

The two library imports happen only when a callback class is first named here, so this module
imports without either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .record import Recorder
from .watch import check_every


def torch_optimizer(optimizer: Any) -> Any:
    """The ``torch.optim.Optimizer`` inside the wrappers trainers put around it: Lightning's
    ``LightningOptimizer`` and Accelerate's ``AcceleratedOptimizer`` (itself an Optimizer subclass
    without the step hooks) keep it as ``.optimizer``; its ``step`` is the one that really runs."""
    import torch

    while isinstance(getattr(optimizer, "optimizer", None), torch.optim.Optimizer):
        optimizer = optimizer.optimizer
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"nnviz callback: {type(optimizer).__name__} is not a torch.optim optimizer and wraps none")
    return optimizer


class _RecordingCallback:
    """What both callbacks share: the Recorder's options, starting it on rank 0, saving at the end."""

    def __init__(self, path: str | Path, every: int = 1, *, probe: Any = None, name: str = "PyTorch run",
                 input_shape: tuple[int, ...] | None = None, dtype: str | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.every = check_every(every, f"nnviz {type(self).__name__}")
        self._options = {"probe": probe, "name": name, "input_shape": input_shape, "dtype": dtype}
        self.recorder: Recorder | None = None

    def _start(self, model: Any, optimizer: Any) -> None:
        self.recorder = Recorder(model, **self._options).watch(torch_optimizer(optimizer), every=self.every)

    def _finish(self) -> None:
        if self.recorder is None:
            return
        self.recorder.unwatch()
        self.recorder.save(self.path)


def _lightning_callback() -> type:
    try:
        from lightning.pytorch import Callback
    except ModuleNotFoundError:
        try:
            from pytorch_lightning import Callback
        except ModuleNotFoundError:
            raise ModuleNotFoundError("nnviz NnvizCallback needs PyTorch Lightning: pip install lightning") from None

    class NnvizCallback(_RecordingCallback, Callback):
        """A Lightning ``Callback`` recording the LightningModule every ``every`` optimizer steps
        (the first optimizer's), saved to ``path`` at the end of ``fit``."""

        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            if trainer.is_global_zero:
                self._start(pl_module, trainer.optimizers[0])

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            self._finish()

        def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
            if self.recorder is not None and self.recorder.records:
                self._finish()  # what was recorded before the error is kept

    return NnvizCallback


def _transformers_callback() -> type:
    try:
        from transformers import TrainerCallback
    except ModuleNotFoundError:
        raise ModuleNotFoundError("nnviz NnvizTrainerCallback needs transformers: pip install transformers") from None

    class NnvizTrainerCallback(_RecordingCallback, TrainerCallback):
        """A Hugging Face ``TrainerCallback`` recording the model every ``every`` optimizer steps,
        saved to ``path`` at the end of ``train``."""

        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, optimizer: Any = None,
                           **kwargs: Any) -> None:
            if state.is_world_process_zero:
                self._start(model, optimizer)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
                   **kwargs: Any) -> None:
            if self.recorder is not None and logs and "loss" in logs:
                self.recorder.log(loss=logs["loss"])  # lands on the record of the step just taken, if any

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._finish()

    return NnvizTrainerCallback


_BUILDERS = {"NnvizCallback": _lightning_callback, "NnvizTrainerCallback": _transformers_callback}


def __getattr__(name: str) -> type:
    """Build a callback class, importing its library, the first time it is asked for."""
    if name not in _BUILDERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = globals()[name] = _BUILDERS[name]()
    return built

