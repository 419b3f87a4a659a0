"""The History's key names have one home: what the engine's runs record is named there, and its
table lists every name it defines."""

from __future__ import annotations

import pytest

from nnviz_addon.history import keys
from tests.support.histories import short_run

NAMES = {value for name, value in vars(keys).items() if name.isupper() and isinstance(value, str)}
PREFIXES = (keys.ACTIVATION_PREFIX, keys.FEATURE_PREFIX, keys.ATTENTION_PREFIX)


def named_by_keys(key: str) -> bool:
    return key in NAMES or key.startswith(PREFIXES)


@pytest.mark.parametrize("preset", ["xor", "rgb_mlp", "digits_cnn", "iris", "reverse"])
def test_every_recorded_key_is_one_keys_names(preset):
    history = short_run(preset, steps=2, record_every=1)
    recorded = [*history.series, *history.static, *history.metrics]
    assert recorded, preset
    assert [key for key in recorded if not named_by_keys(key)] == []


def test_the_key_functions_put_names_under_their_prefix():
    assert keys.activation("fc1") == "activation/fc1"
    assert keys.feature("0") == "feature/0"
    assert keys.attention("2.self_attn") == "attention/2.self_attn"
    assert keys.stored(keys.PARAM, "0.weight") == "param/0.weight"


def test_the_table_lists_every_series_and_static_name():
    table = keys.__doc__
    listed = [name for name in NAMES - set(keys.GROUPS) - {keys.ACCURACY, keys.TEST_LOSS, keys.TEST_ACCURACY}
              if f"``{name.removesuffix('/')}" not in table]
    assert listed == []
