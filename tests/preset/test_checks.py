"""The checkers a preset's sections and its layer tables share: one message per kind of mistake,
and each caller's own error class around it."""

from __future__ import annotations

import dataclasses

import pytest

from nnviz_addon.datasets import DataConfig
from nnviz_addon.preset import checks, layer_stack
from nnviz_addon.preset.config import RULES, SECTIONS, PresetError, preset_from_dict

XOR = {"name": "x", "model": {"layers": [2, 1]}, "data": {"task": "xor"},
       "train": {"loss": "bce_with_logits", "optimizer": "sgd", "lr": 0.1}}


def test_a_setting_is_declared_once_with_its_checker():
    @dataclasses.dataclass(frozen=True)
    class Section:
        size: int = checks.setting(checks.integer(1))
        mode: str = checks.setting(checks.choice(("a", "b")), "a")

    rules = checks.checkers(Section)
    assert list(rules) == ["size", "mode"]
    assert Section(3).mode == "a"
    with pytest.raises(TypeError):
        Section()  # no default: required
    with pytest.raises(checks.SettingError, match=r"^s\.mode: 'c' is not allowed; allowed: a, b$"):
        rules["mode"]("s.mode", "c")


def test_every_section_has_a_checker_for_each_field_and_no_other():
    for section, config_type in SECTIONS.items():
        assert set(RULES[section]) == {field.name for field in dataclasses.fields(config_type)}, section
    assert SECTIONS["data"] is DataConfig


def test_a_flag_is_refused_alike_in_a_section_and_in_a_layer_table():
    with pytest.raises(PresetError, match=r"data\.standardize: expected true or false, got 1 \(int\)$"):
        preset_from_dict({**XOR, "data": {"task": "xor", "standardize": 1}})
    refused = r"model\.layers\[0\]\.bias: expected true or false, got 1 \(int\)$"
    with pytest.raises(layer_stack.LayerError, match=refused):
        layer_stack.check_tables("model.layers", [{"type": "linear", "out": 1, "bias": 1}])


def test_a_layer_tables_choice_is_the_sections_choice():
    with pytest.raises(layer_stack.LayerError, match=r"\.norm: expected a string \(one of post, pre\), got 3 \(int\)$"):
        layer_stack.check_tables("model.layers", [{"type": "embedding", "dim": 4},
                                                  {"type": "transformer", "heads": 1, "norm": 3}])


def test_an_optional_flag_keeps_its_default_for_none():
    assert checks.optional_flag("k", None) is None
    assert checks.optional_flag("k", False) is False
