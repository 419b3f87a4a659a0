"""The optimiser base class: parameter groups, per-parameter state and torch-shaped checkpoints.

A subclass gives `_validate(hyper)` (raise ValueError with torch's message), `_hyper(group)` (the
group's hyper-parameters as plain Python values), `_init_state(hyper, like)` (fresh buffers),
`_reads_params(hyper)` (whether the rule needs the parameter values, e.g. for weight decay) and
`_apply(hyper, data, grad, state, effective, work)`: the update rule on arrays, which updates the
state buffers in place and leaves in `work` the step the caller adds to the parameter.
Parameters are engine Tensors, or anything with an `np.ndarray` in `.data` and a `.grad` that is
None or has `.data`; updates are written into `p.data` in place, so views held elsewhere (the
visualisation hook) stay live.

Speed: a numpy call costs ~0.5 µs whatever the array size, and Adam needs a dozen per parameter,
which dominated a small net's training step. So when every parameter of a small group has a
gradient, the rule runs once over the whole group (`FlatGroup`): each state buffer is one flat array
that the per-parameter state entries are views of, the gradients are copied into one flat array,
and each parameter then gets its slice of the step added in place. The elementwise arithmetic, hence
the result, is the same as parameter by parameter.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

import numpy as np

ParamGroup = dict[str, Any]


def _is_parameter(obj: object) -> bool:
    # np.ndarray itself has a `.data` (a memoryview), so the check is on what `.data` holds.
    return isinstance(getattr(obj, "data", None), np.ndarray) and hasattr(obj, "grad")


def check_non_negative(value: object, what: str) -> None:
    """torch's "Invalid <what>: <value>" check; NaN and non-numbers are rejected too."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"Invalid {what}: {value!r} (must be a non-negative number)")
    if not value >= 0.0:
        raise ValueError(f"Invalid {what}: {value} (must be >= 0)")


