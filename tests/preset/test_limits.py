"""Everything checked before training starts: Blender's ranges, memory, cubes, output paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnviz_addon.preset.config import (
    PresetError,
    check_scene_size,
    load_preset,
    preset_from_dict,
    preset_warnings,
    recorded_bytes,
)
from nnviz_addon.preset.limits import CUBE_LIMITS, MAX_FRAME

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "train.py"


def xor(**sections: dict) -> dict:
    data = load_preset(ROOT / "presets" / "xor.toml").to_dict()
    for section, values in sections.items():
        data[section].update(values)
    return data


@pytest.mark.parametrize(("sections", "message"), [
    ({"render": {"resolution": [161, 90]}}, "render.resolution 161x90: H.264 video needs an even width and height"),
    ({"render": {"resolution": [2, 2]}}, "render.resolution 2x2: width and height must each be in 4..65536"),
    ({"render": {"resolution": [1280, 70_000]}}, "must each be in 4..65536"),
    ({"render": {"fps": 40_000}}, "render.fps 40000: frames per second must be in 1..32767"),
    ({"model": {"layers": [2, 100_000_000, 1]}}, "model.layers[1] is 100,000,000 units; allowed at most 100,000"),
    ({"model": {"layers": [2, 20_000, 1]}, "train": {"steps": 100_000, "record_every": 1}},
     "train.record_every: 59.6 GiB would be recorded (100,001 records × 2 arrays × 80,001 parameters × 4 bytes); "
     "allowed at most 4 GiB — raise train.record_every or lower train.steps"),
])
def test_limits_are_refused_naming_the_setting(sections, message):
    with pytest.raises(PresetError) as error:
        preset_from_dict(xor(**sections), source="big.toml")
    assert str(error.value).startswith("big.toml: ")
    assert message in str(error.value)


@pytest.mark.parametrize(("sections", "message"), [
    ({"train": {"steps": 2_000_000, "record_every": 1}}, f"past Blender's last frame {MAX_FRAME:,}; lower"),
    ({"render": {"frames_per_record": 20_000}}, "render.frames_per_record: 101 records × 20000 frames"),
    # 1,048,001 frames of records fit; a pass every record (4 stages × 12 frames each) does not, nor
    # a quarter of the film in passes (the default share)
    ({"train": {"steps": 1_047_999, "record_every": 1}, "render": {"frames_per_record": 1, "style": "film",
                                                                   "forward_pass": "every", "forward_pass_every": 1,
                                                                   "forward_pass_share": 1.0}},
     "1,048,000 records × 1 frames and 1,048,000 forward passes"),
    ({"train": {"steps": 1_047_999, "record_every": 1}, "render": {"frames_per_record": 1, "style": "film",
                                                                   "forward_pass": "every", "forward_pass_every": 1}},
     "1,048,000 records × 1 frames and 5,822 forward passes (349,320 frames)"),
])
def test_frames_past_blenders_are_refused_for_a_scene_only(sections, message):
    preset = preset_from_dict(xor(**sections), source="long.toml")  # trains, with --no-render
    with pytest.raises(PresetError) as error:
        check_scene_size(preset)
    assert str(error.value).startswith("long.toml: render.frames_per_record: ")
    assert message in str(error.value)


def test_a_heavy_but_legitimate_run_is_a_warning():
    preset = preset_from_dict(xor(model={"layers": [2, 5_000, 1]}, train={"steps": 20_000, "record_every": 1}))
    assert 2**30 < recorded_bytes(preset) <= 4 * 2**30
    [warning] = preset_warnings(preset)
    assert "GiB will be recorded" in warning and "train.record_every" in warning
    assert preset_warnings(preset_from_dict(xor())) == []


def test_the_cube_budget_is_per_way_of_holding_cubes():
    objects = {"cubes": "objects"}
    big = preset_from_dict(xor(model={"layers": [2, 512, 512, 1]}, train={"steps": 4}, render=objects))
    with pytest.raises(PresetError, match=r"264,705 parameters, 1,027 neurons, 400 data-point objects: 266,132 "
                                          "cubes and objects; a scene of objects holds at most "
                                          f"{CUBE_LIMITS['objects']:,}" r" — use smaller layers or render\.cubes"):
        check_scene_size(big)
    medium = preset_from_dict(xor(model={"layers": [2, 150, 150, 1]}, train={"steps": 4}, render=objects))
    assert "cubes drawn as objects" in check_scene_size(medium)[0]
    # neurons and data points count too: 99,535 parameters alone would fit
    crowded = preset_from_dict(xor(model={"layers": [2, 313, 313, 1]}, train={"steps": 4}, render=objects))
    with pytest.raises(PresetError, match=r"99,535 parameters, 629 neurons, 400 data-point objects: 100,564"):
        check_scene_size(crowded)
    assert check_scene_size(preset_from_dict(xor())) == []
    # auto draws the big one instanced, which holds it; past the instanced budget it is refused too
    assert check_scene_size(preset_from_dict(xor(model={"layers": [2, 512, 512, 1]}, train={"steps": 4}))) == []
    huge = preset_from_dict(xor(model={"layers": [2, 2500, 2000, 1]}, train={"steps": 1}))
    with pytest.raises(PresetError, match=f"a scene of instanced holds at most {CUBE_LIMITS['instanced']:,}"):
        check_scene_size(huge)


# -- train.py, before any training ----------------------------------------------------------------

def train(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TRAIN), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def refused_before_training(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "training" not in result.stdout and "Traceback" not in result.stderr, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("nnviz")]
    return line


def test_an_odd_preset_resolution_names_the_key_and_the_file(tmp_path):
    preset = tmp_path / "odd.toml"
    preset.write_text((ROOT / "presets" / "xor.toml").read_text().replace("[1280, 720]", "[1281, 720]"))
    line = refused_before_training(train("--preset", preset, "--no-render"))
    assert "odd.toml: render.resolution 1281x720: H.264 video needs an even" in line


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody may write to: a read-only tmpfs when we are root (root ignores a folder's
    mode), else a folder without write permission."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            pytest.skip(f"root, but mounting a read-only tmpfs is not permitted here: {mounted.stderr.strip()}")
        try:
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


@pytest.mark.parametrize("option", ["--save-history", "--metrics", "--save-blend"])
def test_an_output_in_a_read_only_folder_is_refused_up_front(read_only_folder, option):
    suffix = {"--save-history": ".npz", "--metrics": ".json", "--save-blend": ".blend"}[option]
    target = read_only_folder / f"run{suffix}"
    line = refused_before_training(train("--preset", "xor", "--no-render", option, target))
    assert f"{option} {target}: the folder {read_only_folder} is not writable" in line


@pytest.mark.parametrize("option", ["--save-history", "--metrics", "--save-blend"])
def test_an_output_naming_a_directory_is_refused_up_front(tmp_path, option):
    line = refused_before_training(train("--preset", "xor", "--no-render", option, tmp_path))
    assert f"{option} {tmp_path}: is a directory; give a file name" in line


def test_a_scene_too_big_to_build_is_refused_before_training(tmp_path):
    preset = tmp_path / "big.toml"  # the issue's [64, 512, 512, 10]: 8 minutes of building, in 16 GB
    preset.write_text((ROOT / "presets" / "digits.toml").read_text().replace("[64, 32, 10]", "[64, 512, 512, 10]"))
    line = refused_before_training(train("--preset", preset, "--no-render", "--save-blend", tmp_path / "x.blend",
                                   "--cubes", "objects"))
    assert "a scene of objects holds at most" in line and "--no-render" in line


def test_the_docs_list_the_limits_the_code_checks():
    from nnviz_addon.history.checks import MAX_LOADED_BYTES
    from nnviz_addon.picture.shapes import MAX_LABEL_CHARS
    from nnviz_addon.preset import limits

    cli_doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    documented = cli_doc[cli_doc.index("## Limits"):]
    low, high = limits.RESOLUTION_RANGE
    for text in (f"{low}–{high:,}", f"1–{limits.MAX_FPS:,}", f"≤ {limits.MAX_FRAME:,}",
                 f"≤ {limits.MAX_LAYER_UNITS:,} units", f"≤ {limits.MAX_RECORDED_BYTES // 2**30} GiB",
                 f"over {limits.WARN_RECORDED_BYTES // 2**30} GiB", f"≤ {limits.CUBE_LIMITS['objects']:,}",
                 f"over {limits.CUBE_WARNINGS['objects']:,}", f"≤ {limits.CUBE_LIMITS['instanced']:,}",
                 f"over {limits.CUBE_WARNINGS['instanced']:,}", f"≤ {MAX_LOADED_BYTES // 2**30} GiB",
                 f"1–{limits.MAX_STEPS:,}", f"2–{limits.MAX_SAMPLES:,}", f"1–{limits.MAX_RENDER_SAMPLES:,}",
                 f"≤ {limits.MAX_DRAWN_POINTS:,}", f"≤ {MAX_LABEL_CHARS:,} characters",
                 "feature-map cell and neuron", "strictly increasing", "gradient is finite"):
        assert text in documented, text
