"""DistributedDataParallel (2 CPU processes on gloo) and torch.compile: one recording, plain names."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon.history import History
from nnviz_addon.training.record import Recorder

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
ROOT = Path(__file__).resolve().parents[2]

TWO_RANKS = textwrap.dedent("""
    import sys
    from pathlib import Path
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    from torch.nn.parallel import DistributedDataParallel
    sys.path.insert(0, sys.argv[2])
    from nnviz_addon.training.record import Recorder

    def rank_main(rank, folder):
        dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=2)
        torch.manual_seed(0)  # the same initial weights on both ranks, as DDP expects
        model = DistributedDataParallel(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                                            torch.nn.Linear(4, 1)))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        torch.manual_seed(rank)  # each rank its own batches
        with Recorder(model).watch(opt, every=2) as rec:
            for _ in range(4):
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(model(torch.rand(8, 3)), torch.rand(8, 1))
                loss.backward()
                opt.step()
                rec.log(loss=loss)
        saved = rec.save(Path(folder) / f"rank{rank}.npz")
        print(f"rank {rank}: saved {saved}, {rec.records} records", flush=True)
        if rank == 0:
            torch.save(model.module.state_dict(), Path(folder) / "final.pt")
        dist.destroy_process_group()

    if __name__ == "__main__":
        mp.spawn(rank_main, args=(sys.argv[1],), nprocs=2)
""")


@pytest.mark.slow  # two processes each importing torch and joining a gloo group
def test_under_ddp_only_rank_0_records_under_the_models_own_names(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(TWO_RANKS)
    done = subprocess.run([sys.executable, str(script), str(tmp_path), str(ROOT)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "rank 1: saved None, 0 records" in done.stdout
    assert not (tmp_path / "rank1.npz").exists()
    history = History.load(tmp_path / "rank0.npz")
    assert history.steps.tolist() == [0, 2, 4]
    assert sorted(history.params) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    final = torch.load(tmp_path / "final.pt", weights_only=True)
    np.testing.assert_array_equal(history.params["0.weight"][-1], final["0.weight"].numpy())
    assert np.isfinite(history.loss[1:]).all()


def test_a_compiled_model_is_recorded_under_its_own_names():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    compiled = torch.compile(model)  # compiles only when called; the wrapper names are _orig_mod.*
    assert next(iter(dict(compiled.named_parameters()))).startswith("_orig_mod.")
    rec = Recorder(compiled)
    rec.snapshot(1)
    assert sorted(rec.history().params) == ["0.bias", "0.weight", "2.bias", "2.weight"]
