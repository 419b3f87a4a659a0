"""Zero-edit recording: the optimizer's step hooks take the snapshots; the loop is plain PyTorch."""

import numpy as np
import pytest

from nnviz_addon.history import History
from nnviz_addon.training.record import Recorder

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _model_and_data(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    return model, torch.rand(16, 3), torch.rand(16, 1)


def _loss(model, x, y):
    return torch.nn.functional.mse_loss(model(x), y)


def test_watch_records_every_nth_optimizer_step_with_the_weights_torch_has_then(tmp_path):
    model, x, y = _model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    expected = {0: {k: v.clone().numpy() for k, v in model.state_dict().items()}}
    losses = {}
    with Recorder(model).watch(opt, every=3) as rec:
        for step in range(1, 11):
            opt.zero_grad()
            loss = _loss(model, x, y)
            loss.backward()
            opt.step()
            rec.log(loss=loss)  # after step(): the step just taken
            losses[step] = loss.item()
            expected[step] = ({k: v.clone().numpy() for k, v in model.state_dict().items()},
                              {k: p.grad.clone().numpy() for k, p in model.named_parameters()})
    history = History.load(rec.save(tmp_path / "deep" / "er" / "run.npz"))  # the folders are made
    assert history.steps.tolist() == [0, 3, 6, 9]
    assert np.isnan(history.loss[0])
    assert history.loss[1:].tolist() == pytest.approx([losses[3], losses[6], losses[9]])
    np.testing.assert_array_equal(history.params["0.weight"][0], expected[0]["0.weight"])
    np.testing.assert_array_equal(history.grads["0.weight"][0], np.zeros((4, 3)))
    for record, step in enumerate([3, 6, 9], start=1):
        weights, grads = expected[step]
        for key in weights:
            np.testing.assert_array_equal(history.params[key][record], weights[key])
            np.testing.assert_array_equal(history.grads[key][record], grads[key])


def test_leaving_the_block_removes_the_hooks():
    model, x, y = _model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Recorder(model).watch(opt, every=1) as rec:
        _loss(model, x, y).backward()
        opt.step()
    assert rec.records == 2
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
    opt.step()
    assert rec.records == 2


def test_a_loss_logged_before_step_belongs_to_that_step_and_metrics_come_along():
    model, x, y = _model_and_data()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    rec = Recorder(model).watch(opt, every=2)
    logged = {}
    for step in range(1, 7):
        opt.zero_grad()
        loss = _loss(model, x, y)
        loss.backward()
        rec.log(loss=loss.item(), lr=0.01 * step)  # before step(): the step about to be taken
        logged[step] = loss.item()
        opt.step()
    rec.unwatch()
    history = rec.history()
    assert history.steps.tolist() == [0, 2, 4, 6]
    assert history.loss[1:].tolist() == pytest.approx([logged[2], logged[4], logged[6]])
    assert history.metrics["lr"][1:].tolist() == pytest.approx([0.02, 0.04, 0.06])
    assert np.isnan(history.metrics["lr"][0])


def test_the_loss_of_a_closure_is_recorded():
    model, x, y = _model_and_data()
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=3)
    first_losses = []

    def closure():
        opt.zero_grad()
        loss = _loss(model, x, y)
        loss.backward()
        return loss

    with Recorder(model).watch(opt, every=1) as rec:
        for _ in range(3):
            first_losses.append(_loss(model, x, y).item())  # the loss at the weights the step starts from
            opt.step(closure)
    history = rec.history()
    assert history.steps.tolist() == [0, 1, 2, 3]
    assert history.loss[1:].tolist() == pytest.approx(first_losses)


def test_a_probe_is_recorded_at_each_watched_step_and_snapshot_still_works_after():
    model, x, y = _model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = Recorder(model, probe=x[0]).watch(opt, every=2)
    for _ in range(4):
        opt.zero_grad()
        _loss(model, x, y).backward()
        opt.step()
    rec.unwatch()
    rec.snapshot(10, loss=0.5)
    history = rec.history()
    assert history.steps.tolist() == [0, 2, 4, 10]
    with torch.no_grad():
        np.testing.assert_allclose(history.series["activation/2"][-1], model(x[:1])[0].numpy(), rtol=1e-6)


