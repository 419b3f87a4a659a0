"""How a recorded model is built: its module tree, what each module owns, the order the signal runs
through them and where residuals skip ahead. Plain data, saved in a History file as ``graph_json``.

The History's ``structure`` lists the layers the classic views know (a Linear, a Conv2d, a 1-D norm);
a :class:`ModelGraph` covers *every* module, so the picture can draw every parameter, grouped and
nested as the model's code nests them, in running order. Files without it (format 1, engine runs)
draw their structure as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModuleNode:
    """One module of the model. ``path`` is its ``named_modules`` name (``encoder.layers.0.self_attn``;
    ``""`` is the model itself); ``kind`` its class; ``params`` the History keys of the parameters it
    owns directly (not its children's), in registration order; ``calls`` how often it ran for the
    probe (0: not traced, or never called); ``activation`` the activation applied right after it (a
    module class such as ``ReLU`` or a function such as ``relu()``), when one was seen; ``info`` what
    its drawing rule needs (``heads`` of an attention, ``gates``/``layers``/``directions`` of a
    recurrent layer)."""

    path: str
    kind: str
    params: tuple[str, ...] = ()
    calls: int = 0
    activation: str | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def parent(self) -> str | None:
        """The path of the module holding this one (None for the model itself)."""
        if not self.path:
            return None
        return self.path.rpartition(".")[0]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "params": list(self.params), "calls": self.calls,
                "activation": self.activation, "info": dict(self.info)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModuleNode:
        activation = data.get("activation")
        return cls(path=str(data["path"]), kind=str(data["kind"]), params=tuple(str(k) for k in data["params"]),
                   calls=int(data.get("calls", 0)), activation=None if activation is None else str(activation),
                   info=dict(data.get("info", {})))


@dataclass(frozen=True)
class Skip:
    """A residual: the signal leaves after ``source`` (a module path, ``""`` for the model's input)
    and is added back after ``target`` (the last module of the branch it skips)."""

    source: str
    target: str


@dataclass(frozen=True)
class ModelGraph:
    """Every module in running order (a module before those it holds), how that order was found
    (``"fx"``, ``"hooks"`` or ``"registration"``), the skips, and notes for the frame (what could not
    be drawn, or that activations are shown before a function the hooks could not see)."""

    modules: tuple[ModuleNode, ...]
    order: str = "registration"
    skips: tuple[Skip, ...] = ()
    notes: tuple[str, ...] = ()

    def module(self, path: str) -> ModuleNode | None:
        return next((m for m in self.modules if m.path == path), None)

    def children(self, path: str) -> list[ModuleNode]:
        """The modules directly inside ``path``, in running order."""
        return [m for m in self.modules if m.path and m.parent == path]

    @property
    def param_keys(self) -> list[str]:
        return [key for m in self.modules for key in m.params]

    def to_json(self) -> str:
        return json.dumps({"modules": [m.to_dict() for m in self.modules], "order": self.order,
                           "skips": [[s.source, s.target] for s in self.skips], "notes": list(self.notes)})

    @classmethod
    def from_json(cls, text: str) -> ModelGraph:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("modules"), list):
            raise ValueError("'graph_json' must be a JSON object with a 'modules' list")
        return cls(modules=tuple(ModuleNode.from_dict(m) for m in data["modules"]),
                   order=str(data.get("order", "registration")),
                   skips=tuple(Skip(str(a), str(b)) for a, b in data.get("skips", [])),
                   notes=tuple(str(n) for n in data.get("notes", [])))
