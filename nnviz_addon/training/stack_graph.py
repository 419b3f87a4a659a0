"""The :class:`~..history.ModelGraph` of a layer-table model with a transformer or residual block,
so the picture draws it the way the block is built (:mod:`..picture.model_layout`): Q, K and V split
per head, the output projection, the feed-forward pair and the norms grouped under their block, and
the residual stream as arcs.

The engine has no forward hooks, so :func:`.model_graph.describe_model` only knows the registration
order, which puts a torch encoder layer's norms after its feed-forward pair. The layer table's
LayerSpecs are already in the order the signal meets the layers; modules are ranked by them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..history import LayerSpec, ModelGraph, ModuleNode, Skip
from ..preset import layer_stack
from .model_graph import describe_model, transformer_skips

GRAPH_ORDER = "layer table"  # ModelGraph.order of a layer-table model: its LayerSpecs' order


def draws_as_graph(tables: Sequence[dict]) -> bool:
    """Whether a layer table holds a block the classic row of layers can't show as it is built."""
    return any(table["type"] in ("transformer", "residual") or draws_as_graph(table.get("layers", ()))
               for table in tables)


def stack_graph(model: object, structure: Sequence[LayerSpec]) -> ModelGraph:
    """``model``'s modules ranked by the first LayerSpec inside each (a module holding none keeps its
    registration place after them), with the residuals of its transformer and residual blocks."""
    graph, _ = describe_model(model)
    rank = {spec.name: i for i, spec in enumerate(structure)}

    def first_spec(node: ModuleNode) -> int:
        inside = [i for name, i in rank.items() if not node.path or name == node.path
                  or name.startswith(f"{node.path}.")]
        return min(inside, default=len(rank))

    modules = [node for _, node in sorted(enumerate(graph.modules), key=lambda item: (first_spec(item[1]), item[0]))]
    order = [node.path for node in modules]
    skips = [*transformer_skips(model, order), *_residual_skips(modules, structure)]
    return replace(graph, modules=tuple(modules), order=GRAPH_ORDER, skips=tuple(dict.fromkeys(skips)))


def _residual_skips(modules: Sequence[ModuleNode], structure: Sequence[LayerSpec]) -> list[Skip]:
    """A residual block adds its input back after its last layer with weights: the signal leaves
    after the last layer with weights before the block (``""``: the model's input)."""
    skips = []
    for node in modules:
        inner = [spec.name for spec in structure if spec.name.startswith(f"{node.path}.")]
        if node.kind != layer_stack.RESIDUAL_MODULE or not inner:
            continue
        before = [m.path for m in modules[:modules.index(node)] if m.params]
        skips.append(Skip(before[-1] if before else "", inner[-1]))
    return skips
