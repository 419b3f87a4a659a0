"""Sequential and ModuleList."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from .module import Module


class Sequential(Module):
    """Modules applied in order; children are named "0", "1", ... (or by an OrderedDict's keys)."""

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, _checked(module, name))
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), _checked(module, str(index)))

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module.forward(input)  # not module(input): one Python call less per layer
        return input

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        try:
            return modules[index]
        except IndexError:
            raise IndexError(f"index {index} is out of range for a Sequential of {len(modules)} modules") from None

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), _checked(module, str(len(self))))
        return self


class ModuleList(Module):
    """A list of modules registered as children "0", "1", ..."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), _checked(module, str(len(self))))
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


def _checked(module: Any, name: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"module {name!r} is a {type(module).__name__}, not an nn.Module")
    return module
