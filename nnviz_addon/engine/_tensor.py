"""Tensor: a numpy array with reverse-mode autograd, shaped like PyTorch's.

Each differentiable op computes its result with numpy and records a small ``backward`` closure
that maps the output gradient to one gradient per input (micrograd's layout). Elementwise ops
are rows of two tables, ``_BINARY`` and ``_UNARY`` (activations included): a forward and a
gradient rule each, run by one generic op, so a new elementwise op is one row. ``Tensor.backward``
walks the graph iteratively in reverse creation order (a topological order that needs no
depth-first search and no recursion) and, after every closure, sums each
input gradient back to that input's shape (the single "unbroadcast" step), so the rules below stay
one-liners even when numpy broadcast the operands. As in torch, a pass without ``retain_graph``
swaps each closure it ran for one that raises, which frees the arrays the closure saved.

Speed matters because a training step of a tiny network is mostly Python overhead: ``Tensor`` has
``__slots__``, no graph is recorded under :class:`no_grad` or when no input requires a gradient,
and an unbroadcast is skipped when the shapes already agree.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import namedtuple
from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from ._memory import keep_freed_memory_once
from .special import erf

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)

# exp(-x) overflows below these; clamping the exponent keeps sigmoid silent and still exact to
# within the smallest normal number of the dtype.
_EXP_LIMIT = {float32: 88.0, float64: 708.0}

Backward = Callable[[np.ndarray], Sequence["np.ndarray | None"]]
MaxResult = namedtuple("MaxResult", ["values", "indices"])


# ---------------------------------------------------------------------------------------------
# Gradient mode


_grad_enabled = True


class no_grad:
    """Context manager and decorator that stops graph recording, like ``torch.no_grad``."""

    _enabled = False

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = self._enabled

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, func: Callable) -> Callable:
        mode = type(self)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with mode():
                return func(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):
    """Turns graph recording back on inside a :class:`no_grad` block."""

    _enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


# ---------------------------------------------------------------------------------------------
# Construction helpers


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """numpy array for ``data`` with torch.tensor's dtype rules: Python floats become float32,
    Python ints int64; numpy arrays keep their dtype unless ``dtype`` is given."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    array = np.asarray(data, dtype=dtype)
    if dtype is None and not isinstance(data, np.generic):
        kind = array.dtype.kind
        if kind == "f":
            array = array.astype(float32)
        elif kind in "iu":
            array = array.astype(int64)
        elif kind != "b":
            raise TypeError(f"cannot make a tensor from {type(data).__name__} data of dtype {array.dtype}")
    return array


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (like ``torch.tensor``)."""
    array = np.array(_as_array(data, dtype), copy=True)
    return Tensor(array, requires_grad=requires_grad)


def _check_requires_grad(array: np.ndarray) -> None:
    if array.dtype.kind != "f":
        raise RuntimeError(f"only tensors of floating point dtype can require gradients, got dtype {array.dtype}")


def from_op(data: np.ndarray, parents: tuple[Tensor, ...], backward: Backward) -> Tensor:
    """The result of a differentiable op (engine-internal, used by ``nn.functional`` too).

    ``backward(grad)`` returns one gradient (or None) per parent, in the output's shape or any
    shape that broadcasts to the parent's; the engine sums it back to the parent's shape.
    The graph is recorded only when gradients are on and some parent requires one."""
    out = _new_tensor(Tensor)
    out.data = data if type(data) is np.ndarray else np.asarray(data)
    out.grad = None
    if _grad_enabled:
        for parent in parents:
            if parent.requires_grad:
                out.requires_grad = True
                out._parents = parents
                out._backward = backward
                out._seq = next(_creation_counter)
                return out
    out.requires_grad = False
    out._parents = ()
    out._backward = None
    return out


def _wrap(array: np.ndarray) -> Tensor:
    """A plain leaf tensor around ``array`` without the constructor's conversions."""
    out = _new_tensor(Tensor)
    out.data = array
    out.grad = None
    out.requires_grad = False
    out._parents = ()
    out._backward = None
    return out


_new_tensor = object.__new__
_creation_counter = itertools.count()


def _freed_backward(grad: np.ndarray) -> Sequence[np.ndarray | None]:
    """Stands in for an op's backward closure once a backward pass without retain_graph used it."""
    raise RuntimeError(
        "Trying to backward through the graph a second time (or directly access saved tensors after they "
        "have already been freed). Saved intermediate values of the graph are freed when you call .backward(). "
        "Specify retain_graph=True if you need to backward through the graph a second time."
    )


