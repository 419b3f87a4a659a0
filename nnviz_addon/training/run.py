"""TrainingRun: a preset's model, data, optimiser and loss, trained step by step into a History.

The same object drives the headless CLI (:meth:`TrainingRun.run`) and Blender's modal operator
(:meth:`TrainingRun.tick`, a time-boxed slice of steps per timer event).

What a record holds: the parameters *after* the optimiser step it is named by, the gradients that
step used, and that step's mini-batch loss (computed before the update, as a torch loop logs it).
The initial record (step 0) holds the initial weights, zero gradients and a NaN loss, as the
History contract says. ``accuracy`` (classification tasks) is measured on the whole data set at
each record, in eval mode, on the training split. With ``data.test_fraction`` a seeded share of the
samples is held out (:func:`~.datasets.train_test`): the run trains on the rest, and every record
also holds the test loss and test accuracy of its weights (metrics ``test_loss``, ``test_accuracy``).
A sequence task's model scores every token at every position: its loss is the cross-entropy over
all (sample, position) rows and its accuracy is per token, both over the positions with a target.

Extra per-record data comes from *probes*: callables ``probe(run) -> {name: array}`` given to the
constructor and called at every record (step 0 included); their arrays go to ``History.series``.
A probe may also put per-run arrays into ``run.writer.static`` when it is first called (the run
itself puts the task's ``input_shape`` there, for an image task). By default
the run uses :class:`~.probes.TaskProbes` (neuron activations and the task's own view); pass
``probes=()`` to record weights only.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .. import catalog
from ..datasets import Batches, Dataset, make_dataset, task_info, train_test
from ..datasets.sequences import IGNORE
from ..engine import Tensor, manual_seed, nn, optim
from ..engine.nn import functional as F
from ..history import History, HistoryWriter, LayerSpec, keys
from ..preset import layer_stack
from ..preset.config import ModelConfig, Preset, TrainConfig
from .blocks import CausalEncoderLayer, PositionalEmbedding, Residual
from .probes import TaskProbes, evaluating
from .stack_graph import draws_as_graph, stack_graph

Probe = Callable[["TrainingRun"], Mapping[str, np.ndarray]]

DTYPE = np.float32
# A classifier whose final training accuracy is within this of always guessing the most common
# class learnt nothing: the end-of-run message says so, with the likely causes.
CHANCE_MARGIN = 0.05


def _activation(name: str) -> nn.Module:
    """The engine module for a catalog activation; softmax runs over the features, as in a torch MLP."""
    module_class = getattr(nn, catalog.OUTPUT_ACTIVATIONS[name])
    return module_class(dim=-1) if name == "softmax" else module_class()


def build_model(config: ModelConfig, init: np.random.Generator,
                dropout: np.random.Generator) -> tuple[nn.Sequential, list[LayerSpec]]:
    """``Linear, [norm], activation, [dropout], …, Linear, [output activation]`` and its LayerSpecs.

    Each Linear's LayerSpec names the activation that follows it (after the norm, if any); a norm
    layer's LayerSpec has no activation of its own. ``init`` seeds the weights, ``dropout`` the masks.
    """
    modules: list[nn.Module] = []
    structure: list[LayerSpec] = []

    def add_parameterised(module: nn.Module, kind: str, n_in: int, n_out: int,
                          activation: str | None) -> None:
        name = str(len(modules))
        structure.append(LayerSpec(name=name, kind=kind, in_features=n_in, out_features=n_out,
                                   weight=f"{name}.weight", bias=f"{name}.bias", activation=activation))
        modules.append(module)

    pairs = list(zip(config.layers[:-1], config.layers[1:], strict=True))
    for index, (n_in, n_out) in enumerate(pairs):
        hidden = index < len(pairs) - 1
        activation = config.activation if hidden else config.output_activation
        add_parameterised(nn.Linear(n_in, n_out, generator=init), "Linear", n_in, n_out, activation)
        if hidden and config.norm is not None:
            kind = catalog.NORMS[config.norm]
            add_parameterised(getattr(nn, kind)(n_out), kind, n_out, n_out, None)
        if activation is not None:
            modules.append(_activation(activation))
        if hidden and config.dropout > 0:
            modules.append(nn.Dropout(config.dropout, generator=dropout))
    return nn.Sequential(*modules), structure


def _pairs(value: Any) -> Any:
    """A table's [height, width] as the tuple torch's arguments take (ints and words as they are)."""
    return tuple(value) if isinstance(value, list) else value


def _features(shape: tuple[int, ...]) -> int:
    """A layer's features (channels) in a traced shape: a vector's size, an image's channels, a
    sequence's features per position."""
    return shape[-1] if len(shape) == 2 else shape[0]


