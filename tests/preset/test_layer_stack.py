"""Presets written as layer tables: their keys, their shapes checked through the stack before
training, the model and LayerSpecs built from them, and the digits CNN learning (no torch, no bpy)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from nnviz_addon.engine import Tensor
from nnviz_addon.preset import layer_stack
from nnviz_addon.preset.config import PresetError, find_presets, load_preset, preset_from_dict
from nnviz_addon.training.run import TrainingRun, build_stack

CNN = [{"type": "conv2d", "out": 8, "kernel": 3, "padding": 1}, {"type": "relu"},
       {"type": "maxpool2d", "kernel": 2}, {"type": "conv2d", "out": 16, "kernel": 3}, {"type": "relu"},
       {"type": "flatten"}, {"type": "linear", "out": 10}]


def digits(layers: list, **model) -> dict:
    return {"name": "cnn", "model": {"layers": copy.deepcopy(layers), **model},
            "data": {"task": "digits", "samples": 300},
            "train": {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.01, "steps": 4, "record_every": 2}}


def refused(data: dict, message: str) -> None:
    with pytest.raises(PresetError) as caught:
        preset_from_dict(data, "cnn.toml")
    assert str(caught.value) == f"cnn.toml: {message}"


def test_a_layer_table_preset_round_trips_through_json_and_replace():
    preset = preset_from_dict(digits(CNN))
    assert preset.model.is_stack and preset.model.layers[0] == CNN[0]
    plain = json.loads(json.dumps(preset.to_dict()))
    assert "activation" not in plain["model"]
    assert preset_from_dict(plain) == preset
    assert preset.replace(train={"steps": 9}).model == preset.model


def test_shapes_are_traced_from_the_tasks_input():
    steps = layer_stack.trace(CNN, (1, 8, 8))
    assert [(s.module, s.output) for s in steps] == [
        ("Conv2d", (8, 8, 8)), ("relu", (8, 8, 8)), ("MaxPool2d", (8, 4, 4)), ("Conv2d", (16, 2, 2)),
        ("relu", (16, 2, 2)), ("Flatten", (64,)), ("Linear", (10,))]
    strided = [{"type": "conv2d", "out": 2, "kernel": [3, 2], "stride": [2, 3], "dilation": 2, "padding": [1, 0]},
               {"type": "avgpool2d", "kernel": 2, "stride": 1, "padding": 1},
               {"type": "adaptiveavgpool2d", "size": [2, 3]}, {"type": "batchnorm"}]
    assert [s.output for s in layer_stack.trace(strided, (1, 11, 12))] == [(2, 5, 4), (2, 6, 5), (2, 2, 3),
                                                                           (2, 2, 3)]
    same = [{"type": "conv2d", "out": 3, "kernel": 4, "padding": "same", "dilation": 2}]
    assert layer_stack.trace(same, (1, 7, 6))[0].output == (3, 7, 6)
    # and the built modules (parity-tested against torch) give exactly the traced shapes
    for tables, shape in ((strided, (1, 11, 12)), (same, (1, 7, 6)), (CNN, (1, 8, 8))):
        model, _ = build_stack(tables, shape, np.random.default_rng(0), np.random.default_rng(1))
        value = Tensor(np.zeros((2, *shape), dtype=np.float32))
        for step, module in zip(layer_stack.trace(tables, shape), model, strict=True):
            value = module(value)
            assert value.shape[1:] == step.output, step


@pytest.mark.parametrize(("layers", "message"), [
    ([*CNN[:6], {"type": "linear", "out": 10, "in": 128}],
     "model.layers[6]: Linear expects 128 inputs, the flattened 16×2×2 gives 64"),
    ([*CNN[:5], {"type": "linear", "out": 10}],
     'model.layers[5]: Linear needs a vector input, but the input is the image 16×2×2; put {type = "flatten"} '
     "before it"),
    ([{"type": "conv2d", "out": 4, "kernel": 3, "in": 3}, *CNN[5:]],
     "model.layers[0]: Conv2d expects 3 input channels, the task's input 1×8×8 has 1"),
    ([*CNN[:3], {"type": "conv2d", "out": 4, "kernel": 5}, *CNN[5:]],
     "model.layers[3]: Conv2d's 5×5 window does not fit its 8×4×4 input (padded by 0×0)"),
    ([*CNN[:6], {"type": "conv2d", "out": 4, "kernel": 1}],
     "model.layers[6]: Conv2d needs an image (channels×height×width) input, but the output of "
     "model.layers[5] (Flatten) is the vector of 64"),
    (CNN[:5], 'model.layers: the network ends with the image 16×2×2, but loss \'cross_entropy\' needs a vector of '
              'scores; end with {type = "flatten"} and a linear layer'),
    ([*CNN[:6], {"type": "linear", "out": 7}],
     "the output of model.layers[6] is 7 but task 'digits' with loss 'cross_entropy' needs 10 outputs"),
    ([*CNN, {"type": "softmax"}], "the final layer 'softmax' makes no sense with loss 'cross_entropy': that loss "
                                  "applies its own sigmoid/softmax to raw scores (logits), so leave that output "
                                  "activation out"),
    ([{"type": "conv2d", "out": 8}], "model.layers[0]: a conv2d layer needs 'kernel'"),
    ([{"type": "conv2d", "out": 8, "kernel": 3, "size": 2}],
     "model.layers[0]: unknown key 'size' for a conv2d layer; allowed: type, bias, dilation, in, kernel, out, "
     "padding, stride"),
    ([{"type": "conv2d", "out": 0, "kernel": 3}], "model.layers[0].out: expected an integer of at least 1, got 0"),
    ([{"type": "conv2d", "out": 2, "kernel": [3, 3, 3]}],
     "model.layers[0].kernel: expected an integer ≥ 1 or [height, width], got [3, 3, 3]"),
    ([{"type": "conv2d", "out": 2, "kernel": 3, "padding": "full"}],
     "model.layers[0].padding: expected an integer ≥ 0 or [height, width] or 'same' or 'valid', got 'full'"),
    ([{"type": "conv2d", "out": 2, "kernel": 3, "stride": 2, "padding": "same"}, *CNN[5:]],
     "model.layers[0].padding: 'same' works only with stride 1 (as in torch), stride is 2"),
    ([*CNN[:2], {"type": "maxpool2d", "kernel": 2, "padding": 2}, *CNN[3:]],
     "model.layers[2].padding: at most half the kernel 2, got 2"),
    ([*CNN[:6], {"type": "dropout", "p": 1.0}, CNN[6]], "model.layers[6].p must be a number in [0, 1), got 1.0"),
    ([{"type": "conv"}], "model.layers[0].type: 'conv' is not a layer type; allowed: " + ", ".join(layer_stack.TYPES)),
    ([{"type": "flatten"}, {"type": "relu"}],
     "model.layers: needs at least one conv2d, linear, embedding or transformer layer (something with weights "
     "to learn)"),
    ([64, {"type": "relu"}], "model.layers[0]: expected a table like {type = \"linear\", out = 10} (every entry a "
                             "table, or every entry a size), got 64"),
])
def test_bad_stacks_are_refused_naming_the_layer_and_both_shapes(layers, message):
    refused(digits(layers), message)


def test_the_sizes_form_keys_are_refused_beside_layer_tables():
    refused(digits(CNN, activation="relu"), "model.activation applies only to layers given as sizes; with layer "
            'tables, write it as a layer, e.g. {type = "relu"} or {type = "dropout", p = 0.2}')


def test_a_vector_task_takes_layer_tables_too():
    data = {"name": "xor", "model": {"layers": [{"type": "linear", "out": 4}, {"type": "tanh"},
                                                {"type": "linear", "out": 1}, {"type": "sigmoid"}]},
            "data": {"task": "xor"}, "train": {"loss": "bce", "optimizer": "sgd", "lr": 0.5, "steps": 2}}
    run = TrainingRun(preset_from_dict(data))
    assert [(s.kind, s.in_features, s.out_features, s.activation) for s in run.structure] == [
        ("Linear", 2, 4, "tanh"), ("Linear", 4, 1, "sigmoid")]
    data["model"]["layers"][-1] = {"type": "relu"}
    refused_message = "loss 'bce' needs outputs in (0, 1): end the layer tables with {type = \"sigmoid\"}"
    with pytest.raises(PresetError, match=refused_message.replace("(", r"\(").replace(")", r"\)")):
        preset_from_dict(data)


def test_training_builds_the_stack_its_layer_specs_and_image_samples():
    layers = [{"type": "conv2d", "out": 4, "kernel": 3, "padding": 1, "bias": False}, {"type": "batchnorm"},
              {"type": "relu"}, {"type": "avgpool2d", "kernel": 2}, {"type": "flatten"}, {"type": "dropout", "p": 0.1},
              {"type": "linear", "out": 10}]
    run = TrainingRun(preset_from_dict(digits(layers)))
    assert run.dataset.x.shape == (300, 1, 8, 8) and run.dataset.in_features == 64
    assert [type(m).__name__ for m in run.model] == ["Conv2d", "BatchNorm2d", "ReLU", "AvgPool2d", "Flatten",
                                                      "Dropout", "Linear"]
    assert [s.to_dict() for s in run.structure] == [
        {"name": "0", "kind": "Conv2d", "in_features": 1, "out_features": 4, "weight": "0.weight", "bias": None,
         "activation": None},
        {"name": "1", "kind": "BatchNorm2d", "in_features": 4, "out_features": 4, "weight": "1.weight",
         "bias": "1.bias", "activation": "relu"},
        {"name": "6", "kind": "Linear", "in_features": 64, "out_features": 10, "weight": "6.weight",
         "bias": "6.bias", "activation": None}]
    history = run.run()
    assert history.params["0.weight"].shape == (3, 4, 1, 3, 3)
    # same seed, same weights: the init generator is the preset's, as for the sizes form
    again = TrainingRun(preset_from_dict(digits(layers)))
    np.testing.assert_array_equal(again.model[0].weight.data, history.params["0.weight"][0])


def test_probes_record_feature_maps_of_every_image_layer():
    run = TrainingRun(preset_from_dict(digits(CNN)))
    history = run.run()
    image = history.static["probe/image"]
    assert image.shape == (1, 8, 8) and "probe/input" not in history.static
    assert history.static["digits/image"].shape == (8, 8)
    shapes = {key: value.shape for key, value in history.series.items()}
    assert shapes == {"feature/0": (3, 8, 8, 8), "feature/2": (3, 8, 4, 4), "feature/3": (3, 16, 2, 2),
                      "activation/6": (3, 10), "digits/probabilities": (3, 10)}
    # the maps are what the recorded weights make of the probe image: conv 0 after its ReLU
    model = run.model
    model.load_state_dict({key: values[-1] for key, values in history.params.items()} |
                          {k: v for k, v in model.state_dict().items() if k not in history.params})
    model.eval()
    after_relu = model[1](model[0](Tensor(image[None]))).data[0]
    np.testing.assert_allclose(history.series["feature/0"][-1], after_relu, rtol=1e-6)
    assert (history.series["feature/0"] >= 0).all()


def test_digits_cnn_is_shipped_and_learns_to_95_percent():
    preset = load_preset(find_presets()["digits_cnn"])
    assert preset.model.layers == tuple(CNN)
    run = TrainingRun(preset.replace(train={"record_every": preset.train.steps}))  # records cost: not timed here
    history = run.run()
    assert not run.diverged and history.metrics["accuracy"][-1] >= 0.95, run.message
