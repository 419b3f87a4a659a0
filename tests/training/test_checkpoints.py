"""A folder of checkpoints written by a plain torch loop, read as a History and animated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon.training.checkpoints import CheckpointError, read_checkpoints

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
ROOT = Path(__file__).resolve().parents[2]


def _train_and_save(folder: Path, steps: int = 12, every: int = 4, save=None) -> dict[int, dict[str, np.ndarray]]:
    """The user's loop: torch.save(model.state_dict(), f"ckpt_{step}.pt") every few steps."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.rand(32, 3), torch.rand(32, 2)
    folder.mkdir(parents=True, exist_ok=True)
    saved = {}
    for step in range(1, steps + 1):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        if step % every == 0:
            (save or (lambda m, s: torch.save(m.state_dict(), folder / f"ckpt_{s}.pt")))(model, step)
            saved[step] = {k: v.clone().numpy() for k, v in model.state_dict().items()}
    return saved


def test_a_plain_torch_folder_reads_in_step_order_with_every_value(tmp_path):
    saved = _train_and_save(tmp_path / "ckpts", steps=40, every=4)  # ckpt_8 sorts after ckpt_36 by name
    history = read_checkpoints(tmp_path / "ckpts")
    assert history.steps.tolist() == sorted(saved)
    assert [(layer.name, layer.kind, layer.in_features, layer.out_features) for layer in history.structure] == [
        ("0", "Linear", 3, 5), ("2", "Linear", 5, 2)]
    assert history.grads == {}
    for record, step in enumerate(history.steps):
        for key, value in saved[int(step)].items():
            np.testing.assert_array_equal(history.params[key][record], value)


def test_lightning_checkpoints_use_global_step_and_lose_the_model_prefix(tmp_path):
    def lightning(model, step):  # the layout Lightning's ModelCheckpoint writes
        state = {f"model.{k}": v for k, v in model.state_dict().items()}
        torch.save({"epoch": 0, "global_step": step, "state_dict": state, "loops": {}},
                   tmp_path / "ckpts" / f"epoch=0-v{100 - step}.ckpt")  # the name's number is not the step

    saved = _train_and_save(tmp_path / "ckpts", save=lightning)
    history = read_checkpoints(tmp_path / "ckpts", model=torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)))
    assert history.steps.tolist() == [4, 8, 12]
    assert [layer.activation for layer in history.structure] == ["relu", None]  # from the model given
    np.testing.assert_array_equal(history.params["2.bias"][-1], saved[12]["2.bias"])


def test_a_file_of_another_shape_is_refused_naming_file_and_parameter(tmp_path):
    _train_and_save(tmp_path / "ckpts")
    torch.save(torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2)).state_dict(),
               tmp_path / "ckpts" / "ckpt_20.pt")
    with pytest.raises(CheckpointError, match=r"ckpt_20\.pt: parameter '0\.weight' has shape \(6, 3\), the first "
                                              r"checkpoint \(ckpt_4\.pt\) has \(5, 3\)"):
        read_checkpoints(tmp_path / "ckpts")


def test_files_without_a_step_or_with_pickled_code_are_refused_by_name(tmp_path):
    folder = tmp_path / "ckpts"
    _train_and_save(folder)
    torch.save(torch.nn.Linear(3, 5).state_dict(), folder / "latest.pt")
    with pytest.raises(CheckpointError, match=r"latest\.pt: no step in it"):
        read_checkpoints(folder)
    (folder / "latest.pt").unlink()
    torch.save(torch.nn.Linear(3, 5), folder / "whole_model_99.pt")  # a pickled module, not a state_dict
    with pytest.raises(CheckpointError, match=r"whole_model_99\.pt: torch.load\(weights_only=True\) can't read it"):
        read_checkpoints(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="empty: no checkpoint files in it"):
        read_checkpoints(tmp_path / "empty")


@pytest.mark.callbacks  # safetensors is installed in the callbacks leg's environment
def test_safetensors_files_read_like_torch_ones(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    saved = _train_and_save(tmp_path / "st", save=lambda m, s: safetensors_torch.save_file(
        m.state_dict(), str(tmp_path / "st" / f"step-{s}.safetensors")))
    history = read_checkpoints(tmp_path / "st")
    assert history.steps.tolist() == [4, 8, 12]
    np.testing.assert_array_equal(history.params["0.weight"][1], saved[8]["0.weight"])


def _train_py(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *map(str, args)], capture_output=True,
                          text=True, timeout=900)


def test_train_py_reads_a_folder_and_refuses_a_bad_one_in_one_line(tmp_path):
    _train_and_save(tmp_path / "ckpts")
    result = _train_py("--checkpoints", tmp_path / "ckpts", "--no-render", "--metrics", tmp_path / "m.json")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "m.json").read_text())["records"] == 3
    (tmp_path / "ckpts" / "ckpt_99.pt").write_bytes(b"not a checkpoint")
    result = _train_py("--checkpoints", tmp_path / "ckpts", "--no-render")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"nnviz: error: {tmp_path / 'ckpts' / 'ckpt_99.pt'}: torch.load")


@pytest.mark.slow
@pytest.mark.bpy
def test_a_checkpoint_folder_becomes_an_mp4_with_one_command(tmp_path):
    pytest.importorskip("bpy")
    _train_and_save(tmp_path / "ckpts", steps=12, every=2)
    video = tmp_path / "out" / "ckpts.mp4"
    still = tmp_path / "last.png"
    result = _train_py("--checkpoints", tmp_path / "ckpts", "--out", video, "--still", still,
                       "--resolution", "160x90", "--fps", "12", "--draft")
    assert result.returncode == 0, result.stderr
    import bpy

    assert bpy.data.movieclips.load(str(video)).frame_duration == 6  # six records, a frame each
    sys.path.insert(0, str(ROOT / "tests"))
    from tests.support.pixels import png_pixels  # the last frame shows coloured cubes, not an empty stage

    pixels = png_pixels(still)
    assert pixels.shape[:2] == (90, 160)
    assert len(np.unique(pixels[..., :3].reshape(-1, 3), axis=0)) > 20