def _transformer_block(step: layer_stack.Step, dropout: np.random.Generator) -> nn.Module:
    """torch's batch-first ``TransformerEncoderLayer`` for a ``transformer`` table (its causal
    variant when asked); the engine draws its weights from its default generator, which
    :func:`build_stack` seeds first."""
    table, dim = step.table, step.input[-1]
    block_class = CausalEncoderLayer if table.get("causal", False) else nn.TransformerEncoderLayer
    block = block_class(dim, table["heads"], dim_feedforward=layer_stack.feedforward(table, dim),
                        dropout=table.get("dropout", 0.0), activation=table.get("activation", "relu"),
                        batch_first=True, norm_first=table.get("norm", "post") == "pre")
    for _, module in block.named_modules():
        if isinstance(module, nn.Dropout):
            module.generator = dropout
    return block


def _stack_module(step: layer_stack.Step, init: np.random.Generator, dropout: np.random.Generator) -> nn.Module:
    table, kind = step.table, step.table["type"]
    if kind == "embedding":
        return nn.Embedding(step.vocab, table["dim"], generator=init)
    if kind == "positional":
        return PositionalEmbedding(*step.input, generator=init)
    if kind == "transformer":
        return _transformer_block(step, dropout)
    if kind == "residual":
        return Residual(*(_stack_module(inner, init, dropout) for inner in step.inner))
    if kind == "conv2d":
        return nn.Conv2d(step.input[0], table["out"], _pairs(table["kernel"]), _pairs(table.get("stride", 1)),
                         _pairs(table.get("padding", 0)), _pairs(table.get("dilation", 1)),
                         bias=table.get("bias", True), generator=init)
    if kind == "maxpool2d":
        return nn.MaxPool2d(_pairs(table["kernel"]), _pairs(table.get("stride")), _pairs(table.get("padding", 0)),
                            _pairs(table.get("dilation", 1)))
    if kind == "avgpool2d":
        return nn.AvgPool2d(_pairs(table["kernel"]), _pairs(table.get("stride")), _pairs(table.get("padding", 0)))
    if kind == "adaptiveavgpool2d":
        return nn.AdaptiveAvgPool2d(_pairs(table["size"]))
    if kind == "linear":
        return nn.Linear(step.input[-1], table["out"], bias=table.get("bias", True), generator=init)
    if kind in ("batchnorm", "layernorm"):
        return getattr(nn, step.module)(_features(step.input))  # BatchNorm1d/2d and LayerNorm over the features
    if kind == "dropout":
        return nn.Dropout(table.get("p", 0.5), generator=dropout)
    if kind == "flatten":
        return nn.Flatten()
    return _activation(kind)


