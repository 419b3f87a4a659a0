"""The README's preset example is a valid preset, and its two commands are what CI runs."""

import re
import tomllib
from pathlib import Path

from nnviz_addon.preset.config import preset_from_dict

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_documented_preset_format_is_valid():
    [example] = [block for block in re.findall(r"```toml\n(.*?)```", README, re.S) if "[render]" in block]
    preset = preset_from_dict(tomllib.loads(example), source="README.md")
    assert preset.name == "XOR" and preset.render.magnitude == "none"


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