class ParamState(MutableMapping):
    """`optimizer.state[p]` → that parameter's state dict, created empty on first access like
    torch's defaultdict. Keyed by identity, so it works whatever Tensor's `__eq__`/`__hash__` do."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, dict[str, Any]]] = {}

    def __getitem__(self, param: Any) -> dict[str, Any]:
        entry = self._by_id.get(id(param))
        if entry is None:
            entry = self._by_id[id(param)] = (param, {})
        return entry[1]

    def __setitem__(self, param: Any, value: dict[str, Any]) -> None:
        self._by_id[id(param)] = (param, value)

    def __delitem__(self, param: Any) -> None:
        del self._by_id[id(param)]

    def __contains__(self, param: object) -> bool:
        return id(param) in self._by_id

    def __iter__(self) -> Iterator[Any]:
        return (param for param, _ in self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)


class Optimizer:
    """Base class with torch's `param_groups`, `state`, `zero_grad`, `step` and `state_dict` API."""

    def __init__(self, params: Iterable[Any] | Iterable[ParamGroup], defaults: dict[str, Any]) -> None:
        self._validate(defaults)
        self.defaults = defaults
        self.state = ParamState()
        self.param_groups: list[ParamGroup] = []
        # Work arrays reused every step, keyed by id(param) / id(group): not part of the state.
        self._scratch: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._flat: dict[int, FlatGroup] = {}

        if _is_parameter(params) or isinstance(params, np.ndarray):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- hooks for subclasses ------------------------------------------------------------------

    #: Whether `_apply` may run over a whole group at once.
    flat_update = True
    #: Groups larger than this are updated parameter by parameter: there the copy of the gradients
    #: costs more than the numpy calls it saves.
    flat_max_elements = 1 << 16

    def _validate(self, hyper: dict[str, Any]) -> None:
        """Raise ValueError for a bad hyper-parameter in `hyper` (a group or the defaults)."""

    def _hyper(self, group: ParamGroup) -> tuple:
        """The group's hyper-parameters in the form `_apply` takes them, computed once per step."""
        raise NotImplementedError

    def _init_state(self, hyper: tuple, like: np.ndarray) -> dict[str, Any]:
        """A parameter's state before its first update (buffers shaped and typed like `like`)."""
        return {}

    def _reads_params(self, hyper: tuple) -> bool:
        """Whether `_apply` reads or changes `data`; when not, a flat update passes None."""
        return True

    def _apply(
        self,
        hyper: tuple,
        data: np.ndarray | None,
        grad: np.ndarray,
        state: dict[str, Any],
        effective: np.ndarray,
        work: np.ndarray,
    ) -> None:
        """Update the buffers in `state` in place and leave in `work` the step to add to `data`;
        `effective` is a scratch array like `work`. `state['step']`, when present, was already
        advanced."""
        raise NotImplementedError

    def _update_group(self, group: ParamGroup) -> None:
        hyper = self._hyper(group)
        params = group["params"]
        flat = self._flat.get(id(group))
        if flat is None or not flat.load_grads(params):
            flat = self._flat_group(group, hyper, params)
        if flat is not None:
            flat.update(self, hyper)
            return
        for p in params:
            grad = p.grad
            if grad is None:
                continue
            data = p.data
            state = self.state[p]
            if not state:
                state.update(self._init_state(hyper, data))
            if "step" in state:
                state["step"] += 1
            scratch = self._scratch.get(id(p))
            if scratch is None or scratch[0].shape != data.shape or scratch[0].dtype != data.dtype:
                scratch = self._scratch[id(p)] = (np.empty_like(data), np.empty_like(data))
            self._apply(hyper, data, grad.data, state, *scratch)
            data += scratch[1]

    def _flat_group(self, group: ParamGroup, hyper: tuple, params: list[Any]) -> FlatGroup | None:
        """A new flat copy of the group with this step's gradients loaded, or None when the group
        does not fit one (then it is updated parameter by parameter, and step counts may part).
        While a copy is in use, `self.state[p]` buffers are views of it: replace state only
        through `load_state_dict` (which drops the copy)."""
        self._flat.pop(id(group), None)
        if not self.flat_update or len(params) < 2 or any(p.grad is None for p in params):
            return None
        if len({p.data.dtype for p in params}) > 1 or sum(p.data.size for p in params) > self.flat_max_elements:
            return None
        states = [self.state[p] for p in params]
        first = states[0]
        if any(state.keys() != first.keys() for state in states):
            return None
        if "step" in first and len({state["step"] for state in states}) > 1:
            return None
        if any(not isinstance(v, np.ndarray) for k, v in first.items() if k != "step"):
            return None
        flat = FlatGroup(params, states)
        if first:  # buffers carried over from per-parameter updates or a checkpoint
            flat.state = {
                key: first[key] if key == "step" else np.empty_like(flat.grad) for key in first
            }
            for key, buffer in flat.state.items():
                if key != "step":
                    for view, state in zip(flat.views(buffer), states, strict=True):
                        view[...] = state[key]
        else:
            flat.state = self._init_state(hyper, flat.grad)
        flat.link_state()
        flat.load_grads(params)
        self._flat[id(group)] = flat
        return flat

    # -- public API ----------------------------------------------------------------------------

    def add_param_group(self, param_group: ParamGroup) -> None:
        """Add a group (a dict with 'params' and optional hyper-parameter overrides)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' key holding its parameters")
        params = param_group["params"]
        params = [params] if _is_parameter(params) else list(params)
        for p in params:
            if not _is_parameter(p):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}"
                )
        seen = {id(p) for p in params}
        if len(seen) != len(params):
            raise ValueError("a parameter appears more than once in one parameter group")
        if any(id(p) in seen for group in self.param_groups for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")

        group = {**self.defaults, **param_group, "params": params}
        self._validate(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (torch's default), or zero it in place when `set_to_none=False`."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.data.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns `closure()` if given."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def state_dict(self) -> dict[str, Any]:
        """torch's layout: {'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}.

        Parameters are numbered in group order. Arrays are copies, so a checkpoint taken mid-run
        does not change as training goes on.
        """
        index_of: dict[int, int] = {}
        packed_groups = []
        for group in self.param_groups:
            indices = []
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
                indices.append(index_of[id(p)])
            hyper = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed_groups.append({**hyper, "params": indices})
        packed_state = {
            index_of[id(p)]: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in st.items()}
            for p, st in self.state.items()
            if id(p) in index_of
        }
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and buffers saved by `state_dict()` (ours, or torch's with its
        tensors turned into numpy arrays). Floating buffers take each parameter's dtype."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {i} has {len(saved['params'])} parameters, "
                    f"this optimizer's has {len(group['params'])}"
                )
        param_of = {
            index: p
            for saved, group in zip(saved_groups, self.param_groups, strict=True)
            for index, p in zip(saved["params"], group["params"], strict=True)
        }
        self.state = ParamState()
        self._scratch.clear()
        self._flat.clear()
        for index, saved_state in state_dict["state"].items():
            p = param_of.get(int(index))
            if p is not None:
                self.state[p] = {k: _restore_value(k, v, p.data) for k, v in saved_state.items()}
        self.param_groups = [
            {**{k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}, "params": group["params"]}
            for saved, group in zip(saved_groups, self.param_groups, strict=True)
        ]

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        lines.append(")")
        return "\n".join(lines)


class FlatGroup:
    """A group's state buffers and gradients as one flat array each, with views that map each
    flat slice back to its parameter's shape."""

    def __init__(self, params: list[Any], states: list[dict[str, Any]]) -> None:
        self.params = list(params)
        self.arrays = [p.data for p in params]  # the arrays this copy was made for
        self.param_states = states
        self._shapes = [array.shape for array in self.arrays]
        sizes = [array.size for array in self.arrays]
        self._bounds = list(zip(np.cumsum([0, *sizes[:-1]]).tolist(), np.cumsum(sizes).tolist(), strict=True))
        total = sum(sizes)
        dtype = self.arrays[0].dtype
        self.data, self.grad, self.effective, self.work = (np.empty(total, dtype) for _ in range(4))
        self._data_views = self.views(self.data)
        self._grad_views = self.views(self.grad)
        self._step_views = self.views(self.work)
        self.state: dict[str, Any] = {}
        self._linked = 0  # how many state entries the per-parameter states share

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        return [
            flat[start:stop].reshape(shape)
            for (start, stop), shape in zip(self._bounds, self._shapes, strict=True)
        ]

    def load_grads(self, params: list[Any]) -> bool:
        """Copy the gradients in; False when the group changed since (other parameters or arrays)
        or a parameter has no gradient, so that this copy no longer fits it."""
        if len(params) != len(self.params):
            return False
        for p, own, array, view in zip(params, self.params, self.arrays, self._grad_views, strict=True):
            grad = p.grad
            if p is not own or p.data is not array or grad is None:
                return False
            view[...] = grad.data
        return True

    def link_state(self) -> None:
        """Make every per-parameter state entry a view of (or, for 'step', equal to) the flat one."""
        for name, buffer in self.state.items():
            if isinstance(buffer, np.ndarray):
                for state, view in zip(self.param_states, self.views(buffer), strict=True):
                    state[name] = view
            else:
                for state in self.param_states:
                    state[name] = buffer
        self._linked = len(self.state)

    def update(self, optimizer: Optimizer, hyper: tuple) -> None:
        """One step of `optimizer`'s rule over the whole group (gradients already loaded)."""
        state = self.state
        if "step" in state:
            step = state["step"] = state["step"] + 1
            for param_state in self.param_states:
                param_state["step"] = step
        if optimizer._reads_params(hyper):
            for array, view in zip(self.arrays, self._data_views, strict=True):
                view[...] = array
            optimizer._apply(hyper, self.data, self.grad, state, self.effective, self.work)
            self.data += self.work
            for array, view in zip(self.arrays, self._data_views, strict=True):
                array[...] = view
        else:
            optimizer._apply(hyper, None, self.grad, state, self.effective, self.work)
            for array, view in zip(self.arrays, self._step_views, strict=True):
                array += view
        if len(state) != self._linked:  # a buffer the rule made on its first step (SGD's momentum)
            self.link_state()


def _restore_value(key: str, value: Any, like: np.ndarray) -> Any:
    # 'step' is a count (torch keeps it in a float tensor); everything else is a buffer shaped
    # like the parameter.
    if key == "step":
        step = float(np.asarray(value))
        return int(step) if step.is_integer() else step
    array = np.asarray(value)
    if array.shape != like.shape:
        raise ValueError(f"state '{key}' has shape {array.shape}, its parameter has shape {like.shape}")
    return array.astype(like.dtype, copy=True)


def hyper_floats(group: ParamGroup, *names: str) -> tuple[float, ...]:
    """Hyper-parameters as Python floats: a numpy float64 scalar would promote float32 arrays to
    float64 under numpy 2's rules (NEP 50) and cost a cast back on every in-place update."""
    return tuple(float(group[name]) for name in names)


__all__ = ["Optimizer", "ParamGroup", "ParamState", "check_non_negative", "hyper_floats"]