def _transformer_specs(name: str, step: layer_stack.Step) -> list[LayerSpec]:
    """A transformer block's parts in the order the signal meets them: the packed Q, K, V
    projection, the output projection and the feed-forward pair, each norm where it acts."""
    table, dim = step.table, step.input[-1]
    hidden = layer_stack.feedforward(table, dim)
    attention = f"{name}.self_attn"

    def linear(part: str, n_in: int, n_out: int, activation: str | None = None) -> LayerSpec:
        return LayerSpec(f"{name}.{part}", "Linear", n_in, n_out, f"{name}.{part}.weight", f"{name}.{part}.bias",
                         activation)

    def norm(part: str) -> LayerSpec:
        return LayerSpec(f"{name}.{part}", "LayerNorm", dim, dim, f"{name}.{part}.weight", f"{name}.{part}.bias")

    qkv = LayerSpec(attention, "Linear", dim, 3 * dim, f"{attention}.in_proj_weight", f"{attention}.in_proj_bias")
    attend = [qkv, linear("self_attn.out_proj", dim, dim)]
    feed = [linear("linear1", dim, hidden, table.get("activation", "relu")), linear("linear2", hidden, dim)]
    if table.get("norm", "post") == "pre":
        return [norm("norm1"), *attend, norm("norm2"), *feed]
    return [*attend, norm("norm1"), *feed, norm("norm2")]


def _stack_specs(steps: Sequence[layer_stack.Step], modules: Sequence[nn.Module], prefix: str) -> list[LayerSpec]:
    """A LayerSpec per layer with weights (``prefix`` + its index names it), each naming the
    activation right after it; a transformer block's parts and a residual block's layers, inside."""
    structure = []
    for position, (step, module) in enumerate(zip(steps, modules, strict=True)):
        name = f"{prefix}{step.index}"
        if step.module == layer_stack.RESIDUAL_MODULE:
            structure += _stack_specs(step.inner, list(module.layers), f"{name}.layers.")
            continue
        if step.module == "TransformerEncoderLayer":
            structure += _transformer_specs(name, step)
            continue
        if getattr(module, "weight", None) is None:
            continue
        following = steps[position + 1].table["type"] if position + 1 < len(steps) else None
        if step.module in ("Embedding", layer_stack.POSITIONAL_MODULE):
            n_in, n_out = step.vocab or step.input[0], step.output[-1]  # tokens (or positions) → features
        else:
            n_in, n_out = _features(step.input), _features(step.output)
        structure.append(LayerSpec(name=name, kind=step.module, in_features=n_in, out_features=n_out,
                                   weight=f"{name}.weight",
                                   bias=None if getattr(module, "bias", None) is None else f"{name}.bias",
                                   activation=following if following in layer_stack.ACTIVATION_TYPES else None))
    return structure


