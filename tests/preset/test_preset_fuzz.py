"""Generated presets keep the one promise: a preset loads and trains, or it is refused with one line
(a ``PresetError`` from the API, one ``nnviz: error:`` line from train.py); never a traceback, never a
hang. Seeded and bounded (``derandomize``, few examples, small sizes, a hang guard), so CI runs the same cases in
seconds."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nnviz_addon import api, catalog  # noqa: E402
from nnviz_addon.preset.config import (  # noqa: E402
    SECTIONS,
    PresetError,
    check_scene_size,
    find_presets,
    load_preset,
    parameter_count,
    preset_from_dict,
    preset_warnings,
    scene_size,
)

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=60,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
BASES = {name: load_preset(path).to_dict() for name, path in find_presets().items()}
KEYS = {section: [field for field in config.__dataclass_fields__] for section, config in SECTIONS.items()}
NAMES = sorted({*catalog.ACTIVATIONS, *catalog.LOSSES, *catalog.OPTIMIZERS, *catalog.RENDER_ENGINES, "none",
                *catalog.STYLES, *catalog.FORWARD_PASSES, "auto", "objects", "instanced", "xor", "digits", "layer"})
EDGES = [0, 1, 2, -1, 3, 64, 100_000, 100_001, 1_048_574, 2**31, 2**61, 2**70]

scalars = st.one_of(st.booleans(), st.integers(-2**70, 2**70), st.sampled_from(EDGES),
                    st.floats(allow_nan=True, allow_infinity=True), st.floats(0.0, 2.0),
                    st.sampled_from(NAMES), st.text(max_size=6))
values = st.one_of(scalars, st.none(), st.lists(st.one_of(st.integers(-3, 300), st.sampled_from(EDGES)), max_size=5),
                   st.lists(st.fixed_dictionaries({"type": st.sampled_from(["linear", "conv2d", "relu", "flatten",
                                                                             "maxpool2d", "batchnorm", "bogus"])},
                                                  optional={"out": st.integers(-1, 40), "kernel": st.integers(-1, 5),
                                                            "in": st.integers(0, 70), "p": st.floats(-1, 2)}),
                            max_size=4),
                   st.dictionaries(st.text(max_size=3), scalars, max_size=2))
sections = st.sampled_from([*KEYS, "bogus"])


@st.composite
def presets(draw: Any) -> Any:
    """A shipped preset with a few keys changed, removed or added, or something that is no table at all."""
    if draw(st.integers(0, 30)) == 0:
        return draw(values)
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in BASES[draw(st.sampled_from(sorted(BASES)))].items()}
    for _ in range(draw(st.integers(0, 4))):
        section = draw(sections)
        if section not in data:
            data[section] = draw(values) if draw(st.booleans()) else {}
            continue
        table = data[section] if isinstance(data[section], dict) else {}
        key = draw(st.sampled_from([*KEYS.get(section, []), "bogus"]))
        if draw(st.integers(0, 5)) == 0:
            table.pop(key, None)
        else:
            table[key] = draw(values)
        data[section] = table
    if draw(st.integers(0, 15)) == 0:
        data.pop(draw(st.sampled_from(["name", *KEYS])), None)
    return data


def one_line(error: BaseException) -> str:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


def small_enough_to_train(preset: Any) -> bool:
    """What this test trains for a few steps (the product trains any size; the test keeps to seconds)."""
    return parameter_count(preset) <= 20_000 and preset.data.samples <= 5_000 and preset.train.batch_size <= 10**6


@FUZZ
@given(presets())
def test_a_generated_preset_loads_and_trains_or_is_one_clear_line(hang_guard, data):
    hang_guard(300)
    try:
        preset = preset_from_dict(data, source="fuzz.toml")
    except PresetError as error:
        assert one_line(error).startswith("fuzz.toml: ")
        return
    preset_warnings(preset)
    assert scene_size(preset).cubes >= parameter_count(preset)
    try:
        check_scene_size(preset)
    except PresetError as error:
        one_line(error)
    if small_enough_to_train(preset):
        try:
            history = api.train(preset, steps=2)
        except api.TrainingDiverged as stop:
            history = stop.history
        assert history.validate().records >= 1


def toml_value(value: Any) -> str | None:
    """``value`` in TOML, or None for what TOML can't say (None, NaN is fine: ``nan``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    if isinstance(value, list):
        items = [toml_value(item) for item in value]
        return None if None in items else "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        items = {key: toml_value(item) for key, item in value.items()}
        return "{" + ", ".join(f"{toml_value(str(k))} = {v}" for k, v in items.items() if v is not None) + "}"
    raise TypeError(type(value))


def toml_text(data: Any) -> str:
    if not isinstance(data, dict):
        return f"value = {toml_value(data) or 1}\n"
    lines = [f"{toml_value(str(k))} = {toml_value(v)}" for k, v in data.items()
             if not isinstance(v, dict) and toml_value(v) is not None]
    for section, table in data.items():
        if isinstance(table, dict):
            lines.append(f"[{toml_value(str(section))}]")
            lines += [f"{toml_value(str(k))} = {toml_value(v)}" for k, v in table.items() if toml_value(v) is not None]
    return "\n".join(lines) + "\n"


def train_script() -> Any:
    spec = importlib.util.spec_from_file_location("train_script_fuzz", ROOT / "train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


SCRIPT = train_script()
arguments = st.lists(st.sampled_from([
    ("--fps",), ("--resolution",), ("--steps",), ("--seed",), ("--engine",), ("--style",), ("--forward-pass-every",),
    ("--motion",), ("--cubes",), ("--camera-path",), ("--forward-pass",), ("--forward-pass-share",), ("--draft",),
    ("--still-frame",)]),
    max_size=3, unique=True)
argument_values = st.one_of(st.sampled_from(["0", "1", "2", "-1", "24", "1x1", "160x90", "161x90", "9999999999",
                                             "film", "every", "objects", "eevee", "nan", "", "x"]),
                            st.text(max_size=4))


@settings(FUZZ, max_examples=25)
@given(presets(), arguments, st.data())
def test_train_py_runs_a_generated_preset_or_says_one_error_line(tmp_path_factory, capsys, hang_guard, data, options,
                                                                  draw):
    hang_guard(300)
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "fuzz.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    argv = ["train.py", "--preset", str(path), "--no-render", "--metrics", str(folder / "m.json")]
    for (option,) in options:
        argv += [option] if option == "--draft" else [option, draw.draw(argument_values)]
    try:  # the test keeps to seconds: a long valid run is trained for 3 steps
        if load_preset(path).train.steps > 50 and "--steps" not in argv:
            argv += ["--steps", "3"]
    except PresetError:
        pass
    if "--steps" in argv and argv[argv.index("--steps") + 1].lstrip("-").isdigit():
        argv[argv.index("--steps") + 1] = str(min(int(argv[argv.index("--steps") + 1]), 50))
    try:
        preset = load_preset(path)
        if not small_enough_to_train(preset):
            return
    except PresetError:
        pass
    code = SCRIPT.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("nnviz: error:")]
    if code == 0:
        assert errors == [], err
    else:
        assert len(errors) == 1 and code in (1, 2), err
