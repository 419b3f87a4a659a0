"""train.py's display options reach the render settings of a recorded run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import train  # noqa: E402


def test_color_scale_and_magnitude_override_a_saved_runs_render_settings(tmp_path):
    saved = tmp_path / "run.npz"
    saved.write_bytes(b"")  # parse_arguments only checks that it exists
    options = train.parse_arguments(["--history", str(saved), "--no-render", "--color-scale", "layer",
                                     "--magnitude", "update"])
    assert train.render_overrides(options) == {"color_scale": "layer", "magnitude": "update"}


@pytest.mark.parametrize(("option", "value"), [("--color-scale", "rainbow"), ("--magnitude", "loud")])
def test_a_bad_display_choice_is_refused_naming_the_choices(tmp_path, option, value):
    with pytest.raises(train.UsageError, match=f"argument {option}: invalid choice: '{value}'"):
        train.parse_arguments(["--preset", "xor", "--no-render", option, value])


def test_the_forward_passes_share_reaches_the_render_settings_and_a_bad_one_is_refused(tmp_path):
    options = train.parse_arguments(["--preset", "xor", "--no-render", "--forward-pass-share", "0.5"])
    assert train.render_overrides(options) == {"forward_pass_share": 0.5}
    for bad in ("0", "1.5", "nan", "a"):
        with pytest.raises(train.UsageError, match=f"--forward-pass-share: '{bad}' is not a share of the film"):
            train.parse_arguments(["--preset", "xor", "--no-render", "--forward-pass-share", bad])
