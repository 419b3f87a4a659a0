"""The probe's pass at each record of a :class:`~.record.Recorder`: what every layer of the torch
model makes of the one probe sample, in eval mode and without gradients.

Everything that does not change from record to record (which modules to hook, their hooks, what to
apply to each output) is worked out once and again only when the model's modules change (a layer
replaced while training), so a record with a probe costs little more than the forward pass itself.
Each pass puts every module back in the mode it was in, module by module: a layer the loop keeps in
eval mode (a frozen BatchNorm) stays so.

torch is imported only when a pass runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..history import keys
from .model_graph import model_output, modes_kept
from .probes import carried_outputs, series_of

# np.allclose(total, 1)'s tolerance (rtol + atol), written out: allclose costs more than the whole check
_SUMS_TO_ONE = 1e-5 + 1e-8


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _weights_per_head(_module: Any, args: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A MultiheadAttention pre-hook asking for each head's weights: ``forward(query, key, value,
    key_padding_mask, need_weights, attn_mask, average_attn_weights)``, set where the caller gave
    each, by position or by name."""
    args, kwargs = list(args), dict(kwargs)
    for position, name, value in ((4, "need_weights", True), (6, "average_attn_weights", False)):
        if len(args) > position:
            args[position] = value
        else:
            kwargs[name] = value
    return tuple(args), kwargs


class ProbePass:
    """Runs ``probe`` (a batch of one) through ``model`` and returns the record's series: every leaf
    module's output in the order they ran (a module's later calls as ``<name>#2``, …), passed through
    the function fx saw applied to it (``followers``), reduced to the ``recorded`` layers' values (see
    :func:`.probes.carried_outputs`); each attention's weights per head (``attention/<path>``, (heads,
    L, L)); and, when ``classes``, the class probabilities of the output row."""

    def __init__(self, model: Any, probe: Any, followers: Mapping[str, Callable[[Any], Any]],
                 recorded: list[str], classes: int) -> None:
        self._model, self._probe = model, probe
        self._followers, self._recorded, self._classes = dict(followers), recorded, classes
        self._modules: tuple[Any, ...] = ()  # model.modules() when what follows was worked out
        self._leaves: dict[int, tuple[str, Callable[[Any], Any] | None]] = {}  # id(leaf) → its name, follower
        self._attention_hooks: list[tuple[Any, Callable[..., None]]] = []  # each MultiheadAttention, its hook
        self._own_train = False  # a module has its own train(), which eval mode must go through
        self._tensor: type = object  # torch.Tensor, once torch is imported
        # what the hooks gather during one pass
        self._outputs: list[tuple[str, np.ndarray]] = []
        self._attention: dict[str, np.ndarray] = {}
        self._calls: dict[str, int] = {}

    def __call__(self) -> dict[str, np.ndarray]:
        import torch

        modules = tuple(self._model.modules())
        if modules != self._modules:
            self._prepare(modules)
        self._outputs, self._attention, self._calls = [], {}, {}
        # one hook on every module call during the pass rather than one per leaf: registering a hook
        # and taking it off again cost more than the leaves' outputs themselves
        handles = [torch.nn.modules.module.register_module_forward_hook(self._keep_output)]
        for module, keep in self._attention_hooks:
            handles.append(module.register_forward_pre_hook(_weights_per_head, with_kwargs=True))
            handles.append(module.register_forward_hook(keep, with_kwargs=True))
        try:
            with modes_kept(modules), torch.no_grad():
                self._evaluating(modules)
                result = self._model(self._probe)
        finally:
            for handle in handles:
                handle.remove()
        outputs, attention = self._outputs, self._attention
        self._outputs, self._attention = [], {}  # they hold torch's outputs: not kept past this record
        series = series_of(carried_outputs(outputs, self._recorded))
        series.update({keys.attention(name): value for name, value in attention.items()})
        if self._classes:
            series[keys.TABLE_PROBABILITIES] = _probabilities(model_output(result))
        return series

    def _evaluating(self, modules: tuple[Any, ...]) -> None:
        """Eval mode: what ``model.eval()`` does, without its walk through every module's
        ``__setattr__`` (a fifth of the pass) unless a module's own ``train()`` must run."""
        if self._own_train:
            self._model.eval()
            return
        for module in modules:
            object.__setattr__(module, "training", False)

    def _prepare(self, modules: tuple[Any, ...]) -> None:
        import torch

        self._modules = modules
        self._own_train = any(type(module).train is not torch.nn.Module.train for module in modules)
        self._tensor = torch.Tensor
        self._leaves, self._attention_hooks = {}, []
        for name, module in self._model.named_modules():
            if type(module).__name__ == "MultiheadAttention":
                self._attention_hooks.append((module, self._attention_hook(name)))
            elif next(module.children(), None) is None:
                self._leaves[id(module)] = (name, self._followers.get(name))

    def _keep_output(self, module: Any, _inputs: Any, output: Any) -> None:
        """The forward hook on every module during the pass: keeps each leaf's output (any other
        module's, another model's in another thread, is none of the probe's business)."""
        leaf = self._leaves.get(id(module))
        if leaf is None:
            return
        name, follow = leaf
        calls = self._calls[name] = self._calls.get(name, 0) + 1
        if isinstance(output, self._tensor):
            value = follow(output) if follow is not None else output
            self._outputs.append((name if calls == 1 else f"{name}#{calls}", _numpy(value)[0]))

    def _attention_hook(self, name: str) -> Callable[[Any, Any, Any, Any], None]:
        def keep(_module: Any, _args: Any, _kwargs: Any, output: Any) -> None:
            if name not in self._attention and isinstance(output, tuple) and output[1] is not None:
                self._attention[name] = _numpy(output[1])[0]
        return keep


def _probabilities(scores: Any) -> np.ndarray:
    """The first row of ``scores`` as class probabilities (1, C), float64: as it is when it already is
    one (a Softmax at the end), else its softmax."""
    import torch

    scores = scores.detach()[:1].cpu().double()
    row = scores[0].tolist()  # a few numbers: Python's min and sum beat numpy's calls on them
    if min(row) >= 0 and abs(sum(row) - 1.0) <= _SUMS_TO_ONE:
        return scores.numpy()
    return torch.softmax(scores, dim=-1).numpy()
