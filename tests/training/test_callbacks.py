"""The Lightning and Hugging Face callbacks, against the real libraries: a few steps of a real fit.

Run in the .venv-callbacks environment (requirements/callbacks.txt) by tools/run_tests.sh's callbacks leg.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnviz_addon.history import History

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.callbacks, pytest.mark.torch]


def _data(samples: int = 24):
    torch.manual_seed(0)
    x = torch.randn(samples, 4)
    return x, (x[:, 0] > 0).long()


def test_the_callbacks_module_imports_without_either_library():
    import subprocess
    import sys

    code = ("import sys, nnviz_addon.training.callbacks as c; "
            "assert 'lightning' not in sys.modules and 'transformers' not in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr


def test_lightning_fit_is_recorded_every_n_steps_with_its_loss(tmp_path):
    lightning = pytest.importorskip("lightning")
    from nnviz_addon.training.callbacks import NnvizCallback

    class Tiny(lightning.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))

        def forward(self, x):
            return self.model(x)

        def training_step(self, batch, _index):
            x, y = batch
            return torch.nn.functional.cross_entropy(self(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)

    x, y = _data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    module = Tiny()
    callback = NnvizCallback(tmp_path / "runs" / "lightning.npz", every=2, probe=x[0], name="tiny")
    trainer = lightning.Trainer(max_steps=6, callbacks=[callback], accelerator="cpu", devices=1, logger=False,
                                enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, loader)
    history = History.load(tmp_path / "runs" / "lightning.npz")
    assert history.steps.tolist() == [0, 2, 4, 6]
    assert [layer.name for layer in history.structure] == ["model.0", "model.2"]
    assert np.isfinite(history.loss[1:]).all()  # from Lightning's optimizer closure
    np.testing.assert_array_equal(history.params["model.2.weight"][-1], module.model[2].weight.detach().numpy())
    assert history.grads["model.0.weight"][-1].any()
    assert history.series["activation/model.2"].shape == (4, 2)


def test_hugging_face_trainer_is_recorded_with_the_loss_it_logs(tmp_path):
    transformers = pytest.importorskip("transformers")
    from nnviz_addon.training.callbacks import NnvizTrainerCallback

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2))

        def forward(self, x, labels=None):
            logits = self.net(x)
            loss = None if labels is None else torch.nn.functional.cross_entropy(logits, labels)
            return {"loss": loss, "logits": logits}

    x, y = _data()
    rows = [{"x": x[i], "labels": y[i]} for i in range(len(x))]
    model = Tiny()
    args = transformers.TrainingArguments(output_dir=str(tmp_path / "hf"), max_steps=6, per_device_train_batch_size=4,
                                          logging_steps=2, learning_rate=0.05, report_to=[], save_strategy="no",
                                          use_cpu=True, disable_tqdm=True)
    callback = NnvizTrainerCallback(tmp_path / "hf.npz", every=2)
    transformers.Trainer(model=model, args=args, train_dataset=rows, callbacks=[callback]).train()
    history = History.load(tmp_path / "hf.npz")
    assert history.steps.tolist() == [0, 2, 4, 6]
    assert np.isfinite(history.loss[1:]).all()  # the Trainer's logged loss, on the records at its logging steps
    np.testing.assert_array_equal(history.params["net.0.weight"][-1], model.net[0].weight.detach().numpy())
    assert history.grads["net.0.weight"][-1].any()


def test_a_bad_every_is_refused_when_the_callback_is_made(tmp_path):
    pytest.importorskip("lightning")
    from nnviz_addon.training.callbacks import NnvizCallback

    with pytest.raises(ValueError, match="nnviz NnvizCallback: every must be a whole number"):
        NnvizCallback(tmp_path / "x.npz", every=0)


# Run as a file: Lightning's "ddp" strategy starts rank 1 by running this script again. Each rank
# says whether it recorded; rank 0 also saves its model's last weights to compare with the History.
LIGHTNING_DDP = """
import json, sys
from pathlib import Path
import torch
import lightning
from nnviz_addon.training.callbacks import NnvizCallback

out = Path(sys.argv[1])

class Tiny(lightning.LightningModule):
    def __init__(self):
        super().__init__()
        self.model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))

    def training_step(self, batch, _index):
        x, y = batch
        return torch.nn.functional.cross_entropy(self.model(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

torch.manual_seed(0)
x = torch.randn(32, 4)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long()), batch_size=4)
module = Tiny()
callback = NnvizCallback(out / "ddp.npz", every=1)
trainer = lightning.Trainer(max_steps=3, strategy="ddp", accelerator="cpu", devices=2, callbacks=[callback],
                            logger=False, enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False)
trainer.fit(module, loader)
rank = trainer.global_rank
(out / f"rank{rank}.json").write_text(json.dumps({"recorded": callback.recorder is not None}))
if rank == 0:
    torch.save({k: v.detach() for k, v in module.state_dict().items()}, out / "last.pt")
"""


@pytest.mark.slow  # two processes, each importing Lightning and joining a gloo group
def test_under_lightnings_ddp_strategy_only_rank_0_records_under_the_models_own_names(tmp_path):
    pytest.importorskip("lightning")
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "fit.py"
    script.write_text(LIGHTNING_DDP)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((tmp_path / "rank0.json").read_text()) == {"recorded": True}
    assert json.loads((tmp_path / "rank1.json").read_text()) == {"recorded": False}
    history = History.load(tmp_path / "ddp.npz")
    assert history.steps.tolist() == [0, 1, 2, 3]
    assert sorted(history.params) == ["model.0.bias", "model.0.weight", "model.2.bias", "model.2.weight"]
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    for key, value in last.items():
        np.testing.assert_array_equal(history.params[key][-1], value.numpy())
