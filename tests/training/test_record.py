"""Recording a real PyTorch run: the History holds torch's own weights at every recorded step."""

import numpy as np
import pytest

from nnviz_addon.history import History
from nnviz_addon.training.record import Recorder
from tests.support.recorded import torch_steps, train_recorded_cnn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _train_recorded(steps: int, every: int):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2), torch.nn.Sigmoid())
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x, y = torch.rand(32, 3), torch.rand(32, 2)
    rec = Recorder(model, name="torch MLP")
    expected = {}
    for step, loss in torch_steps(model, opt, lambda m: torch.nn.functional.mse_loss(m(x), y), steps):
        if step % every == 0:
            rec.snapshot(step, loss=loss.item())
            expected[step] = ({k: v.detach().clone().numpy() for k, v in model.state_dict().items()},
                              {k: p.grad.clone().numpy() for k, p in model.named_parameters()}, loss.item())
    return rec, expected


def test_snapshots_equal_torch_weights_and_grads_at_each_recorded_step(tmp_path):
    rec, expected = _train_recorded(steps=40, every=5)
    history = History.load(rec.save(tmp_path / "run.npz"))
    assert list(history.steps) == sorted(expected)
    assert [layer.name for layer in history.structure] == ["0", "2"]
    assert [layer.activation for layer in history.structure] == ["tanh", "sigmoid"]
    assert (history.structure[0].in_features, history.structure[0].out_features) == (3, 5)
    for r, step in enumerate(history.steps):
        weights, grads, loss = expected[int(step)]
        assert history.loss[r] == pytest.approx(loss)
        for key, value in weights.items():
            np.testing.assert_array_equal(history.params[key][r], value)
            np.testing.assert_array_equal(history.grads[key][r], grads[key])


def test_layers_the_classic_views_do_not_know_are_recorded_too():
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(4, 1))
    rec = Recorder(model)
    assert [layer.weight for layer in rec.history().structure] == ["2.weight"]
    assert sorted(rec.history().params) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert rec.skipped == []


def test_layer_norm_is_drawn_and_steps_must_increase():
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.LayerNorm(4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    rec = Recorder(model)
    kinds = [(layer.name, layer.kind, layer.activation) for layer in rec.history().structure]
    assert kinds == [("0", "Linear", None), ("1", "LayerNorm", "relu"), ("3", "Linear", None)]
    rec.snapshot(3)
    with pytest.raises(ValueError, match="step 3 is not after the last recorded step 3"):
        rec.snapshot(3)


def test_tied_weights_float64_and_a_snapshot_before_any_backward(tmp_path):
    first, second = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    second.weight = first.weight  # tied: torch lists it once, as '0.weight'
    model = torch.nn.Sequential(first, torch.nn.Tanh(), second).double()
    rec = Recorder(model, name="tied")
    rec.snapshot(0, loss=1.0)  # no backward yet: every grad is None
    model(torch.ones(1, 2, dtype=torch.float64)).sum().backward()
    rec.snapshot(1, loss=0.5)
    history = History.load(rec.save(tmp_path / "tied.npz"))
    assert sorted(history.params) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert all(values.dtype == np.float64 for values in history.params.values())
    np.testing.assert_array_equal(history.params["2.weight"], history.params["0.weight"])
    np.testing.assert_array_equal(history.grads["0.weight"][0], np.zeros((2, 2)))
    np.testing.assert_array_equal(history.grads["2.weight"][1], first.weight.grad.numpy())


def _mnist_shaped(hidden: int = 6):
    return torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))


@pytest.mark.parametrize("shape", [(28, 28), (1, 28, 28)])
def test_input_shape_is_kept_in_the_saved_history(tmp_path, shape):
    rec = Recorder(_mnist_shaped(), input_shape=shape)
    rec.snapshot(1)
    assert History.load(rec.save(tmp_path / "run.npz")).input_shape == shape


def test_a_history_without_input_shape_has_none():
    rec = Recorder(_mnist_shaped())
    rec.snapshot(1)
    assert rec.history().input_shape is None


@pytest.mark.parametrize(("shape", "named"), [
    ((28, 27), r"input_shape \(28, 27\) has 756 values but the first layer '0' \(Linear\) takes 784 inputs"),
    ((28, 0), r"1 to 3 positive integers"),
    ((1, 1, 28, 28), r"1 to 3 positive integers"),
    ((28.5, 28), r"1 to 3 positive integers"),
    (784, r"a tuple of sizes"),
])
def test_an_input_shape_that_does_not_fit_the_first_layer_is_refused(shape, named):
    with pytest.raises(ValueError, match=named):
        Recorder(_mnist_shaped(), input_shape=shape)


