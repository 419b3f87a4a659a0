"""The probe's pass at each record: each module's own mode kept, a replaced layer probed."""

import numpy as np
import pytest

from nnviz_addon.training.record import Recorder

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _model_with_norm():
    torch.manual_seed(0)
    tnn = torch.nn
    return tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4), tnn.ReLU(), tnn.Linear(4, 2))


def test_a_layer_the_loop_keeps_in_eval_mode_stays_so_through_the_probe():
    model = _model_with_norm()
    x, y = torch.rand(16, 3), torch.rand(16, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model[1].eval()  # a frozen norm: its running statistics must not move
    frozen = model[1].running_mean.clone()
    with Recorder(model, probe=x[0]).watch(opt, every=1) as rec:
        for _ in range(3):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
            assert model.training and model[0].training and not model[1].training
    torch.testing.assert_close(model[1].running_mean, frozen, rtol=0, atol=0)
    assert rec.records == 4


def test_a_layer_replaced_after_the_first_probe_is_the_one_probed():
    model = _model_with_norm()
    x = torch.rand(16, 3)
    rec = Recorder(model, probe=x[0])
    rec.snapshot(1)
    model[3] = torch.nn.Linear(4, 2)
    rec.snapshot(2)
    model.eval()
    with torch.no_grad():
        expected = model(x[:1])[0].numpy()
    np.testing.assert_array_equal(rec.history().series["activation/3"][-1], expected)
    assert not model[3]._forward_hooks  # no hook left on the model


@pytest.mark.parametrize("ends_in_softmax", [True, False])
def test_class_probabilities_are_the_output_when_it_already_is_one_else_its_softmax(ends_in_softmax):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(3, 4)] + ([torch.nn.Softmax(dim=-1)] if ends_in_softmax else [])
    model = torch.nn.Sequential(*layers)
    probe = torch.rand(3)
    rec = Recorder(model, probe=probe)
    rec.snapshot(1)
    with torch.no_grad():
        output = model(probe[None]).double()
    expected = output if ends_in_softmax else torch.softmax(output, dim=-1)
    np.testing.assert_allclose(rec.history().series["table/probabilities"][0], expected.numpy(), rtol=1e-12)


class _RemembersItsModes(torch.nn.Linear):
    """A layer with its own train(), as some models have (to keep a part frozen, say)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.modes_asked = []

    def train(self, mode=True):
        self.modes_asked.append(mode)
        return super().train(mode)


def test_a_model_with_its_own_train_goes_into_eval_mode_through_it():
    torch.manual_seed(0)
    model = torch.nn.Sequential(_RemembersItsModes(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    rec = Recorder(model, probe=torch.rand(3))
    model[0].modes_asked.clear()
    rec.snapshot(1)
    assert model[0].modes_asked == [False]  # eval mode through its train(); its own mode put back after
    assert model.training and model[0].training
