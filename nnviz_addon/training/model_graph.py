"""How a model is built, found from the model itself: every module and the parameters it owns, the
order the signal runs through them, where residuals skip ahead, and a probe checked against it.

Three sources, best first: a forward pass of the probe with a pre-hook on every module gives the
order modules actually run (a module called twice runs twice: it is drawn once, counted twice);
``torch.fx`` (where it traces) gives the residual ``add`` nodes and the activations applied as
functions in ``forward``; registration order is the fallback. Works on ``torch.nn.Module`` and on
the nnviz engine's ``Module`` (registration order only: it has no hooks). torch is imported lazily.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..history import ModelGraph, ModuleNode, Skip

# Gates of torch's recurrent layers, in the order they are stacked in weight_ih / weight_hh.
RNN_GATES = {"LSTM": ("i", "f", "g", "o"), "GRU": ("r", "z", "n"), "RNN": ("h",)}
# Modules traced as one step: their forward has control flow fx can't follow.
_OPAQUE = ("MultiheadAttention", *RNN_GATES)
# Functions applied elementwise after a layer that the recorded value may be passed through.
ACTIVATION_FUNCTIONS = ("relu", "relu_", "gelu", "tanh", "sigmoid", "silu", "leaky_relu", "elu", "softplus",
                        "mish", "hardtanh", "relu6", "softmax", "log_softmax")
_ADDS = (operator.add, operator.iadd)


def is_torch_module(model: Any) -> bool:
    return hasattr(model, "register_forward_pre_hook")


def owned_parameters(model: Any) -> dict[str, list[str]]:
    """Module path → the keys of the parameters it owns directly (a weight tied into a second module
    is that module's too, under its own ``state_dict`` key)."""
    return {path: [f"{path}.{name}" if path else name for name, _ in module.named_parameters(recurse=False)]
            for path, module in model.named_modules()}


def _info(module: Any) -> dict[str, Any]:
    """What a module's drawing rule needs beyond its parameters' shapes."""
    kind = type(module).__name__
    if kind == "MultiheadAttention":
        return {"heads": int(module.num_heads)}
    mode = getattr(module, "mode", None)
    if kind in RNN_GATES or mode in ("LSTM", "GRU", "RNN_TANH", "RNN_RELU"):
        gates = RNN_GATES["LSTM" if mode == "LSTM" else "GRU" if mode == "GRU" else "RNN"]
        return {"gates": list(gates), "layers": int(module.num_layers),
                "directions": 2 if module.bidirectional else 1}
    return {}


@dataclass
class Trace:
    """What one probe forward pass and ``torch.fx`` told about the model."""

    calls: list[str]  # module paths in the order their forward started
    skips: list[Skip]
    activations: dict[str, str]  # module path → activation function applied right after it
    followers: dict[str, Callable[[Any], Any]]  # module path → that function, to apply to its output
    traced: bool  # torch.fx traced the model


def describe_model(model: Any, probe_batch: Any = None) -> tuple[ModelGraph, Trace]:
    """The model's :class:`ModelGraph` (every module, in running order) and what tracing it found.
    ``probe_batch`` (a batch of one that the model takes, see :func:`fit_probe`) gives the order
    modules run in; without it ``torch.fx``'s order, or registration order, is used."""
    torch_model = is_torch_module(model)
    trace = fx_trace(model) if torch_model else Trace([], [], {}, {}, traced=False)
    calls = call_order(model, probe_batch) if torch_model and probe_batch is not None else []
    order = "hooks" if calls else "fx" if trace.calls else "registration"
    sequence = calls or trace.calls
    named = list(model.named_modules())
    registration = {path: i for i, (path, _) in enumerate(named)}
    first = {}
    for i, path in enumerate(sequence):
        first.setdefault(path, i)
    rank = {}
    for path, _ in named:  # a module runs no later than anything inside it
        inside = [r for p, r in first.items() if p == path or p.startswith(f"{path}.") or not path]
        rank[path] = min(inside) if inside else len(sequence)
    owned = owned_parameters(model)
    counts = {path: sequence.count(path) for path in first} if calls else {}
    following = _following_modules(model)
    modules = []
    for path, module in sorted(named, key=lambda item: (rank[item[0]], registration[item[0]])):
        activation = trace.activations.get(path) or following.get(path)
        modules.append(ModuleNode(path=path, kind=type(module).__name__, params=tuple(owned[path]),
                                  calls=counts.get(path, 0), activation=activation, info=_info(module)))
    skips = [*trace.skips, *transformer_skips(model, [m.path for m in modules])]
    graph = ModelGraph(modules=tuple(modules), order=order, skips=tuple(dict.fromkeys(skips)))
    return graph, Trace(calls, skips, trace.activations, trace.followers, trace.traced)


# torch's transformer layers add their input back after each sub-block (fx can't trace into them):
# (sub-block whose input the residual carries, sub-block after which it is added), post-norm first.
_RESIDUALS = {
    "TransformerEncoderLayer": ((None, "self_attn"), ("norm1", "linear2")),
    "TransformerDecoderLayer": ((None, "self_attn"), ("norm1", "multihead_attn"), ("norm2", "linear2")),
}
_PRE_NORM_RESIDUALS = {
    "TransformerEncoderLayer": ((None, "self_attn"), ("self_attn", "linear2")),
    "TransformerDecoderLayer": ((None, "self_attn"), ("self_attn", "multihead_attn"), ("multihead_attn", "linear2")),
}


def transformer_skips(model: Any, order: list[str]) -> list[Skip]:
    """The residuals of torch's Transformer encoder and decoder layers, by their known structure:
    each leaves where a sub-block starts (after the module run before the layer, for the first)
    and is added after the sub-block ends."""
    skips = []
    for path, module in model.named_modules():
        # a subclass (nnviz's causal encoder layer, a user's own) keeps its parent's residuals
        kind = next((cls.__name__ for cls in type(module).__mro__ if cls.__name__ in _RESIDUALS), None)
        if kind is None or path not in order:
            continue
        before = next((p for p in reversed(order[:order.index(path)]) if not path.startswith(p)), "")
        table = _PRE_NORM_RESIDUALS if getattr(module, "norm_first", False) else _RESIDUALS
        for source, target in table[kind]:
            skips.append(Skip(before if source is None else f"{path}.{source}", f"{path}.{target}"))
    return skips


def _following_modules(model: Any) -> dict[str, str]:
    """Module path → the activation module registered right after it in its parent (``ReLU``)."""
    from .. import catalog

    activations = set(catalog.RECORDED_ACTIVATIONS.values())
    following = {}
    for parent, module in model.named_modules():
        children = list(module.named_children())
        for (name, _), (_, successor) in itertools.pairwise(children):
            if type(successor).__name__ in activations:
                following[f"{parent}.{name}" if parent else name] = type(successor).__name__
    return following


@contextmanager
def evaluating(model: Any) -> Iterator[None]:
    """torch eval mode and no_grad for a probe pass; every module's own mode comes back afterwards."""
    import torch

    with modes_kept(model.modules()):
        model.eval()
        with torch.no_grad():
            yield


@contextmanager
def modes_kept(modules: Iterable[Any]) -> Iterator[None]:
    """Puts each of ``modules`` back in the mode (training or eval) it was in, whatever the block did
    to it: ``model.train()`` would switch a layer the loop keeps in eval mode back to training."""
    modes = [(module, module.training) for module in modules]
    try:
        yield
    finally:
        for module, training in modes:  # a bool: torch's __setattr__ checks for parameters are not needed
            object.__setattr__(module, "training", training)


def call_order(model: Any, batch: Any) -> list[str]:
    """The path of every module in the order their forward started, for one pass of ``batch``."""
    calls: list[str] = []
    handles = [module.register_forward_pre_hook(lambda *_, path=path: calls.append(path))
               for path, module in model.named_modules()]
    try:
        with evaluating(model):
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    return calls


def fx_trace(model: Any) -> Trace:
    """Skips, functional activations and module order from ``torch.fx``: first with every module
    that holds others traced through (so a residual inside a block shows), then with torch's own
    layers as leaves; an empty Trace when neither traces (data-dependent control flow)."""
    import torch.fx as fx

    class Fine(fx.Tracer):
        def is_leaf_module(self, module: Any, name: str) -> bool:
            return not any(True for _ in module.children()) or type(module).__name__ in _OPAQUE

    for tracer in (Fine(), fx.Tracer()):
        try:
            graph = tracer.trace(model)
        except Exception:  # fx raises anything from a model's own code
            continue
        return _read_fx(graph)
    return Trace([], [], {}, {}, traced=False)


def _function_name(node: Any) -> str | None:
    if node.op == "call_function":
        return getattr(node.target, "__name__", None)
    if node.op == "call_method":
        return str(node.target)
    return None


def _read_fx(graph: Any) -> Trace:
    calls = [str(n.target) for n in graph.nodes if n.op == "call_module"]
    rank = {path: i for i, path in reversed(list(enumerate(calls)))}

    def producer(node: Any) -> str | None:
        """The module whose output ``node`` carries ("" for the input, None for a parameter)."""
        while True:
            if node.op == "call_module":
                return str(node.target)
            if node.op == "placeholder":
                return ""
            inputs = [a for a in node.args if hasattr(a, "op")]
            if node.op == "get_attr" or not inputs:
                return None
            node = inputs[0]

    skips = []
    activations, followers = {}, {}
    for node in graph.nodes:
        name = _function_name(node)
        is_add = (node.op == "call_function" and (node.target in _ADDS or name == "add")) or name in ("add", "add_")
        operands = [a for a in node.args if hasattr(a, "op")]
        if is_add and len(operands) == 2:
            ends = [producer(a) for a in operands]
            if None not in ends and ends[0] != ends[1]:
                source, target = sorted(ends, key=lambda p: -1 if p == "" else rank.get(p, len(calls)))
                skips.append(Skip(source, target))
        if node.op == "call_module" and len(node.users) == 1:
            (user,) = node.users
            function = _function_name(user)
            rest = [a for a in user.args if hasattr(a, "op")]
            if function in ACTIVATION_FUNCTIONS and rest == [node] and not any(
                    hasattr(v, "op") for v in user.kwargs.values()):
                activations[str(node.target)] = f"{function.rstrip('_')}()"
                followers[str(node.target)] = _applier(user)
    return Trace(calls, skips, activations, followers, traced=True)


def _applier(node: Any) -> Callable[[Any], Any]:
    """The call ``node`` makes, applied to a given tensor in place of its one tensor argument."""
    def apply(value: Any) -> Any:
        args = [value if hasattr(a, "op") else a for a in node.args]
        if node.op == "call_method":
            return getattr(args[0], str(node.target))(*args[1:], **node.kwargs)
        return node.target(*args, **node.kwargs)
    return apply


# -- the probe ---------------------------------------------------------------------------------

class ProbeError(ValueError):
    """A probe the model can't take; the message is one line naming ``probe`` and its shape."""


def expected_input(model: Any, graph: ModelGraph | None = None) -> str:
    """What the model's first layer takes, in words (``Linear 'fc1' takes 16 features``)."""
    modules = graph.modules if graph is not None else [ModuleNode(p, type(m).__name__)
                                                       for p, m in model.named_modules()]
    by_path = dict(model.named_modules())
    for node in modules:
        module = by_path.get(node.path)
        if node.kind == "Embedding":
            return (f"Embedding {node.path!r} takes integer token ids below {module.num_embeddings} "
                    f"(one sample: a sequence of ids, shape (L,))")
        if hasattr(module, "in_features"):
            return f"{node.kind} {node.path!r} takes {module.in_features} features (one sample: shape (..., "\
                   f"{module.in_features}))"
        if hasattr(module, "in_channels"):
            return f"{node.kind} {node.path!r} takes {module.in_channels} channels (one sample: (C, ...) with " \
                   f"C = {module.in_channels})"
        if hasattr(module, "input_size"):
            return f"{node.kind} {node.path!r} takes {module.input_size} features per step (one sample: (L, " \
                   f"{module.input_size}))"
    return "an input of another shape"


def model_output(output: Any) -> Any:
    """The tensor a model's output holds first (itself, or the first of a tuple), or None."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output:
        return model_output(output[0])
    if isinstance(output, Mapping):  # a dict, or a Hugging Face ModelOutput: its first tensor (the logits)
        return next((t for t in output.values() if isinstance(t, torch.Tensor)), None)
    return None


def fit_probe(model: Any, probe: Any) -> tuple[Any, Any]:
    """(a batch of one the model takes, the model's output for it) from ``probe``, one sample given
    as ``x[0]`` or ``x[:1]``. A floating probe gets the model's floating dtype. Raises
    :class:`ProbeError` naming the probe's shape and what the model takes when neither fits."""
    import torch

    tensor = torch.as_tensor(np.asarray(probe.detach().cpu() if hasattr(probe, "detach") else probe))
    floats = [p.dtype for p in model.parameters() if p.dtype.is_floating_point]
    if tensor.dtype.is_floating_point and floats:
        tensor = tensor.to(floats[0])
    fits, error, outputs = [], None, []
    # One sample (x[0]); a batch of one (x[:1]); and, to tell a batch given by mistake, the probe
    # as a batch of its rows.
    for batch in (tensor[None], tensor):
        try:
            with evaluating(model):
                output = model_output(model(batch))
        except Exception as exc:  # any error of the forward means "does not fit"
            error = exc
            continue
        outputs.append(output)
        # a batch of one goes in and comes out (an unbatched call whose output merely has one row doesn't count)
        one_in = batch.dim() >= 1 and batch.shape[0] == 1
        if one_in and output is not None and output.dim() >= 1 and output.shape[0] == 1:
            fits.append((batch, output))
    shape = tuple(tensor.shape)
    if (len(outputs) == 2 and None not in outputs and tensor.dim() >= 1 and tensor.shape[0] > 1
            and outputs[1].dim() == 2 and tuple(outputs[1].shape) == tuple(outputs[0].shape[1:])):
        raise ProbeError(f"nnviz Recorder: probe of shape {shape} is a batch of {shape[0]} samples to this model, "
                         f"which takes one per row ({outputs[1].shape[1]} outputs each); give one sample, x[0], "
                         f"or a batch of one, x[:1]")
    if not fits:
        reason = " ".join(str(error).split()) if error is not None else "its output has no batch dimension of 1"
        raise ProbeError(f"nnviz Recorder: probe of shape {shape} ({tensor.dtype}) does not fit the model, which "
                         f"expects {expected_input(model)}; give one sample, x[0], or a batch of one, x[:1] "
                         f"(torch said: {reason[:160]})")
    # x[:1] of a token model also runs as a batch of one sequence of length 1: the fewest output
    # dimensions is the reading the model was written for.
    return min(fits, key=lambda fit: fit[1].dim())
