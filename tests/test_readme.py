"""The documented preset example (docs/presets.md) is a valid preset, and the README's two commands
are what CI runs."""

import re
import tomllib
from pathlib import Path

from nnviz_addon.preset.config import preset_from_dict

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PRESETS_DOC = (ROOT / "docs" / "presets.md").read_text(encoding="utf-8")


def test_the_documented_preset_format_is_valid():
    [example] = [block for block in re.findall(r"```toml\n(.*?)```", PRESETS_DOC, re.S) if "[render]" in block]
    preset = preset_from_dict(tomllib.loads(example), source="docs/presets.md")
    assert preset.name == "XOR" and preset.render.magnitude == "none"
    assert preset.render == type(preset.render)(), "the example writes every [render] key at its default"


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