def test_a_parameter_replaced_after_the_recorder_was_made_is_the_one_recorded():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3))
    rec = Recorder(model)
    model[0].weight = torch.nn.Parameter(torch.full((3, 2), 7.0))
    model(torch.ones(1, 2)).sum().backward()
    rec.snapshot(1)
    history = rec.history()
    np.testing.assert_array_equal(history.params["0.weight"][0], np.full((3, 2), 7.0))
    np.testing.assert_array_equal(history.grads["0.weight"][0], model[0].weight.grad.numpy())


def test_a_parameter_deleted_after_the_recorder_was_made_is_named():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3))
    rec = Recorder(model)
    model[0].bias = None
    with pytest.raises(ValueError, match=r"parameter '0\.bias' is no longer in the model"):
        rec.snapshot(1)


def test_a_norm_over_more_than_one_dimension_is_recorded_and_the_rest_animates():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm((2, 2)), torch.nn.Flatten(0),
                                torch.nn.Linear(4, 1))
    rec = Recorder(model)
    assert [layer.name for layer in rec.history().structure] == ["0", "3"]
    assert "1.weight" in rec.history().params
    rec.snapshot(1)
    from nnviz_addon.picture.layout import layout_network  # what the scene lays out before it builds
    history = rec.history()
    layout_network(history.structure, {key: values.shape[1:] for key, values in history.params.items()})


def test_activation_names_come_from_the_catalog():
    from nnviz_addon import catalog
    for name, module_class in catalog.RECORDED_ACTIVATIONS.items():
        model = torch.nn.Sequential(torch.nn.Linear(2, 2), getattr(torch.nn, module_class)())
        assert Recorder(model).history().structure[0].activation == name


def test_conv_and_batchnorm2d_layers_are_drawn_and_the_pools_record_feature_maps():
    model, probe, rec, _ = train_recorded_cnn(steps=4, every=2)
    history = rec.history()
    assert [(s.name, s.kind, s.in_features, s.out_features, s.bias, s.activation) for s in history.structure] == [
        ("0", "Conv2d", 1, 4, "0.bias", "relu"), ("3", "Conv2d", 4, 6, None, None),
        ("4", "BatchNorm2d", 6, 6, "4.bias", "tanh"), ("8", "Linear", 6, 3, "8.bias", None)]
    assert rec.skipped == []
    shapes = {key: value.shape for key, value in history.series.items()}
    assert shapes == {"feature/0": (2, 4, 8, 8), "feature/2": (2, 4, 4, 4), "feature/3": (2, 6, 2, 2),
                      "feature/4": (2, 6, 2, 2), "feature/6": (2, 6, 1, 1), "activation/8": (2, 3),
                      "table/probabilities": (2, 1, 3)}  # the output's classes, as a preset table run draws them
    np.testing.assert_array_equal(history.static["probe/image"], probe.numpy())
    # The layers without parameters are named by their class, so the scene labels their maps.
    assert history.static["feature_kinds"].tolist() == [["0", "Conv2d"], ["2", "MaxPool2d"], ["3", "Conv2d"],
                                                        ["4", "BatchNorm2d"], ["6", "AdaptiveAvgPool2d"]]
    from nnviz_addon.picture.features import feature_maps
    assert [m.title.split("\n")[0] for m in feature_maps(history)] == [
        "probe image", "after Conv2d 0", "after MaxPool2d 2", "after Conv2d 3", "after BatchNorm2d 4",
        "after AdaptiveAvgPool2d 6"]
    model.eval()
    with torch.no_grad():  # the last snapshot: conv 0 after its ReLU, BatchNorm2d after its Tanh, the logits
        first = torch.relu(model[0](probe[None]))
        np.testing.assert_allclose(history.series["feature/0"][-1], first[0].numpy(), rtol=1e-6)
        np.testing.assert_allclose(history.series["feature/4"][-1], model[:6](probe[None])[0].numpy(), rtol=1e-5)
        np.testing.assert_allclose(history.series["activation/8"][-1], model(probe[None])[0].numpy(), rtol=1e-5)
    model.train()
    rec.snapshot(5)
    assert model.training  # a snapshot measures in eval mode, then puts the model back into its own mode