def _all_tables(tables: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The tables and, for a residual block, those inside it."""
    return [t for table in tables for t in (table, *_all_tables(table.get("layers", ())))]


def build_stack(tables: Sequence[Mapping[str, Any]], input_shape: tuple[int, ...], init: np.random.Generator,
                dropout: np.random.Generator, vocab: int = 0) -> tuple[nn.Sequential, list[LayerSpec]]:
    """The Sequential a list of layer tables describes (shapes as :func:`layer_stack.trace` checks
    them, ``vocab`` for a sequence task's tokens) and a LayerSpec per layer with weights."""
    steps = layer_stack.trace(tables, input_shape, vocab=vocab)
    if any(table["type"] == "transformer" for table in _all_tables(tables)):
        # The engine's TransformerEncoderLayer takes no generator: seed the default one it draws from.
        manual_seed(int(init.integers(2**32)))
    modules = [_stack_module(step, init, dropout) for step in steps]
    return nn.Sequential(*modules), _stack_specs(steps, modules, "")


def per_position(loss: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """A sequence task's loss: scores (N, L, vocab) and targets (N, L) taken as N·L rows, so every
    position counts once (a position without a target, ``IGNORE``, not at all)."""
    def over_positions(outputs: Tensor, targets: Tensor) -> Tensor:
        return loss(outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1))
    return over_positions


def build_optimizer(config: TrainConfig, parameters: list) -> optim.Optimizer:
    optimizer_class = getattr(optim, catalog.OPTIMIZERS[config.optimizer])
    momentum = {"momentum": config.momentum} if config.optimizer in catalog.MOMENTUM_OPTIMIZERS else {}
    return optimizer_class(parameters, lr=config.lr, weight_decay=config.weight_decay, **momentum)


def build_scheduler(config: TrainConfig, optimizer: optim.Optimizer) -> optim.lr_scheduler.LRScheduler | None:
    """The learning-rate schedule over the run's steps, stepped after each optimiser step (None: constant)."""
    name = catalog.LR_SCHEDULES[config.lr_schedule]
    return None if name is None else getattr(optim.lr_scheduler, name)(optimizer, T_max=config.steps)


class TrainingRun:
    """Train ``preset`` one step at a time, recording into a HistoryWriter; records step 0 at once."""

    def __init__(self, preset: Preset, probes: Sequence[Probe] | None = None) -> None:
        self.preset = preset
        train = preset.train
        init_seed, batch_seed, dropout_seed = np.random.SeedSequence(train.seed).spawn(3)
        data = preset.data
        dataset = make_dataset(data, train.loss, dtype=DTYPE)
        init_rng, dropout_rng = np.random.default_rng(init_seed), np.random.default_rng(dropout_seed)
        graph = None
        if preset.model.is_stack:
            # a layer-table model takes the task's samples in their own shape (digits: 1×8×8 images)
            task = task_info(data)
            shape = task.layer_input_shape
            dataset = dataclasses.replace(dataset, x=dataset.x.reshape(len(dataset), *shape))
            self.model, self.structure = build_stack(preset.model.layers, shape, init_rng, dropout_rng, task.vocab)
            if draws_as_graph(preset.model.layers):  # drawn as the blocks are built, not as a row of layers
                graph = stack_graph(self.model, self.structure)
        else:
            self.model, self.structure = build_model(preset.model, init_rng, dropout_rng)
        self.dataset: Dataset
        self.test_set: Dataset | None
        self.dataset, self.test_set = train_test(dataset, data.test_fraction, data.seed, standardize=data.standardizes)
        self.model.train()
        self.optimizer = build_optimizer(train, list(self.model.parameters()))
        self.scheduler = build_scheduler(train, self.optimizer)
        self._loss: Callable[[Tensor, Tensor], Tensor] = getattr(F, catalog.LOSSES[train.loss])
        if task_info(data).is_sequence:
            self._loss = per_position(self._loss)
        self._batches = Batches(self.dataset, train.batch_size, np.random.default_rng(batch_seed))
        self._probes = [TaskProbes(seed=train.seed)] if probes is None else list(probes)
        self.record_every = train.record_every
        self.total_steps = train.steps
        self.step = 0
        self.last_loss = math.nan
        self.last_accuracy: float | None = None
        self.last_test_loss: float | None = None
        self.finished = False
        self.diverged = False
        self.interrupted = False
        self.message = ""
        self.warning = ""  # set at the end of a run that learnt nothing: the likely causes
        self.writer = HistoryWriter(
            name=preset.name,
            structure=self.structure,
            shapes={key: value.shape for key, value in self.model.parameter_arrays().items()},
            dtype=DTYPE,
            capacity=self.total_steps // self.record_every + 2,
            config=preset.to_dict(),
            graph=graph,
        )
        input_shape = task_info(preset.data).input_shape
        if input_shape is not None:  # the digits' 8×8: the scene draws first-layer weights as images
            self.writer.static[keys.INPUT_SHAPE] = np.asarray(input_shape, dtype=np.int64)
        self._record(math.nan, with_grads=False)

    # -- the hot path -----------------------------------------------------------------------------

    def train_step(self) -> float:
        """One optimiser step on the next mini-batch; returns its loss. Records when due."""
        if self.finished:
            raise RuntimeError(f"TrainingRun {self.preset.name!r} is finished: {self.message}")
        x, y = next(self._batches)
        # Overflow in a diverging run is reported through `diverged`, not as numpy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            loss = self._loss(self.model(Tensor(x)), Tensor(y))
            value = loss.item()
            if not math.isfinite(value):
                # The parameters of the last finished step are still finite: keep them, with the
                # gradients that step used (hence zero_grad only after this check).
                self.record_now()
                self._stop_diverged(self.step + 1, f"loss is {value}")
                return value
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
        self.step += 1
        self.last_loss = value
        if self.step % self.record_every == 0 or self.step == self.total_steps:
            # A finite loss can still be followed by an update that overflows; never record that.
            if not all(np.isfinite(array).all() for array in self.model.parameter_arrays().values()):
                self._stop_diverged(self.step, "the update made a parameter inf or nan")
                return value
            self._record(value)
        if self.step == self.total_steps:
            self.finished = True
            self.warning = self._chance_warning()
            self.message = f"finished {self.step} steps: {self._summary()}"
            if self.warning:
                self.message += f". {self.warning}"
        return value

    def tick(self, budget_s: float = 0.03) -> int:
        """Train for about ``budget_s`` seconds (overshooting by at most one step); returns the steps done."""
        start = time.perf_counter()
        done = 0
        while not self.finished and time.perf_counter() - start < budget_s:
            self.train_step()
            done += 1
        return done

    def run(self, progress: Callable[[TrainingRun], object] | None = None,
            stop: Callable[[], bool] | None = None) -> History:
        """Train to the end (or until divergence); ``progress(run)`` is called after every record.

        ``stop()`` is asked before every step; once it says True the run stops there, records the
        step it reached (:meth:`record_now`) and sets :attr:`interrupted`.
        """
        while not self.finished:
            if stop is not None and stop():
                self.record_now()
                self.interrupted = True
                self.message = f"stopped at step {self.step} of {self.total_steps}; kept {len(self.writer)} records"
                break
            recorded = len(self.writer)
            self.train_step()
            if progress is not None and len(self.writer) != recorded:
                progress(self)
        return self.history()

    def record_now(self) -> None:
        """Record the current step unless it already is: a run stopped between two records then
        keeps every step it trained. Nothing after a divergence, and no parameter that is not
        finite, is recorded."""
        if self.diverged or self.writer.last_step == self.step:
            return
        if all(np.isfinite(array).all() for array in self.model.parameter_arrays().values()):
            self._record(self.last_loss)

    def set_parameter(self, key: str, index: tuple[int, ...], value: float) -> float:
        """Set one weight or bias by hand; returns its old value.

        No training step is taken: the current step is recorded again with the edited weights, its
        loss the loss of the whole training split (there is no mini-batch), so the History, and
        everything drawn from it, shows the edit; training goes on from the edited weights.
        """
        arrays = self.model.parameter_arrays()
        if key not in arrays:
            known = ", ".join(f"{name} {tuple(array.shape)}" for name, array in arrays.items())
            raise ValueError(f"unknown parameter {key!r}; parameters: {known}")
        array = arrays[key]
        index = tuple(int(i) for i in index)
        if len(index) != array.ndim or not all(0 <= i < n for i, n in zip(index, array.shape, strict=True)):
            raise ValueError(f"index {index} is out of range for {key!r} of shape {tuple(array.shape)}")
        if not math.isfinite(value):
            raise ValueError(f"{key}{list(index)}: the value must be a finite number, got {value}")
        old = float(array[index])
        array[index] = value
        self.last_loss = self.loss_on(self.dataset)
        if self.writer.last_step == self.step:
            self.writer.discard_last()
        self._record(self.last_loss, with_grads=self.step > 0)
        return old

    def history(self) -> History:
        """Everything recorded so far."""
        return self.writer.history()

    # -- evaluation and records -------------------------------------------------------------------

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """The model's outputs for ``x`` in eval mode without gradients (the model goes back to its own mode)."""
        tokens = np.asarray(x).dtype.kind in "iu"  # a sequence task's ids stay integers
        with evaluating(self.model), np.errstate(over="ignore", invalid="ignore"):
            return self.model(Tensor(np.asarray(x) if tokens else np.asarray(x, dtype=DTYPE))).data

    def accuracy(self, dataset: Dataset | None = None) -> float | None:
        """The fraction of ``dataset`` (default: the training split) classified right; None for a
        regression task."""
        dataset = self.dataset if dataset is None else dataset
        if dataset.labels is None:
            return None
        return self._accuracy_of(self.evaluate(dataset.x), dataset.labels)

    def _accuracy_of(self, outputs: np.ndarray, labels: np.ndarray) -> float:
        if outputs.ndim == 3:  # a sequence task: per token, over the positions that have a target
            asked = labels != IGNORE
            return float(np.mean(outputs.argmax(axis=-1)[asked] == labels[asked]))
        if outputs.shape[1] == 1:
            # One output: a logit for bce_with_logits, else a probability-like value with 0/1 targets.
            threshold = 0.0 if self.preset.train.loss == "bce_with_logits" else 0.5
            predicted = (outputs[:, 0] > threshold).astype(np.int64)
        else:
            predicted = outputs.argmax(axis=1)
        return float(np.mean(predicted == labels))

    def loss_on(self, dataset: Dataset) -> float:
        """The loss of the current weights over all of ``dataset``, in eval mode."""
        return self._loss_of(self.evaluate(dataset.x), dataset)

    def _loss_of(self, outputs: np.ndarray, dataset: Dataset) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return self._loss(Tensor(outputs), Tensor(dataset.y)).item()

    def measure(self) -> dict[str, float]:
        """The metrics of the current weights: accuracy, and the test split's loss and accuracy
        (from one pass of the test split through the model)."""
        metrics: dict[str, float] = {}
        accuracy = self.accuracy()
        if accuracy is not None:
            metrics[keys.ACCURACY] = accuracy
        if self.test_set is not None:
            outputs = self.evaluate(self.test_set.x)
            metrics[keys.TEST_LOSS] = self._loss_of(outputs, self.test_set)
            if self.test_set.labels is not None:
                metrics[keys.TEST_ACCURACY] = self._accuracy_of(outputs, self.test_set.labels)
        return metrics

    def _record(self, loss: float, with_grads: bool = True) -> None:
        series: dict[str, np.ndarray] = {}
        with evaluating(self.model):  # one switch of mode for all the measurements below
            metrics = self.measure()
            for probe in self._probes:
                series.update(probe(self))
        self.last_accuracy = metrics.get(keys.ACCURACY)
        self.last_test_loss = metrics.get(keys.TEST_LOSS)
        grads = self.model.gradient_arrays() if with_grads else None
        self.writer.record(self.step, loss, self.model.parameter_arrays(), grads, metrics=metrics,
                           series=series)
        self.message = f"step {self.step}/{self.total_steps}: {self._summary()}"

    def _stop_diverged(self, step: int, reason: str) -> None:
        self.finished = self.diverged = True
        kept = len(self.writer)
        self.message = (f"diverged at step {step}: {reason}; kept {kept} record{'s' * (kept != 1)} "
                        f"up to step {self.writer.last_step}")

    def _chance_warning(self) -> str:
        """What to tell the user when a classifier ends no better than always guessing the most
        common class (within ``CHANCE_MARGIN``), with the likely causes; "" otherwise."""
        labels = self.dataset.labels
        if self.last_accuracy is None or labels is None or not len(labels):
            return ""
        labels = labels[labels >= 0]  # a sequence task's labels are per position, -100 where none is asked
        chance = float(np.bincount(labels.ravel()).max() / labels.size)
        if self.last_accuracy > chance + CHANCE_MARGIN:
            return ""
        data = self.preset.data
        causes = []
        if not data.standardizes:
            causes.append("features on very different scales (set data.standardize = true)")
        causes.append(f"the learning rate (train.lr = {self.preset.train.lr:g}: try 10× smaller or larger)")
        causes.append(f"too few steps (train.steps = {self.total_steps})")
        return (f"accuracy {self.last_accuracy:.3f} is chance level (always guessing the most common class "
                f"scores {chance:.3f}): it learnt nothing; likely causes: {'; '.join(causes)}")

    def _summary(self) -> str:
        accuracy = "" if self.last_accuracy is None else f", accuracy {self.last_accuracy:.3f}"
        test = "" if self.last_test_loss is None else f", test loss {self.last_test_loss:.4g}"
        return f"loss {self.last_loss:.4g}{accuracy}{test}"
