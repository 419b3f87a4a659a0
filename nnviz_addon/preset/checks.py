"""Checking one setting of a preset: the checkers the preset's sections (:mod:`.config`) and its layer
tables (:mod:`.layer_stack`) share.

A checker takes ``(key path, value)`` and returns the value in the form the preset keeps, or raises
:class:`SettingError`, one line starting with the key path; each caller turns it into its own
error (``PresetError``, ``LayerError``) at one place. :func:`setting` declares a dataclass field
together with its checker, so a section lists each key once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection
from typing import Any

Checker = Callable[[str, Any], Any]


class SettingError(ValueError):
    """A setting that can't be used; the message starts with its key path."""


def setting(check: Checker, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field checked by ``check`` (required when it has no ``default``)."""
    return dataclasses.field(default=default, metadata={"check": check})


def checkers(config_type: type) -> dict[str, Checker]:
    """Each field of a dataclass made of :func:`setting` fields → its checker."""
    return {field.name: field.metadata["check"] for field in dataclasses.fields(config_type)}


def describe(value: Any) -> str:
    """A value as a message shows what was given: ``'4' (str)``."""
    return f"{value!r} ({type(value).__name__})"


def is_integer(value: Any) -> bool:
    """An int that is not a bool (TOML's ``true`` is no count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def integer(minimum: int | None = None, maximum: int | None = None) -> Checker:
    def check(key: str, value: Any) -> int:
        if not is_integer(value):
            raise SettingError(f"{key}: expected an integer, got {describe(value)}")
        if minimum is not None and value < minimum:
            raise SettingError(f"{key} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise SettingError(f"{key} must be at most {maximum}, got {value}")
        return value
    return check


def number(minimum: float, maximum: float | None = None, *, open_min: bool = False,
           open_max: bool = False) -> Checker:
    low, high = "(" if open_min else "[", ")" if open_max or maximum is None else "]"
    allowed = f"{low}{minimum:g}, {'∞' if maximum is None else f'{maximum:g}'}{high}"

    def check(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingError(f"{key}: expected a number, got {describe(value)}")
        number = float(value)
        too_low = number <= minimum if open_min else number < minimum
        too_high = maximum is not None and (number >= maximum if open_max else number > maximum)
        if not math.isfinite(number) or too_low or too_high:
            raise SettingError(f"{key} must be in {allowed}, got {value}")
        return number
    return check


def choice(options: Collection[str], optional: bool = False) -> Checker:
    """One of ``options`` (a catalogue's names); with ``optional``, also ``"none"`` (TOML has no null) → None."""
    allowed = ", ".join(options) + (", none" if optional else "")

    def check(key: str, value: Any) -> str | None:
        if optional and (value is None or value == "none"):
            return None
        if not isinstance(value, str):
            raise SettingError(f"{key}: expected a string (one of {allowed}), got {describe(value)}")
        if value not in options:
            raise SettingError(f"{key}: {value!r} is not allowed; allowed: {allowed}")
        return value
    return check


def flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingError(f"{key}: expected true or false, got {describe(value)}")
    return value


def optional_flag(key: str, value: Any) -> bool | None:
    """true or false; None (the preset as ``Preset.to_dict`` wrote it) keeps the setting's default."""
    return None if value is None else flag(key, value)


def text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingError(f"{key}: expected a non-empty string, got {describe(value)}")
    return value


def any_text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SettingError(f"{key}: expected a string, got {describe(value)}")
    return value


def int_list(min_length: int, exact: bool = False) -> Checker:
    """A list of at least (or exactly) ``min_length`` integers ≥ 1, as a tuple."""
    wanted = f"{'exactly' if exact else 'at least'} {min_length}"

    def check(key: str, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list | tuple):
            raise SettingError(f"{key}: expected a list of integers, got {describe(value)}")
        if len(value) < min_length or (exact and len(value) != min_length):
            raise SettingError(f"{key} must have {wanted} entries, got {len(value)}: {list(value)}")
        return tuple(integer(minimum=1)(f"{key}[{i}]", item) for i, item in enumerate(value))
    return check


def number_pair(minimum: float, maximum: float) -> Checker:
    """Two numbers in [minimum, maximum], as a tuple."""
    def check(key: str, value: Any) -> tuple[float, float]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise SettingError(f"{key}: expected a list of two numbers in [{minimum:g}, {maximum:g}], "
                               f"got {describe(value)}")
        return tuple(number(minimum, maximum)(f"{key}[{i}]", item) for i, item in enumerate(value))
    return check


def text_list(key: str, value: Any) -> tuple[str, ...]:
    """A list of non-empty names (a table's columns), as a tuple."""
    if not isinstance(value, list | tuple):
        raise SettingError(f"{key}: expected a list of column names, got {describe(value)}")
    return tuple(text(f"{key}[{i}]", item) for i, item in enumerate(value))
