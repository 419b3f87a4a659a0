"""The command line's arguments: what reaches the render settings, what is refused, and which
arguments are the script's inside Blender."""

from __future__ import annotations

import pytest

from nnviz_addon.cli.arguments import UsageError, parse_arguments, render_overrides, script_arguments


def test_color_scale_and_magnitude_override_a_saved_runs_render_settings(tmp_path):
    saved = tmp_path / "run.npz"
    saved.write_bytes(b"")  # parse_arguments only checks that it exists
    options = parse_arguments(["--history", str(saved), "--no-render", "--color-scale", "layer",
                               "--magnitude", "update"])
    assert render_overrides(options) == {"color_scale": "layer", "magnitude": "update"}


@pytest.mark.parametrize(("option", "value"), [("--color-scale", "rainbow"), ("--magnitude", "loud")])
def test_a_bad_display_choice_is_refused_naming_the_choices(option, value):
    with pytest.raises(UsageError, match=f"argument {option}: invalid choice: '{value}'"):
        parse_arguments(["--preset", "xor", "--no-render", option, value])


@pytest.mark.parametrize(("args", "message"), [
    (["--preset", "xor"], "give --out VIDEO.mp4, or --no-render"),
    (["--preset", "xor", "--no-render", "--resolution", "161x90"], "H.264 video needs an even width and height"),
    (["--preset", "xor", "--no-render", "--fps", "x"], "'x' is not a whole number"),
    (["--preset", "xor", "--no-render", "--still-frame", "3"], "--still-frame needs --still PATH.png"),
])
def test_arguments_that_dont_fit_are_one_usage_error(args, message):
    with pytest.raises(UsageError, match=message):
        parse_arguments(args)


def test_arguments_after_the_double_dash():
    blender_argv = ["blender", "-b", "-P", "train.py", "--", "--preset", "xor", "--no-render"]
    assert script_arguments(blender_argv) == ["--preset", "xor", "--no-render"]
    assert script_arguments(["train.py", "--preset", "xor"]) == ["--preset", "xor"]


def test_the_forward_passes_share_reaches_the_render_settings_and_a_bad_one_is_refused():
    options = parse_arguments(["--preset", "xor", "--no-render", "--forward-pass-share", "0.5"])
    assert render_overrides(options) == {"forward_pass_share": 0.5}
    for bad in ("0", "1.5", "nan", "a"):
        with pytest.raises(UsageError, match=f"--forward-pass-share: '{bad}' is not a share of the film"):
            parse_arguments(["--preset", "xor", "--no-render", "--forward-pass-share", bad])