@pytest.mark.parametrize("set_to_none", [True, False])
@pytest.mark.parametrize("probed", [False, True])
def test_every_step_records_exactly_what_torch_holds_then(set_to_none, probed):
    """Every value, gradient and probe output equals torch's own at that step, bit for bit, across
    several chunks; also when zero_grad clears the gradients in place rather than dropping them."""
    model, x, y = _model_and_data()
    model.append(torch.nn.Dropout(0.5))  # the probe must run in eval mode and leave training mode on
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    expected = []
    with Recorder(model, probe=x[0] if probed else None, capacity=3).watch(opt, every=1) as rec:
        for _ in range(10):
            opt.zero_grad(set_to_none=set_to_none)
            _loss(model, x, y).backward()
            opt.step()
            assert model.training
            with torch.no_grad():
                model.eval()
                hidden = model[1](model[0](x[:1]))[0]
                output = model[2](hidden[None])[0]
                model.train()
            expected.append(({k: p.detach().clone() for k, p in model.named_parameters()},
                             {k: p.grad.clone() for k, p in model.named_parameters()}, hidden, output))
    history = rec.history()
    assert history.steps.tolist() == list(range(11))
    for record, (values, grads, hidden, output) in enumerate(expected, start=1):
        for key in values:
            np.testing.assert_array_equal(history.params[key][record], values[key].numpy())
            np.testing.assert_array_equal(history.grads[key][record], grads[key].numpy())
        if probed:
            np.testing.assert_array_equal(history.series["activation/0"][record], hidden.numpy())
            np.testing.assert_array_equal(history.series["activation/2"][record], output.numpy())
    assert probed == ("activation/0" in history.series)


@pytest.mark.parametrize(("every", "named"), [(0, "every must be a whole number"), (2.5, "every must be"),
                                              (True, "every must be")])
def test_a_bad_every_is_refused(every, named):
    model, _, _ = _model_and_data()
    with pytest.raises(ValueError, match=named):
        Recorder(model).watch(torch.optim.SGD(model.parameters(), lr=0.1), every=every)


def test_log_without_watch_says_what_to_do():
    model, _, _ = _model_and_data()
    with pytest.raises(ValueError, match="log\\(\\) goes with watch"):
        Recorder(model).log(loss=1.0)


def test_float16_storage_halves_the_bytes_and_loads(tmp_path):
    model, _, _ = _model_and_data()
    rec = Recorder(model, dtype="float16")
    rec.snapshot(1)
    history = History.load(rec.save(tmp_path / "half.npz"))
    assert history.params["0.weight"].dtype == np.float16
    np.testing.assert_allclose(history.params["0.weight"][0], model[0].weight.detach().numpy(), rtol=1e-3)
    with pytest.raises(ValueError, match="dtype must be one of float16, float32, float64"):
        Recorder(model, dtype="int8")


def test_records_past_a_chunk_keep_every_value_in_order():
    model, _, _ = _model_and_data()
    rec = Recorder(model, capacity=2)
    for step in range(1, 12):
        with torch.no_grad():
            model[0].weight.fill_(step)
        rec.snapshot(step, loss=step, metrics={"m": step} if step % 2 else None)
    history = rec.history()
    assert history.steps.tolist() == list(range(1, 12))
    assert history.params["0.weight"][:, 0, 0].tolist() == list(range(1, 12))
    assert np.isnan(history.metrics["m"][1]) and history.metrics["m"][2] == 3


def test_a_layer_replaced_after_watch_began_is_the_one_recorded():
    model, _, _ = _model_and_data()
    rec = Recorder(model)
    model[2] = torch.nn.Linear(4, 1)
    with torch.no_grad():
        model[2].weight.fill_(3.0)
    rec.snapshot(1)
    np.testing.assert_array_equal(rec.history().params["2.weight"][-1], np.full((1, 4), 3.0))
