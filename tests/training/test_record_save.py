"""Nothing recorded is lost: missing folders are made, and a run that diverged keeps its finite records."""

import numpy as np
import pytest

from nnviz_addon.history import History
from nnviz_addon.training.record import Recorder

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def test_a_run_that_met_nan_saves_every_finite_record_and_names_the_step(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    rec = Recorder(model, capacity=2)
    for step in range(1, 7):
        if step == 5:
            with torch.no_grad():
                model[2].weight[0, 1] = float("nan")
        rec.snapshot(step, loss=1.0 / step)
    with pytest.warns(UserWarning, match=r"'2\.weight' stopped being finite \(inf or nan\) at step 5; "
                                         r"kept the 4 records before it \(steps 1 to 4\)"):
        path = rec.save(tmp_path / "new" / "folder" / "run.npz")
    history = History.load(path)
    assert history.steps.tolist() == [1, 2, 3, 4]
    assert np.isfinite(history.params["2.weight"]).all()


def test_a_run_not_finite_from_its_first_record_is_refused_by_name(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(2, 1))
    with torch.no_grad():
        model[0].bias.fill_(float("inf"))
    rec = Recorder(model)
    rec.snapshot(3)
    with pytest.warns(UserWarning, match="no record before it is finite"), \
            pytest.raises(ValueError, match=r"nothing to save to .*run\.npz: the first record \(step 3\)"):
        rec.save(tmp_path / "run.npz")
    assert not (tmp_path / "run.npz").exists()


def test_save_before_any_record_says_how_to_record(tmp_path):
    with pytest.raises(ValueError, match=r"nothing recorded yet; call watch\(optimizer\)"):
        Recorder(torch.nn.Linear(2, 1)).save(tmp_path / "run.npz")
