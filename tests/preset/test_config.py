"""Preset loading and validation: every message names the file, the key and what is allowed."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from nnviz_addon.preset import config
from nnviz_addon.preset.config import (
    DataConfig,
    ModelConfig,
    Preset,
    PresetError,
    RenderConfig,
    TrainConfig,
    find_presets,
    load_preset,
    preset_from_dict,
)

SHIPPED = ["circle", "digits", "digits_cnn", "gauss", "moons", "rgb_mlp", "rgb_perceptron", "spiral", "xor"]

XOR = {
    "name": "XOR",
    "model": {"layers": [2, 4, 1], "activation": "tanh", "output_activation": "sigmoid"},
    "data": {"task": "xor", "samples": 200, "seed": 0},
    "train": {"loss": "bce", "optimizer": "sgd", "lr": 0.5, "batch_size": 32, "steps": 400,
              "record_every": 4, "seed": 0},
    "render": {"engine": "workbench", "resolution": [1280, 720], "fps": 24, "frames_per_record": 1},
}


def changed(section: str, **values) -> dict:
    """The XOR preset with some keys of one section replaced (a value of ... removes the key)."""
    data = copy.deepcopy(XOR)
    for key, value in values.items():
        if value is ...:
            data[section].pop(key)
        else:
            data[section][key] = value
    return data


def refused(data: dict, *fragments: str) -> str:
    with pytest.raises(PresetError) as caught:
        preset_from_dict(data, "test.toml")
    message = str(caught.value)
    assert message.startswith("test.toml: ")
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_the_issue_example_loads_into_frozen_dataclasses():
    preset = preset_from_dict(XOR, "xor.toml")
    assert preset.name == "XOR"
    assert preset.model == ModelConfig(layers=(2, 4, 1), activation="tanh", output_activation="sigmoid")
    assert preset.data == DataConfig(task="xor", samples=200, seed=0)
    assert preset.train == TrainConfig(loss="bce", optimizer="sgd", lr=0.5, batch_size=32, steps=400,
                                       record_every=4, seed=0)
    assert preset.render == RenderConfig(resolution=(1280, 720))
    assert isinstance(preset.train.lr, float)
    with pytest.raises(AttributeError):
        preset.train.lr = 1.0  # type: ignore[misc]


def test_shipped_xor_is_the_issue_example():
    assert load_preset(find_presets()["xor"]) == preset_from_dict(XOR)


def test_find_presets_lists_the_shipped_files():
    presets = find_presets()
    assert set(SHIPPED) <= set(presets)
    assert list(presets) == sorted(presets)
    assert all(path.suffix == ".toml" and path.is_file() for path in presets.values())
    assert config.presets_dir() == Path(config.__file__).resolve().parents[2] / "presets"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_presets_load_and_round_trip_through_json(name):
    preset = load_preset(find_presets()[name])
    assert preset.source == f"{name}.toml"
    plain = json.loads(json.dumps(preset.to_dict()))
    assert preset_from_dict(plain) == preset


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_presets_make_short_videos(name):
    preset = load_preset(find_presets()[name])
    records = preset.train.steps // preset.train.record_every + 1
    seconds = records * preset.render.frames_per_record / preset.render.fps
    assert 4 <= seconds <= 13, seconds


def test_defaults_fill_what_is_left_out():
    data = changed("model", activation=..., output_activation=...)
    data["model"]["output_activation"] = "sigmoid"
    del data["render"]
    preset = preset_from_dict(data)
    assert preset.model.activation == "tanh" and preset.model.norm is None and preset.model.dropout == 0.0
    assert preset.render == RenderConfig()
    assert preset.data.noise == 0.1 and preset.train.momentum == 0.0


def test_none_is_written_as_a_string_in_toml():
    preset = preset_from_dict(changed("model", output_activation="none", layers=[2, 4, 1])
                              | {"train": {**XOR["train"], "loss": "bce_with_logits"}})
    assert preset.model.output_activation is None


def test_unknown_keys_and_sections_are_named_with_the_allowed_ones():
    refused(changed("train", lrate=0.1),
            "unknown key 'train.lrate'; allowed: batch_size, loss, lr, lr_schedule, momentum, optimizer, "
            "record_every, seed, steps, weight_decay")
    refused(XOR | {"trian": {"lr": 1}}, "unknown section 'trian'; allowed: name, model, data, train, render")
    refused(XOR | {"title": "x"}, "unknown key 'title'")


def test_missing_keys_and_sections_are_named():
    refused(changed("train", loss=...), "missing key 'train.loss'", "loss, optimizer, lr")
    refused({k: v for k, v in XOR.items() if k != "data"}, "missing section [data]")
    refused({k: v for k, v in XOR.items() if k != "name"}, "missing key 'name'")


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("train", "lr", "fast", "train.lr: expected a number, got 'fast' (str)"),
    ("train", "steps", 200.0, "train.steps: expected an integer, got 200.0 (float)"),
    ("train", "steps", True, "train.steps: expected an integer, got True (bool)"),
    ("model", "layers", 3, "model.layers: expected a list of integers, got 3 (int)"),
    ("model", "layers", [2, "4", 1], "model.layers[1]: expected an integer, got '4' (str)"),
    ("model", "activation", 1, "model.activation: expected a string (one of relu, leaky_relu"),
    ("render", "magnitude", True, "render.magnitude: expected a string (one of none, gradient, update)"),
    ("render", "resolution", "720p", "render.resolution: expected a list of integers"),
])
def test_wrong_types_name_key_expected_type_and_value(section, key, value, expected):
    refused(changed(section, **{key: value}), expected)


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("train", "lr", 0, "train.lr must be in (0, ∞), got 0"),
    ("train", "lr", float("nan"), "train.lr must be in (0, ∞)"),
    ("train", "lr", float("inf"), "train.lr must be in (0, ∞)"),
    ("train", "steps", 0, "train.steps must be at least 1, got 0"),
    ("train", "record_every", 0, "train.record_every must be at least 1"),
    ("train", "batch_size", -1, "train.batch_size must be at least 1"),
    ("train", "optimizer", "lbfgs", "train.optimizer: 'lbfgs' is not allowed; allowed: sgd, adam, adamw"),
    ("train", "loss", "hinge", "allowed: mse, l1, bce, bce_with_logits, cross_entropy"),
    ("train", "momentum", 1.0, "train.momentum must be in [0, 1), got 1.0"),
    ("train", "weight_decay", -0.1, "train.weight_decay must be in [0, ∞)"),
    ("train", "lr_schedule", "linear", "train.lr_schedule: 'linear' is not allowed; allowed: constant, cosine"),
    ("train", "seed", -1, "train.seed must be at least 0"),
    ("model", "layers", [2], "model.layers must have at least 2 entries, got 1: [2]"),
    ("model", "layers", [2, 0, 1], "model.layers[1] must be at least 1, got 0"),
    ("model", "activation", "softmax", "allowed: relu, leaky_relu, tanh, sigmoid, gelu, silu, identity"),
    ("model", "norm", "groupnorm", "'groupnorm' is not allowed; allowed: layernorm, batchnorm, none"),
    ("model", "dropout", 1.0, "model.dropout must be in [0, 1), got 1.0"),
    ("data", "task", "ring", "data.task: 'ring' is not allowed; allowed: rgb, xor, circle"),
    ("data", "samples", 1, "data.samples must be at least 2"),
    ("data", "noise", -0.5, "data.noise must be in [0, 1]"),
    ("render", "resolution", [1280], "render.resolution must have exactly 2 entries, got 1"),
    ("render", "resolution", [0, 720], "render.resolution[0] must be at least 1, got 0"),
    ("render", "fps", 0, "render.fps must be at least 1"),
    ("render", "frames_per_record", 0, "render.frames_per_record must be at least 1"),
    ("render", "engine", "opengl", "allowed: workbench, eevee, cycles"),
    ("render", "color_scale", "local", "allowed: auto, global, layer"),
        ("render", "color_values", "delta", "allowed: value, change"),
    ("render", "samples", 0, "render.samples must be at least 1"),
    ("render", "quality", "rough", "render.quality: 'rough' is not allowed; allowed: final, draft"),
])
def test_bad_values_name_key_and_allowed_range(section, key, value, expected):
    refused(changed(section, **{key: value}), expected)


def test_name_must_be_a_non_empty_string():
    refused(XOR | {"name": ""}, "name: expected a non-empty string")


def test_input_size_must_match_the_task():
    refused(changed("model", layers=[3, 4, 1]), "model.layers[0] is 3 but task 'xor' has 2 inputs")


def test_output_size_must_match_task_and_loss():
    refused(changed("model", layers=[2, 4, 2]), "model.layers[-1] is 2 but task 'xor' with loss 'bce' needs "
            "1 output", "use cross_entropy")
    ce = changed("train", loss="cross_entropy")
    ce["model"] = {"layers": [2, 4, 1]}
    refused(ce, "needs 2 outputs", "one per class")
    digits = {"name": "d", "model": {"layers": [64, 32, 9]}, "data": {"task": "digits", "samples": 1797},
              "train": {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.01}}
    refused(digits, "model.layers[-1] is 9 but task 'digits' with loss 'cross_entropy' needs 10 outputs")


def test_cross_entropy_needs_classes():
    data = {"name": "c", "model": {"layers": [3, 3]}, "data": {"task": "rgb"},
            "train": {"loss": "cross_entropy", "optimizer": "sgd", "lr": 0.1}}
    refused(data, "train.loss:", "regression task", "use one of mse, l1, bce, bce_with_logits")


@pytest.mark.parametrize(("loss", "activation", "layers"), [
    ("cross_entropy", "softmax", [2, 4, 2]),
    ("cross_entropy", "sigmoid", [2, 4, 2]),
    ("bce_with_logits", "sigmoid", [2, 4, 1]),
])
def test_a_squashing_output_before_a_logit_loss_is_refused_with_the_reason(loss, activation, layers):
    data = changed("model", output_activation=activation, layers=layers)
    data["train"]["loss"] = loss
    refused(data, f"model.output_activation {activation!r} makes no sense with loss {loss!r}", "logits")


def test_bce_needs_a_sigmoid_output():
    refused(changed("model", output_activation=...), "loss 'bce' needs outputs in (0, 1)",
            "output_activation = 'sigmoid'", "bce_with_logits")
    refused(changed("model", output_activation="tanh"), "(it is 'tanh')")


def test_softmax_over_one_output_is_refused():
    data = changed("model", output_activation="softmax")
    data["train"]["loss"] = "mse"
    refused(data, "'softmax' over a single output is always 1")


def test_momentum_only_where_the_optimizer_uses_it():
    data = changed("train", optimizer="adam", momentum=0.9)
    refused(data, "train.momentum is used only by sgd, rmsprop, not 'adam'")
    assert preset_from_dict(changed("train", optimizer="rmsprop", momentum=0.9)).train.momentum == 0.9


def test_mapping_only_for_rgb_and_digits_sample_limit():
    refused(changed("data", mapping="sepia"), "data.mapping only applies to task 'rgb', not 'xor'")
    digits = {"name": "d", "model": {"layers": [64, 10]}, "data": {"task": "digits", "samples": 5000},
              "train": {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.01}}
    refused(digits, "data.samples is 5000 but task 'digits' has only 1797 samples")


def test_errors_from_a_file_name_the_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "x"\n[model]\nlayers = [2, 1]\n[data]\ntask = "xor"\n'
                    '[train]\nloss = "bce"\noptimizer = "sgd"\nlr = 0.1\nlrate = 2\n')
    with pytest.raises(PresetError, match=re.escape("mine.toml: unknown key 'train.lrate'")):
        load_preset(path)
    path.write_text("name = \n")
    with pytest.raises(PresetError, match=re.escape("mine.toml: not valid TOML")):
        load_preset(path)
    with pytest.raises(PresetError, match="no such preset file"):
        load_preset(tmp_path / "absent.toml")


def test_replace_changes_sections_and_validates_again():
    preset = load_preset(find_presets()["xor"])
    shorter = preset.replace(train={"steps": 40}, render={"fps": 12}, name="Short XOR")
    assert (shorter.train.steps, shorter.render.fps, shorter.name) == (40, 12, "Short XOR")
    assert shorter.train.lr == preset.train.lr and preset.train.steps == 400
    assert preset.replace(data=DataConfig(task="xor", samples=50)).data.samples == 50
    with pytest.raises(PresetError, match=re.escape("xor.toml: train.steps must be at least 1")):
        preset.replace(train={"steps": 0})
    with pytest.raises(PresetError, match="unknown section 'trian'"):
        preset.replace(trian={"steps": 1})
    with pytest.raises(PresetError, match=re.escape("model.layers[0] is 3")):
        preset.replace(model={"layers": [3, 1]})


def test_preset_is_hashable_and_comparable():
    assert isinstance(hash(preset_from_dict(XOR)), int)
    assert preset_from_dict(XOR, "a.toml") == preset_from_dict(XOR, "b.toml")
    assert isinstance(preset_from_dict(XOR), Preset)


def test_a_directory_or_binary_file_as_preset_is_a_preset_error(tmp_path):
    with pytest.raises(PresetError, match="is a directory, not a preset file"):
        load_preset(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(PresetError, match=r"binary\.toml: not valid TOML: the file is not UTF-8 text"):
        load_preset(binary)
