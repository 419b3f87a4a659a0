"""Outputs that never destroy what they replace: atomic writes, a full disk, Ctrl-C and SIGTERM.

A full disk is a real failed write: train.py runs in a subprocess whose file-size limit
(RLIMIT_FSIZE, with SIGXFSZ ignored) makes every write past it fail with EFBIG, as a full disk
fails one with ENOSPC. Signals are real signals sent to a real ``python train.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnviz_addon.history import History, atomic

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "train.py"
HAS_BPY = importlib.util.find_spec("bpy") is not None
needs_bpy = pytest.mark.skipif(not HAS_BPY, reason="needs the bpy module")


def limited_to(size: int):
    """A preexec_fn: no file this process writes may grow past ``size`` bytes."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def train(*args: object, file_size_limit: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TRAIN), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600,
                          preexec_fn=None if file_size_limit is None else limited_to(file_size_limit))


def error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("nnviz: error: ")]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# -- history/atomic.py, in plain Python --------------------------------------------------------------------

def test_a_write_replaces_the_target_only_once_checked(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    atomic.write_atomically(target, lambda partial: partial.write_text("[1]"),
                            check=lambda partial: json.loads(partial.read_text()))
    assert target.read_text() == "[1]" and names(tmp_path) == ["a.json"]


@pytest.mark.parametrize("failure", ["write", "check"])
def test_a_failed_write_keeps_the_old_file_and_names_the_path(tmp_path, failure):
    target = tmp_path / "a.json"
    target.write_text("old")

    def write(partial: Path) -> None:
        partial.write_text("{half")
        if failure == "write":
            raise OSError(28, "No space left on device")

    with pytest.raises(atomic.OutputError, match=r"a\.json: not written \(.*\); the earlier file is kept"):
        atomic.write_atomically(target, write, check=lambda partial: json.loads(partial.read_text()))
    assert target.read_text() == "old" and names(tmp_path) == ["a.json"]


def test_an_interrupted_write_leaves_no_temporary(tmp_path):
    def write(partial: Path) -> None:
        partial.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic.write_atomically(tmp_path / "a.json", write)
    assert names(tmp_path) == []


def test_sweep_removes_only_temporaries_of_dead_processes(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(dead.stdout)
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for name in (f".run.partial-{dead_pid}.npz", f".run.partial-{living.pid}.npz",
                     f".run.partial-{os.getpid()}.mp4", f"run.partial-{dead_pid}.npz", "run.npz"):
            (tmp_path / name).write_bytes(b"x")
        assert atomic.sweep(tmp_path) == [tmp_path / f".run.partial-{dead_pid}.npz"]
    finally:
        living.kill()
        living.wait()
    assert f".run.partial-{dead_pid}.npz" not in names(tmp_path) and "run.npz" in names(tmp_path)


def test_png_size_refuses_a_cut_png(tmp_path):
    png = tmp_path / "a.png"
    png.write_bytes(atomic.PNG_SIGNATURE + b"\x00\x00\x00\rIHDR" + (64).to_bytes(4, "big") + (36).to_bytes(4, "big")
                    + b"\x08\x02\x00\x00\x00" + b"\x00" * 4 + b"\x00\x00\x00\x00" + atomic.PNG_END)
    assert atomic.png_size(png) == (64, 36)
    png.write_bytes(png.read_bytes()[:-4])
    with pytest.raises(ValueError, match="not a complete PNG"):
        atomic.png_size(png)


# -- a full disk ------------------------------------------------------------------------------------

def test_a_full_disk_keeps_the_old_history(tmp_path):
    saved = train("--preset", "xor", "--steps", "8", "--no-render", "--save-history", tmp_path / "run.npz")
    assert saved.returncode == 0
    before = (tmp_path / "run.npz").read_bytes()
    result = train("--preset", "xor", "--no-render", "--save-history", tmp_path / "run.npz", file_size_limit=64_000)
    line = error_line(result)
    assert f"{tmp_path / 'run.npz'}: not written" in line and "earlier file is kept" in line, line
    assert result.returncode == 1
    assert (tmp_path / "run.npz").read_bytes() == before and History.load(tmp_path / "run.npz").records == 3
    assert names(tmp_path) == ["run.npz"]


@needs_bpy
@pytest.mark.bpy
@pytest.mark.slow
@pytest.mark.parametrize(("option", "name"), [("--out", "run.mp4"), ("--still", "run.png")])
def test_a_full_disk_keeps_the_old_video_and_picture(tmp_path, option, name):
    target = tmp_path / name
    target.write_bytes(b"an earlier good file")
    mode = [] if option == "--out" else ["--no-render"]
    result = train("--preset", "xor", "--steps", "16", "--resolution", "64x36", option, target, *mode,
                   file_size_limit=1024)
    line = error_line(result)
    assert f"{target}: not written" in line and "earlier file is kept" in line, line
    assert result.returncode == 1
    assert target.read_bytes() == b"an earlier good file"
    assert names(tmp_path) == [name]


# -- interrupts -------------------------------------------------------------------------------------

def long_preset(folder: Path) -> Path:
    """xor for ten million steps, recorded every 20,000: minutes of training, 500 records."""
    text = (ROOT / "presets" / "xor.toml").read_text()
    path = folder.parent / f"{folder.name}-long.toml"
    path.write_text(text.replace("steps = 400", "steps = 10_000_000")
                    .replace("record_every = 4", "record_every = 20_000"))
    return path


def start(*args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-u", str(TRAIN), *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def signal_after(process: subprocess.Popen, line_start: str, number: int) -> tuple[str, str, float]:
    """Send ``number`` once stdout shows a line starting with ``line_start``; (stdout, stderr, the
    seconds from the signal to the exit)."""
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith(line_start):
            break
    else:
        process.wait()
        pytest.fail(f"no {line_start!r} line: {''.join(seen)} {process.stderr.read()[-3000:]}")
    sent = time.monotonic()
    process.send_signal(number)
    stdout, stderr = process.communicate(timeout=120)
    return "".join(seen) + stdout, stderr, time.monotonic() - sent


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_training_and_saves_the_records(tmp_path, number):
    history_path, metrics_path = tmp_path / "run.npz", tmp_path / "m.json"
    process = start("--preset", long_preset(tmp_path), "--no-render", "--save-history", history_path,
                    "--metrics", metrics_path)
    _, stderr, seconds = signal_after(process, "nnviz: step", number)
    assert process.returncode == 128 + number, stderr
    assert seconds < 10
    assert "Traceback" not in stderr
    [line] = [line for line in stderr.splitlines() if line.startswith("nnviz")]
    assert "stopped at step" in line and signal.Signals(number).name in line, line
    history = History.load(history_path)
    assert history.records >= 2
    assert f"stopped at step {history.steps[-1]} " in line  # the step it stopped at is recorded
    assert json.loads(metrics_path.read_text())["interrupted"] is True
    assert names(tmp_path) == ["m.json", "run.npz"]


@needs_bpy
@pytest.mark.bpy
@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_render_and_removes_its_temporary(tmp_path, number):
    out = tmp_path / "run.mp4"
    out.write_bytes(b"an earlier good video")
    process = start("--preset", "xor", "--resolution", "64x36", "--out", out)  # 101 frames
    _, stderr, seconds = signal_after(process, "nnviz: frame", number)
    assert process.returncode == 128 + number, stderr[-3000:]
    assert seconds < 30  # one frame takes about a second here; the whole render two minutes
    [line] = [line for line in stderr.splitlines() if line.startswith("nnviz")]
    assert f"stopped by {signal.Signals(number).name}" in line and ".run.partial-" in line, line
    assert out.read_bytes() == b"an earlier good video"
    assert names(tmp_path) == ["run.mp4"]


def test_a_killed_runs_temporary_is_swept_by_the_next_run(tmp_path):
    process = start("--preset", long_preset(tmp_path), "--no-render", "--save-history", tmp_path / "run.npz")
    signal_after(process, "nnviz: step", signal.SIGKILL)
    left = tmp_path / f".run.partial-{process.pid}.npz"
    left.write_bytes(b"half a file, as a SIGKILL during the save leaves it")
    result = train("--preset", "xor", "--steps", "4", "--no-render", "--save-history", tmp_path / "run.npz")
    assert result.returncode == 0, result.stderr
    assert f"removed {left}" in result.stdout
    assert names(tmp_path) == ["run.npz"]


# -- a run that stopped early ---------------------------------------------------------------------

def test_divergence_keeps_the_steps_trained_since_the_last_record():
    import numpy as np

    from nnviz_addon.preset.config import load_preset
    from nnviz_addon.training.run import TrainingRun

    preset = load_preset(ROOT / "presets" / "rgb_perceptron.toml").replace(
        model={"output_activation": None}, train={"lr": 1e3, "steps": 200, "record_every": 50})
    run = TrainingRun(preset)
    history = run.run()
    assert run.diverged and run.message.startswith("diverged at step 7: loss is inf")
    assert history.steps.tolist() == [0, 6]  # step 6 was trained, finite, and not due for a record
    assert np.abs(history.grads["0.weight"][-1]).max() > 0  # with the gradients step 6 used



@needs_bpy
@pytest.mark.bpy
@pytest.mark.slow
def test_a_diverged_runs_blend_does_not_render_over_the_video(tmp_path):
    preset = tmp_path / "wild.toml"
    text = (ROOT / "presets" / "rgb_perceptron.toml").read_text()
    preset.write_text(text.replace('output_activation = "sigmoid"', "").replace("lr = 4.0", "lr = 1e6"))
    out, blend = tmp_path / "run.mp4", tmp_path / "run.blend"
    result = train("--preset", preset, "--out", out, "--save-blend", blend)
    assert "diverged" in error_line(result)
    script = (f"import bpy; bpy.ops.wm.open_mainfile(filepath={str(blend)!r}); "
              "print('OUTPUT', bpy.path.abspath(bpy.context.scene.render.filepath))")
    opened = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    [output] = [line for line in opened.stdout.splitlines() if line.startswith("OUTPUT")]
    assert Path(output.split(" ", 1)[1]).resolve() != out.resolve()
    assert not out.exists()


@needs_bpy
@pytest.mark.bpy
@pytest.mark.slow
def test_an_upper_case_mp4_extension_renders(tmp_path):
    out = tmp_path / "RUN.MP4"
    result = train("--preset", "xor", "--steps", "8", "--resolution", "64x36", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert names(tmp_path) == ["RUN.MP4"]
    from nnviz_addon.scene.render import check_video

    check_video(out, 3, (64, 36))
