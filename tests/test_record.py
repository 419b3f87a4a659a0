"""Recording a real PyTorch run: the History holds torch's own weights at every recorded step."""

import numpy as np
import pytest

from nnviz_addon.history import History
from nnviz_addon.record import Recorder

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _train_recorded(steps: int, every: int):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2), torch.nn.Sigmoid())
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x, y = torch.rand(32, 3), torch.rand(32, 2)
    rec = Recorder(model, name="torch MLP")
    expected = {}
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
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


def test_unknown_modules_are_listed_and_skipped():
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(4, 1))
    with pytest.warns(UserWarning, match=r"0 \(Conv1d\)"):
        rec = Recorder(model)
    assert [layer.weight for layer in rec.history().structure] == ["2.weight"]


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


def test_a_norm_over_more_than_one_dimension_is_skipped_by_name_and_the_rest_animates():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm((2, 2)), torch.nn.Flatten(0),
                                torch.nn.Linear(4, 1))
    with pytest.warns(UserWarning, match=r"1 \(LayerNorm over shape \(2, 2\), only 1-D is drawn\)"):
        rec = Recorder(model)
    assert [layer.name for layer in rec.history().structure] == ["0", "3"]
    rec.snapshot(1)
    from nnviz_addon.layout import layout_network  # what the scene lays out before it builds
    history = rec.history()
    layout_network(history.structure, {key: values.shape[1:] for key, values in history.params.items()})


def test_activation_names_come_from_the_catalog():
    from nnviz_addon import catalog
    for name, module_class in catalog.RECORDED_ACTIVATIONS.items():
        model = torch.nn.Sequential(torch.nn.Linear(2, 2), getattr(torch.nn, module_class)())
        assert Recorder(model).history().structure[0].activation == name