def test_a_probe_gives_a_recorded_mlp_its_neurons():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Dropout(0.5), torch.nn.Linear(5, 2))
    probe = torch.tensor([0.2, -0.4, 0.9])
    rec = Recorder(model, probe=probe)
    rec.snapshot(0)
    history = rec.history()
    assert sorted(history.series) == ["activation/0", "activation/3", "table/probabilities"]
    np.testing.assert_allclose(history.series["activation/0"][0], torch.tanh(model[0](probe)).detach().numpy(),
                               rtol=1e-6)  # after the Tanh, and through the Dropout (eval: identity)
    np.testing.assert_array_equal(history.static["probe/input"], probe.numpy())


class Squares(torch.nn.Module):
    """Features and their squares into a Linear: its first layer takes more values than the probe has."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(6, 2)

    def forward(self, x):
        return self.fc(torch.cat([x, x * x], dim=-1))


def test_a_probe_the_first_layer_does_not_take_is_kept_as_values_and_drawn():
    from nnviz_addon.picture import task_views
    from nnviz_addon.picture.view_layout import Rect

    probe = torch.tensor([0.5, -1.5, 0.25])
    rec = Recorder(Squares(), probe=probe)
    rec.snapshot(0)
    history = rec.history()
    np.testing.assert_array_equal(history.static["probe/values"], probe.numpy())
    assert "probe/input" not in history.static  # no neuron column: the Linear's 6 inputs are not the probe
    view = task_views.plan(history, np.array([1.0]), Rect(0.0, 0.0, 20.0, 12.0, 0.6))
    cells = [item for item in view.items if isinstance(item, task_views.Patches) and item.names[0].startswith("probe")]
    assert [len(item.names) for item in cells] == [3]
    assert any(isinstance(item, task_views.Bars) for item in view.items)  # the P(class) bars, under the values


def test_a_recorded_cnn_imports_through_train_py_with_torchs_kernels_at_every_step(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    _, _, rec, expected = train_recorded_cnn(steps=30, every=5)
    path = rec.save(tmp_path / "cnn.npz")
    train_py = Path(__file__).resolve().parents[2] / "train.py"
    result = subprocess.run([sys.executable, str(train_py), "--history", str(path), "--no-render",
                             "--metrics", str(tmp_path / "m.json")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "m.json").read_text())["records"] == 6
    history = History.load(path)
    assert list(history.steps) == sorted(expected)
    for r, step in enumerate(history.steps):
        for key in ("0.weight", "0.bias", "3.weight", "4.weight", "8.weight"):
            np.testing.assert_array_equal(history.params[key][r], expected[int(step)][key], err_msg=f"{key} @ {step}")
    assert history.params["3.weight"].shape == (6, 6, 4, 3, 3)


def test_every_snapshot_records_the_feature_maps_torch_computes_for_the_probe():
    torch.manual_seed(2)
    tnn = torch.nn
    model = tnn.Sequential(tnn.Conv2d(1, 3, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Conv2d(3, 4, 3), tnn.BatchNorm2d(4), tnn.ReLU(), tnn.Flatten(), tnn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 2, (8,))
    rec = Recorder(model, probe=x[0])
    # What torch itself gives for the probe, read by forward hooks: each image layer's value after
    # the activation that follows it (ReLU 1 for conv 0, ReLU 5 for the BatchNorm2d).
    shown_by = {"0": "1", "2": "2", "3": "3", "4": "5"}
    caught: dict[str, np.ndarray] = {}
    for name, module in model.named_children():
        module.register_forward_hook(lambda _m, _i, out, name=name: caught.__setitem__(name, out[0].detach().numpy()))
    expected = []
    for step in range(1, 4):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        rec.snapshot(step)
        model.eval()
        with torch.no_grad():
            model(x[:1])
        model.train()
        expected.append({layer: caught[module].copy() for layer, module in shown_by.items()})
    history = rec.history()
    assert sorted(k for k in history.series if k.startswith("feature/")) == [f"feature/{n}" for n in sorted(shown_by)]
    for record, maps in enumerate(expected):
        for layer, value in maps.items():
            np.testing.assert_allclose(history.series[f"feature/{layer}"][record], value, rtol=1e-6, atol=1e-7)
