"""train.py never overwrites a saved run the user didn't name as output: --history is read, --save-history written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def train(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_preset_with_history_is_refused_naming_both_and_the_saved_run_is_kept(tmp_path):
    saved = tmp_path / "myrun.npz"
    saved.write_bytes(b"the user's recording")
    result = train("--preset", "spiral", "--no-render", "--history", saved, cwd=tmp_path)
    assert result.returncode == 2
    [line] = [line for line in result.stderr.splitlines() if line.startswith("nnviz")]
    assert "--preset trains a new run and --history" in line and str(saved) in line and "--save-history" in line
    assert saved.read_bytes() == b"the user's recording"


def test_save_history_writes_the_trained_run_and_needs_a_preset(tmp_path):
    result = train("--preset", "xor", "--steps", "4", "--no-render", "--save-history", tmp_path / "new.npz",
                   cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new.npz").is_file()
    result = train("--history", tmp_path / "new.npz", "--no-render", "--save-history", tmp_path / "b.npz",
                   cwd=tmp_path)
    assert result.returncode == 2 and "--save-history needs --preset" in result.stderr
