"""One parameterised layer of a History's structure, as the scene draws it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LayerSpec:
    """One parameterised layer as the scene draws it.

    ``name`` is the module's ``state_dict`` prefix (``"0"``, ``"2"``, ``"fc1"``); ``weight`` and
    ``bias`` are History keys; ``activation`` is the activation applied after the layer, if any.
    ``kind`` is the module class (``Linear``, ``Conv2d``, ``LayerNorm``, ``BatchNorm1d``,
    ``BatchNorm2d``); for ``Conv2d`` the features are channels and the weight is (out, in, kh, kw).
    """

    name: str
    kind: str
    in_features: int
    out_features: int
    weight: str
    bias: str | None
    activation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "in_features": self.in_features,
            "out_features": self.out_features,
            "weight": self.weight,
            "bias": self.bias,
            "activation": self.activation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LayerSpec:
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            in_features=int(data["in_features"]),
            out_features=int(data["out_features"]),
            weight=str(data["weight"]),
            bias=None if data.get("bias") is None else str(data["bias"]),
            activation=None if data.get("activation") is None else str(data["activation"]),
        )