def last_axis_sum(a: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """``a.sum(axis=-1, keepdims=True) * factor`` through BLAS (a product with a constant
    vector). numpy's own reduction over a short last axis runs one tiny loop per row: for
    attention rows of 16 or LayerNorm rows of 32 it was 5-10x slower than this."""
    width = a.shape[-1]
    rows = a.reshape(-1, width)  # a view for the contiguous arrays the ops here produce
    return np.matmul(rows, _constant_vector(width, a.dtype, factor)).reshape(*a.shape[:-1], 1)


def first_axis_sum(rows: np.ndarray) -> np.ndarray:
    """``rows.sum(axis=0)`` of a 2-D array through BLAS (a constant vector times the matrix):
    numpy's column sum of a (512, 96) gradient took 11 µs, the product 3 µs. Bias gradients are
    such sums, one per layer and step."""
    return np.matmul(_constant_vector(rows.shape[0], rows.dtype, 1.0), rows)


@functools.lru_cache(maxsize=64)
def _constant_vector(width: int, dtype: np.dtype, value: float) -> np.ndarray:
    vector = np.full(width, value, dtype=dtype)
    vector.flags.writeable = False  # shared by every call
    return vector


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes numpy broadcast so it gets ``shape`` back."""
    extra = grad.ndim - len(shape)
    if extra and grad.size and grad.shape[extra:] == shape and grad.flags.c_contiguous and grad.dtype.kind == "f":
        # only leading axes were added (a bias or a positional table broadcast over the batch)
        return first_axis_sum(grad.reshape(-1, math.prod(shape))).reshape(shape)
    if extra:
        grad = np.add.reduce(grad, axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = np.add.reduce(grad, axis=stretched, keepdims=True)
    return np.asarray(grad)


def _normalize_dims(dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...] | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    return tuple(sorted(_normalize_dim(d, ndim) for d in dims))


def _normalize_dim(dim: int, ndim: int) -> int:
    low, high = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not low <= dim <= high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})")
    return dim % ndim if ndim else 0


def _index_array(index: Any) -> Any:
    """Tensors inside an index become their arrays; everything else is numpy indexing as is."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(_index_array(i) for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_basic_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


# ---------------------------------------------------------------------------------------------
# Binary op rules: forward ufunc and one gradient rule per side, (g, a, b, out) -> gradient.


def _power(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # torch gives inf and nan (0 ** -1, (-8) ** 0.5) without a warning; numpy would warn.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.power(a, b)


def _pow_grad_base(g: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    # d(a**b)/da = b * a**(b-1); torch defines it as 0 where b == 0 (0**-1 would make it NaN).
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0, g * b * a ** (b - 1))


def _pow_grad_exponent(g: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    # d(a**b)/db = a**b * log(a); torch defines it as 0 where a == 0 and b >= 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((a == 0) & (b >= 0), 0, g * out * np.log(a))


def _check_integer_divisor(a: np.ndarray, b: np.ndarray) -> None:
    # numpy gives 0 and a warning; torch raises a RuntimeError whose message is "ZeroDivisionError"
    if a.dtype.kind in "iub" and b.dtype.kind in "iub" and not np.all(b):
        raise RuntimeError("ZeroDivisionError: integer division by zero (a divisor element is 0)")


def _floor_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Python's ``//`` elementwise (rounds toward -inf); floats give inf or nan at 0, as in torch."""
    _check_integer_divisor(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor_divide(a, b)


def _trunc_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Division rounded toward zero (C's integer division), integers kept exact."""
    _check_integer_divisor(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        if a.dtype.kind == "f":
            return np.trunc(np.true_divide(a, b))
        quotient, remainder = np.divmod(a, b)
        return quotient + ((remainder != 0) & ((a < 0) != (b < 0)))


def _floor_divide_grad(g: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    raise RuntimeError(
        "derivative for floor_divide is not implemented (as in torch); "
        "use div(..., rounding_mode='floor') for a zero gradient or detach() the operands"
    )


def _zero_grad(g: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    # a rounded quotient is piecewise constant, so torch defines its gradient as zero
    return np.zeros_like(g)


_BINARY: dict[str, tuple[Callable, Callable, Callable]] = {
    "add": (np.add, lambda g, a, b, out: g, lambda g, a, b, out: g),
    "sub": (np.subtract, lambda g, a, b, out: g, lambda g, a, b, out: -g),
    "mul": (np.multiply, lambda g, a, b, out: g * b, lambda g, a, b, out: g * a),
    "div": (np.true_divide, lambda g, a, b, out: g / b, lambda g, a, b, out: -g * out / b),
    "pow": (_power, _pow_grad_base, _pow_grad_exponent),
    "floor_divide": (_floor_divide, _floor_divide_grad, _floor_divide_grad),
    "div_floor": (_floor_divide, _zero_grad, _zero_grad),
    "div_trunc": (_trunc_divide, _zero_grad, _zero_grad),
}
_ROUNDING_MODES = ("trunc", "floor")


# ---------------------------------------------------------------------------------------------
# Unary op rules, one row per op like _BINARY: forward(x, *params) -> out and the gradient rule
# (g, x, out, *params) -> gradient. The activations are rows here too, so each rule is written
# once: Tensor methods, nn.functional and the activation modules all reach it through `unary`.


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # limit and 1 in x's dtype: numpy 1.x would turn a 0-d float32 x into float64 otherwise
    limit = x.dtype.type(_EXP_LIMIT.get(x.dtype, 708.0))
    return np.reciprocal(np.exp(np.minimum(-x, limit)) + x.dtype.type(1))


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, x.dtype.type(0))  # a same-dtype scalar: numpy converts a Python 0 every call


def _relu_grad(g: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    return g * (out > out.dtype.type(0))  # 0 at x == 0, as in torch


def _leaky_relu(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x > 0, x, x * x.dtype.type(slope))


def _leaky_relu_grad(g: np.ndarray, x: np.ndarray, out: np.ndarray, slope: float) -> np.ndarray:
    # torch gives the slope at x == 0
    return g * np.where(x > 0, 1, slope).astype(x.dtype, copy=False)


def _silu_grad(g: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    s = _sigmoid(x)
    return g * (s * (1 + x * (1 - s)))


def _same_dtype(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Undo numpy 1.x promoting 0-d float32 results to float64 when a Python float joins in."""
    return out if out.dtype == like.dtype else out.astype(like.dtype)


def _gelu(x: np.ndarray) -> np.ndarray:
    return _same_dtype(x * (0.5 * (1.0 + erf(x * _SQRT_HALF))), x)


def _gelu_grad(g: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    # Phi(x) is out / x (exact to one rounding), which spares backward a second, costly erf;
    # at x == 0 it is 1/2.
    cdf = np.divide(out, x, out=np.full_like(x, 0.5), where=x != 0)
    return g * (cdf + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI)


def _gelu_tanh_inner(x: np.ndarray) -> np.ndarray:
    return np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return _same_dtype(0.5 * x * (1.0 + _gelu_tanh_inner(x)), x)


def _gelu_tanh_grad(g: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    t = _gelu_tanh_inner(x)
    inner = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * x * x)
    return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner)


_UNARY: dict[str, tuple[Callable, Callable]] = {
    "neg": (np.negative, lambda g, x, out: -g),
    "exp": (np.exp, lambda g, x, out: g * out),
    "log": (np.log, lambda g, x, out: g / x),
    "sqrt": (np.sqrt, lambda g, x, out: g / (2 * out)),
    "abs": (np.abs, lambda g, x, out: g * np.sign(x)),
    "tanh": (np.tanh, lambda g, x, out: g * (1 - out * out)),
    "sigmoid": (_sigmoid, lambda g, x, out: g * out * (1 - out)),
    "relu": (_relu, _relu_grad),
    "leaky_relu": (_leaky_relu, _leaky_relu_grad),
    "silu": (lambda x: x * _sigmoid(x), _silu_grad),
    "gelu": (_gelu, _gelu_grad),  # exact: x * Phi(x) with the normal CDF from erf
    "gelu_tanh": (_gelu_tanh, _gelu_tanh_grad),  # torch's approximate="tanh"
}


def unary(input: Tensor, name: str, *params: Any) -> Tensor:
    """``input`` through the unary rule ``name`` (a key of ``_UNARY``), with its backward."""
    forward, grad = _UNARY[name]
    x = input.data
    out = forward(x, *params)
    return from_op(out, (input,), lambda g: (grad(g, x, out, *params),))


def _unary_method(name: str) -> Callable[[Tensor], Tensor]:
    def method(self: Tensor) -> Tensor:
        return unary(self, name)

    method.__name__ = method.__qualname__ = name
    return method


class Tensor:
    """An n-dimensional array that can record the ops applied to it and differentiate them.

    ``Tensor(data)`` wraps a numpy array without copying it (like ``torch.as_tensor``); use
    :func:`tensor` for a copy. ``data`` is the public ndarray (optimisers update it in place),
    ``grad`` is a Tensor or None and only leaves that require a gradient keep one.
    """

    __slots__ = ("_backward", "_parents", "_retains_grad", "_seq", "data", "grad", "requires_grad")
    __array_ufunc__ = None  # `ndarray + Tensor` defers to Tensor.__radd__ instead of looping

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self.data = _as_array(data, dtype)
        self.grad: Tensor | None = None
        if requires_grad:
            _check_requires_grad(self.data)
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Backward | None = None

    # -- properties -------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        return self._backward is None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[_normalize_dim(dim, self.ndim)]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.dtype not in (float32, int64, np.dtype(bool)):
            extras.append(f"dtype={self.dtype}")
        if self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return bool(self.data)  # numpy raises for more than one element, as torch does

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(tensor)`` gives the data (a copy only when a dtype change needs one)."""
        return self.data if dtype is None else self.data.astype(dtype, copy=bool(copy))

    # -- leaving the graph ------------------------------------------------------------------

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self.data

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad:
            _check_requires_grad(self.data)
        self.requires_grad = requires_grad
        return self

    def zero_(self) -> Tensor:
        self.data[...] = 0
        return self

    # -- autograd ---------------------------------------------------------------------------

    def backward(self, gradient: Tensor | np.ndarray | float | None = None, retain_graph: bool | None = None) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient
        (and into ``.grad`` of the non-leaves that asked with :meth:`retain_grad`).

        Like torch, the graph's saved arrays are freed on the way unless ``retain_graph`` is
        true, so a second backward through the same ops raises instead of silently adding the
        gradients again."""
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = np.ones(self.data.shape, self.data.dtype)
        else:
            seed = _as_array(gradient, self.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"gradient has shape {seed.shape} but the tensor it is for has shape {self.shape}")
        if self._backward is None:
            self._accumulate(seed)
            return
        keep_freed_memory_once()  # training frees and allocates the same arrays each step (see _memory)
        free = not retain_graph
        # Creation order is a topological order (an op's inputs exist before its output), so a
        # heap keyed on the creation number yields every node after all the nodes computed from
        # it; leaves take their gradient as it arrives.
        # (the names below are locals: this loop is the hot path of every training step)
        grads: dict[int, np.ndarray] = {id(self): seed}
        pending = [(-self._seq, self)]
        pop, push, unbroadcast, wrap = heappop, heappush, _unbroadcast, _wrap
        while pending:
            node = pop(pending)[1]
            parent_grads = node._backward(grads.pop(id(node)))
            if free:  # drops the closure and with it the arrays it saved
                node._backward = _freed_backward
            for parent, parent_grad in zip(node._parents, parent_grads, strict=True):
                if parent_grad is None or not parent.requires_grad:
                    continue
                target = parent.data
                if parent_grad.shape != target.shape:
                    parent_grad = unbroadcast(parent_grad, target.shape)
                if parent_grad.dtype != target.dtype:
                    parent_grad = parent_grad.astype(target.dtype)
                if parent._backward is None:  # a leaf: _accumulate, inlined
                    if parent.grad is None:
                        # A copy: the same array may have been handed to several inputs (e.g. by `add`).
                        parent.grad = wrap(np.array(parent_grad))
                    else:
                        parent.grad.data += parent_grad
                    continue
                key = id(parent)
                previous = grads.get(key)
                if previous is None:
                    grads[key] = parent_grad
                    push(pending, (-parent._seq, parent))
                else:
                    grads[key] = previous + parent_grad

    def retain_grad(self) -> None:
        """Make this non-leaf keep its gradient in ``.grad`` after backward (a no-op on leaves)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.is_leaf or self.retains_grad:
            return
        self._retains_grad = True
        # The node's closure receives the node's full gradient, so storing it there costs the
        # backward pass nothing for every tensor that does not retain its gradient.
        compute_parent_grads = self._backward

        def store_then_backward(grad: np.ndarray) -> Sequence[np.ndarray | None]:
            self._accumulate(grad)
            return compute_parent_grads(grad)

        self._backward = store_then_backward

    @property
    def retains_grad(self) -> bool:
        return getattr(self, "_retains_grad", False)  # the slot is only set by retain_grad()

    def _accumulate(self, grad: np.ndarray) -> None:
        if self.grad is None:
            # A copy: the same array may have been handed to several inputs (e.g. by `add`).
            self.grad = _wrap(np.array(grad, dtype=self.data.dtype))
        else:
            self.grad.data += grad

    # -- arithmetic -------------------------------------------------------------------------

    def _operand(self, other: Any) -> Tensor:
        """``other`` as a tensor whose dtype will not change self's float dtype: Python and numpy
        scalars take self's dtype (numpy 1.x would otherwise upcast 0-d float32 results), integer
        arrays take it too, as in torch."""
        if isinstance(other, Tensor):
            return other
        own = self.data.dtype
        if isinstance(other, (int, float, bool, np.generic)):
            if own.kind == "f" or not isinstance(other, (float, np.floating)):
                return Tensor(np.array(other, dtype=own))
            return Tensor(np.array(other, dtype=float32))
        array = np.asarray(other)
        if array.dtype.kind in "iub" and own.kind == "f":
            array = array.astype(own)
        return Tensor(array)

    def _binary(self, other: Any, name: str, reflected: bool = False) -> Tensor:
        a, b = self, self._operand(other)
        if reflected:
            a, b = b, a
        x, y = a.data, b.data
        if x.dtype != y.dtype:
            # torch: an integer operand takes the float operand's dtype
            if x.dtype.kind == "f" and y.dtype.kind != "f":
                y = y.astype(x.dtype)
            elif y.dtype.kind == "f" and x.dtype.kind != "f":
                x = x.astype(y.dtype)
        if name == "div" and x.dtype.kind != "f" and y.dtype.kind != "f":
            # torch's true division of integers gives the default float dtype, numpy's float64
            x, y = x.astype(float32), y.astype(float32)
        forward, grad_a, grad_b = _BINARY[name]
        try:
            out = forward(x, y)
        except ValueError:
            raise ValueError(f"{name}: shapes {x.shape} and {y.shape} cannot be broadcast together") from None

        def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
            return (
                grad_a(g, x, y, out) if a.requires_grad else None,
                grad_b(g, x, y, out) if b.requires_grad else None,
            )

        return from_op(out, (a, b), backward)

    def __add__(self, other: Any) -> Tensor:
        return self._binary(other, "add")

    def __radd__(self, other: Any) -> Tensor:
        return self._binary(other, "add", reflected=True)

    def __sub__(self, other: Any) -> Tensor:
        return self._binary(other, "sub")

    def __rsub__(self, other: Any) -> Tensor:
        return self._binary(other, "sub", reflected=True)

    def __mul__(self, other: Any) -> Tensor:
        return self._binary(other, "mul")

    def __rmul__(self, other: Any) -> Tensor:
        return self._binary(other, "mul", reflected=True)

    def __truediv__(self, other: Any) -> Tensor:
        return self._binary(other, "div")

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._binary(other, "div", reflected=True)

    def __floordiv__(self, other: Any) -> Tensor:
        return self._binary(other, "floor_divide")

    def __rfloordiv__(self, other: Any) -> Tensor:
        return self._binary(other, "floor_divide", reflected=True)

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """``self / other``, or rounded with ``rounding_mode`` "trunc" or "floor" (zero gradient)."""
        if rounding_mode is None:
            return self._binary(other, "div")
        if rounding_mode not in _ROUNDING_MODES:
            raise RuntimeError(
                f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}"
            )
        return self._binary(other, f"div_{rounding_mode}")

    def __pow__(self, other: Any) -> Tensor:
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return self._pow_scalar(other)
        return self._binary(other, "pow")

    def __rpow__(self, other: Any) -> Tensor:
        return self._binary(other, "pow", reflected=True)

    def _pow_scalar(self, exponent: float) -> Tensor:
        x = self.data
        if x.dtype.kind != "f" and isinstance(exponent, float):
            x = x.astype(float32)  # torch: an integer tensor to a float power is float32
        e = x.dtype.type(exponent) if x.dtype.kind == "f" else exponent
        out = x**e
        if e == 0:  # torch's gradient of x**0 is 0 everywhere; the formula gives NaN at x == 0
            return from_op(out, (self,), lambda g: (np.zeros_like(g),))
        return from_op(out, (self,), lambda g: (g * e * x ** (e - 1),))

    __neg__ = _unary_method("neg")

    def __pos__(self) -> Tensor:
        return self

    add = __add__
    sub = __sub__
    mul = __mul__
    floor_divide = __floordiv__
    pow = __pow__
    neg = __neg__

    # -- in-place arithmetic -----------------------------------------------------------------
    # Without these Python would turn `p -= lr * p.grad` into `p = p - lr * p.grad`: the loop
    # variable would be rebound and the parameter silently left unchanged (torch updates it).

    def _inplace(self, other: Any, name: str, new_node_ok: bool = True) -> Tensor:
        """``self <op>= other`` on the array itself when no graph is recorded. ``new_node_ok``:
        the caller rebinds the result (``x += y``), so inside the graph a new node will do; a
        method call (``x.add_(y)``) is often used for its side effect, so there it is an error."""
        other_tensor = other if isinstance(other, Tensor) else None
        if _grad_enabled and (self.requires_grad or (other_tensor is not None and other_tensor.requires_grad)):
            if self.requires_grad and self.is_leaf:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
            if not new_node_ok:
                raise RuntimeError(
                    f"{name}_() on a tensor that is part of the autograd graph is not supported; "
                    f"use x = x.{name}(y) or run it under no_grad()"
                )
            # Inside the graph the engine keeps old values for the backward closures, so the
            # result is a new node (the same gradients; only other references keep the old values).
            result = self._binary(other, name)
            if self.retains_grad:  # in torch it is the same tensor, so it still retains its grad
                result.retain_grad()
            return result
        operand = other_tensor.data if other_tensor is not None else self._operand(other).data
        ufunc = _BINARY[name][0]
        try:
            ufunc(self.data, operand, out=self.data, casting="same_kind")
        except ValueError:
            raise ValueError(
                f"in-place {name}: a tensor of shape {np.shape(operand)} "
                f"cannot be written into one of shape {self.shape}"
            ) from None
        except TypeError:
            raise TypeError(
                f"in-place {name}: the result of {self.dtype} and {np.asarray(operand).dtype} "
                f"cannot be stored in a {self.dtype} tensor"
            ) from None
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(other, "add")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(other, "sub")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(other, "mul")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(other, "div")

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._inplace(other if alpha == 1 else other * alpha, "add", new_node_ok=False)

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._inplace(other if alpha == 1 else other * alpha, "sub", new_node_ok=False)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(other, "mul", new_node_ok=False)

    def div_(self, other: Any) -> Tensor:
        return self._inplace(other, "div", new_node_ok=False)

    def __setitem__(self, index: Any, value: Any) -> None:
        if _grad_enabled and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            raise RuntimeError(
                "item assignment into a tensor that is part of the autograd graph is not supported; "
                "assign under no_grad() or build the result with arithmetic"
            )
        self.data[_index_array(index)] = value.data if isinstance(value, Tensor) else value

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(self._operand(other), self)

    matmul = __matmul__

    # -- comparisons (no gradient) ----------------------------------------------------------

    def _compare(self, other: Any, ufunc: np.ufunc) -> Tensor:
        return Tensor(ufunc(self.data, self._operand(other).data))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if dim is None:
            return Tensor(np.asarray(self.data.argmax(), dtype=int64))
        axis = _normalize_dim(dim, self.ndim)
        return Tensor(self.data.argmax(axis=axis, keepdims=keepdim).astype(int64, copy=False))

    # -- dtype ------------------------------------------------------------------------------

    def to(self, dtype: Any) -> Tensor:
        """A copy in ``dtype``; differentiable between float dtypes."""
        target = np.dtype(dtype)
        if target == self.dtype:
            return self
        if target.kind != "f":
            return Tensor(self.data.astype(target))  # integers and booleans carry no gradient
        source = self.dtype
        return from_op(self.data.astype(target), (self,), lambda g: (g.astype(source),))

    def float(self) -> Tensor:
        return self.to(float32)

    def double(self) -> Tensor:
        return self.to(float64)

    def long(self) -> Tensor:
        return Tensor(self.data.astype(int64))

    # -- reductions -------------------------------------------------------------------------

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        axes = _normalize_dims(dim, self.ndim)
        shape = self.shape
        out = self.data.sum(axis=axes, keepdims=keepdim)
        return from_op(out, (self,), lambda g: (_expand_reduced(g, axes, keepdim, shape),))

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        if self.dtype.kind != "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating point or "
                f"complex dtype. Got: {_torch_dtype_name(self.dtype)} (convert first, e.g. x.float().mean())"
            )
        axes = _normalize_dims(dim, self.ndim)
        shape = self.shape
        count = self.data.size if axes is None else int(np.prod([shape[a] for a in axes]))
        out = self.data.mean(axis=axes, keepdims=keepdim)
        return from_op(out, (self,), lambda g: (_expand_reduced(g / count, axes, keepdim, shape),))

    def max(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MaxResult:
        """Like torch: without ``dim`` the maximum (its gradient split evenly among ties); with
        ``dim`` a ``(values, indices)`` pair whose gradient goes to the index returned."""
        return self._extreme(dim, keepdim, np.max, np.argmax)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MaxResult:
        return self._extreme(dim, keepdim, np.min, np.argmin)

    def _extreme(self, dim: int | None, keepdim: bool, reduce: Callable, arg: Callable) -> Tensor | MaxResult:
        x = self.data
        if x.size == 0:
            raise RuntimeError("max()/min() of an empty tensor: the operation has no identity")
        if dim is None:
            out = np.asarray(reduce(x))

            def backward_all(g: np.ndarray) -> tuple[np.ndarray]:
                ties = x == out
                return (ties * (g / ties.sum()),)

            return from_op(out, (self,), backward_all)
        axis = _normalize_dim(dim, self.ndim)
        index = np.expand_dims(arg(x, axis=axis), axis)
        values = np.take_along_axis(x, index, axis)

        def backward_dim(g: np.ndarray) -> tuple[np.ndarray]:
            grad = np.zeros_like(x)
            np.put_along_axis(grad, index, g if keepdim else np.expand_dims(g, axis), axis)
            return (grad,)

        if not keepdim:
            values, index_out = np.squeeze(values, axis), np.squeeze(index, axis)
        else:
            index_out = index
        return MaxResult(from_op(values, (self,), backward_dim), Tensor(index_out.astype(int64)))

    # -- shape ------------------------------------------------------------------------------

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        new_shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) else shape
        old_shape = self.shape
        try:
            out = self.data.reshape(new_shape)
        except ValueError:
            raise ValueError(
                f"shape {tuple(new_shape)} is invalid for a tensor of shape {old_shape} ({self.data.size} elements)"
            ) from None
        return from_op(out, (self,), lambda g: (g.reshape(old_shape),))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _normalize_dim(start_dim, self.ndim), _normalize_dim(end_dim, self.ndim)
        shape = self.shape
        return self.reshape(*shape[:start], -1, *shape[end + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        axis = _normalize_dim(dim, self.ndim + 1)
        return self.reshape(*self.shape[:axis], 1, *self.shape[axis:])

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is None:
            return self.reshape(*(n for n in self.shape if n != 1))
        axis = _normalize_dim(dim, self.ndim)
        if self.shape[axis] != 1:
            return self
        return self.reshape(*self.shape[:axis], *self.shape[axis + 1 :])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        a, b = _normalize_dim(dim0, self.ndim), _normalize_dim(dim1, self.ndim)
        return from_op(np.swapaxes(self.data, a, b), (self,), lambda g: (np.swapaxes(g, a, b),))

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        order = tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims
        if sorted(_normalize_dim(d, self.ndim) for d in order) != list(range(self.ndim)):
            raise ValueError(f"permute dims {tuple(order)} are not a permutation of the {self.ndim} dims")
        inverse = tuple(np.argsort([_normalize_dim(d, self.ndim) for d in order]))
        return from_op(np.transpose(self.data, order), (self,), lambda g: (np.transpose(g, inverse),))

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        return split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return chunk(self, chunks, dim)

    def tril(self, diagonal: int = 0) -> Tensor:
        return tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return triu(self, diagonal)

    def masked_fill(self, mask: Any, value: float | Tensor) -> Tensor:
        return masked_fill(self, mask, value)

    def contiguous(self) -> Tensor:
        return self  # numpy arrays need no contiguity for any op here

    def __getitem__(self, index: Any) -> Tensor:
        index = _index_array(index)
        x = self.data
        out = x[index]
        basic = _is_basic_index(index)

        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            grad = np.zeros_like(x)
            if basic:
                grad[index] = g
            else:  # integer arrays may repeat an element: every occurrence adds its share
                np.add.at(grad, index, g)
            return (grad,)

        return from_op(out, (self,), backward)

    # -- elementwise functions --------------------------------------------------------------

    exp = _unary_method("exp")
    log = _unary_method("log")
    sqrt = _unary_method("sqrt")
    abs = _unary_method("abs")
    tanh = _unary_method("tanh")
    sigmoid = _unary_method("sigmoid")
    relu = _unary_method("relu")

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:
        """Limit to [min, max]; the gradient passes where min <= x <= max, as in torch."""
        if min is None and max is None:
            raise ValueError("clamp needs at least one of min and max")
        x = self.data
        low = None if min is None else x.dtype.type(min)
        high = None if max is None else x.dtype.type(max)
        out = np.clip(x, low, high)

        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            inside = np.ones(x.shape, dtype=bool)
            if low is not None:
                inside &= x >= low
            if high is not None:
                inside &= x <= high
            return (g * inside,)

        return from_op(out, (self,), backward)

    clip = clamp

    def softmax(self, dim: int) -> Tensor:
        axis = _normalize_dim(dim, self.ndim)
        with np.errstate(invalid="ignore"):  # a row of only -inf gives NaN silently, as in torch
            shifted = self.data - self.data.max(axis=axis, keepdims=True)
            out = np.exp(shifted)
            out /= out.sum(axis=axis, keepdims=True)

        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

        return from_op(out, (self,), backward)

    def log_softmax(self, dim: int) -> Tensor:
        axis = _normalize_dim(dim, self.ndim)
        out = _log_softmax(self.data, axis)

        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

        return from_op(out, (self,), backward)


_TORCH_INTEGER_NAMES = {
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def _torch_dtype_name(dtype: np.dtype) -> str:
    """The name torch's error messages use for a dtype (``Long`` for int64)."""
    return _TORCH_INTEGER_NAMES.get(dtype.name, dtype.name)


def _expand_reduced(g: np.ndarray, axes: tuple[int, ...] | None, keepdim: bool, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of a sum over ``axes``: ``g`` copied along the reduced axes."""
    if axes is not None and not keepdim:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` with numpy's rules for 1-D and batched operands."""
    x, y = a.data, b.data
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"matmul needs tensors with at least 1 dimension, got shapes {x.shape} and {y.shape}")
    inner = y.shape[0] if y.ndim == 1 else y.shape[-2]
    if x.shape[-1] != inner:
        raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not match ({x.shape[-1]} != {inner})")
    try:
        out = np.matmul(x, y)
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of shapes {x.shape} and {y.shape} cannot be broadcast") from None

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        # Treat 1-D operands as a row (left) or column (right) matrix, then drop that axis again.
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g2 = g
        if y.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if x.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        grad_x = grad_y = None
        if a.requires_grad:
            grad_x = np.matmul(g2, np.swapaxes(y2, -1, -2))
            if x.ndim == 1:
                grad_x = grad_x[..., 0, :]
        if b.requires_grad:
            grad_y = np.matmul(np.swapaxes(x2, -1, -2), g2)
            if y.ndim == 1:
                grad_y = grad_y[..., 0]
        return grad_x, grad_y

    return from_op(out, (a, b), backward)


# ---------------------------------------------------------------------------------------------
# Masking, joining and splitting (the pieces attention is built from), torch's names and rules


def masked_fill(input: Tensor, mask: Any, value: float | Tensor) -> Tensor:
    """``input`` with ``value`` where the boolean ``mask`` (broadcast against it) is True.
    The gradient flows to ``input`` where the mask is False and, for a 0-d tensor ``value``,
    to ``value`` from every filled element, as in torch."""
    where = _index_array(mask)
    if not isinstance(where, np.ndarray) or where.dtype != np.bool_:
        dtype = np.asarray(where).dtype
        raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {dtype}")
    x = input.data
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, got {value.ndim} dimensions")
        fill = value.data.astype(x.dtype, copy=False)
    else:
        fill = x.dtype.type(value)
    out = np.where(where, fill, x)

    def backward(g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        kept = np.where(where, 0, g).astype(g.dtype, copy=False)
        if not isinstance(value, Tensor):
            return (kept,)
        return kept, np.add.reduce(g * where, axis=None) if value.requires_grad else None

    parents = (input, value) if isinstance(value, Tensor) else (input,)
    return from_op(out, parents, backward)


def _triangle(input: Tensor, diagonal: int, keep: Callable[[np.ndarray, int], np.ndarray]) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"tril/triu: input tensor must have at least 2 dimensions, got shape {input.shape}")
    # the op zeroes the same places in the gradient as in the values
    return from_op(keep(input.data, diagonal), (input,), lambda g: (keep(g, diagonal),))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below ``diagonal``), zeros above."""
    return _triangle(input, diagonal, np.tril)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above ``diagonal``), zeros below."""
    return _triangle(input, diagonal, np.triu)


def _split_backward(sizes: list[int], axis: int) -> Callable[[np.ndarray], tuple[np.ndarray, ...]]:
    """The gradient of a join along ``axis``: ``g`` cut back into pieces of ``sizes``."""
    bounds = np.cumsum(sizes)[:-1]
    return lambda g: tuple(np.split(g, bounds, axis=axis))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (``torch.cat``)."""
    tensors = tuple(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    axis = _normalize_dim(dim, tensors[0].ndim)
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise RuntimeError(f"cat(): sizes of tensors must match except in dimension {dim}; got {shapes}") from None
    return from_op(out, tensors, _split_backward([t.shape[axis] for t in tensors], axis))


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dim (``torch.stack``)."""
    tensors = tuple(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    axis = _normalize_dim(dim, tensors[0].ndim + 1)
    if any(t.shape != tensors[0].shape for t in tensors):
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise RuntimeError(f"stack expects each tensor to be equal size, but got {shapes}")
    out = np.stack([t.data for t in tensors], axis=axis)
    return from_op(out, tensors, lambda g: tuple(np.moveaxis(g, axis, 0)))


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces along ``dim``: each ``split_size`` long (the last may be shorter), or of the given sizes."""
    axis = _normalize_dim(dim, tensor.ndim)
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and length:
            raise RuntimeError(f"split expects split_size be positive, but got split_size={size}")
        sizes = [min(size, length - start) for start in range(0, length, size)] if length else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {length} (input tensor's size at "
                f"dimension {dim}), but got split_sizes={sizes}"
            )
    starts = [0, *np.cumsum(sizes)[:-1].tolist()]
    return tuple(_narrow(tensor, axis, start, size) for start, size in zip(starts, sizes, strict=True))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """``chunks`` pieces of equal size ceil(n / chunks) along ``dim`` (fewer when n runs out), as torch."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    length = input.shape[_normalize_dim(dim, input.ndim)]
    return split(input, max(-(-length // chunks), 1), dim)


def _narrow(input: Tensor, axis: int, start: int, length: int) -> Tensor:
    """The slice [start, start + length) along ``axis``; its gradient is zero-padded back."""
    index = (slice(None),) * axis + (slice(start, start + length),)
    x = input.data

    def backward(g: np.ndarray) -> tuple[np.ndarray]:
        grad = np.zeros_like(x)
        grad[index] = g
        return (grad,)

    return from_op(x[index], (input,), backward)

