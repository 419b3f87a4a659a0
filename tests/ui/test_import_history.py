"""Bring your own PyTorch run: record it, import it through the panel's button, and the cubes' keyed
values are torch's weights at every recorded step."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
torch = pytest.importorskip("torch")

from nnviz_addon.training.record import Recorder  # noqa: E402
from tests.support.recorded import torch_steps  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.torch]


def train_torch_mlp(steps: int, every: int) -> tuple[Recorder, dict[int, dict[str, np.ndarray]]]:
    """A user's own loop: 2-6-6-1 ReLU, BCE-with-logits, SGD with momentum, on XOR-like data."""
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.ReLU(), torch.nn.Linear(6, 6), torch.nn.ReLU(),
                                torch.nn.Linear(6, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.rand(64, 2) * 2 - 1
    y = ((x[:, 0] * x[:, 1]) < 0).float()[:, None]
    recorder = Recorder(model, name="my torch MLP")
    recorder.snapshot(0)
    weights = {0: {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}}

    def loss_of(m: torch.nn.Module) -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy_with_logits(m(x), y)

    for step, loss in torch_steps(model, opt, loss_of, steps):
        if step % every == 0:
            recorder.snapshot(step, loss=loss.item())
            weights[step] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return recorder, weights


def test_imported_torch_run_keys_torch_weights_at_every_recorded_step(settings, tmp_path):
    recorder, weights = train_torch_mlp(steps=30, every=5)
    path = recorder.save(tmp_path / "torch_run.npz")

    assert bpy.ops.nnviz.import_history(filepath=str(path)) == {'FINISHED'}

    cubes = [obj for obj in bpy.data.objects if "nnviz_param" in obj]
    assert len(cubes) == sum(w.size for w in weights[0].values())
    scene = bpy.context.scene
    frame_per_record = settings.frames_per_record
    for record, step in enumerate(sorted(weights)):
        scene.frame_set(scene.frame_start + record * frame_per_record)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        for cube in cubes:
            key, index = cube["nnviz_param"], tuple(cube["nnviz_index"])
            keyed = cube.evaluated_get(depsgraph)["nnviz_value"]
            assert keyed == pytest.approx(float(weights[step][key][index]), rel=1e-6, abs=1e-7), (key, index, step)
