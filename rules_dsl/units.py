"""Units people write in rules, and exact conversion between units of one kind.

Factors are Decimals so that "0.3 cm" is exactly "3 mm" (binary floats would make it 3.0000000000000004).
A vocabulary may declare a unit this table does not know (mmHg, bpm): then only that unit, or none, is accepted.
Time uses the calendar average (a year is 365.25 days, a month a twelfth of it), so 6 months is 0.5 years.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .errors import did_you_mean


@dataclass(frozen=True)
class Unit:
    symbol: str      # how the canonical text prints it
    kind: str        # "length", "mass", ...
    factor: Decimal  # size in the kind's base unit


_YEAR = Decimal("365.25")
_TABLE: list[tuple[str, str, str, tuple[str, ...]]] = [
    # symbol, kind, factor, other spellings
    ("µm", "length", "0.001", ("um", "micrometre", "micrometres", "micrometer", "micrometers")),
    ("mm", "length", "1", ("millimetre", "millimetres", "millimeter", "millimeters")),
    ("cm", "length", "10", ("centimetre", "centimetres", "centimeter", "centimeters")),
    ("m", "length", "1000", ("metre", "metres", "meter", "meters")),
    ("µg", "mass", "0.000001", ("ug", "mcg", "microgram", "micrograms")),
    ("mg", "mass", "0.001", ("milligram", "milligrams")),
    ("g", "mass", "1", ("gram", "grams")),
    ("kg", "mass", "1000", ("kilogram", "kilograms", "kilo", "kilos")),
    ("mL", "volume", "1", ("ml", "millilitre", "millilitres", "milliliter", "milliliters")),
    ("dL", "volume", "100", ("dl", "decilitre", "decilitres", "deciliter", "deciliters")),
    ("L", "volume", "1000", ("l", "litre", "litres", "liter", "liters")),
    ("minutes", "time", str(Decimal(1) / Decimal(1440)), ("minute", "min", "mins")),
    ("hours", "time", str(Decimal(1) / Decimal(24)), ("hour", "h", "hr", "hrs")),
    ("days", "time", "1", ("day", "d")),
    ("weeks", "time", "7", ("week", "wk", "wks")),
    ("months", "time", str(_YEAR / 12), ("month", "mo", "mos")),
    ("years", "time", str(_YEAR), ("year", "yr", "yrs", "y")),
    ("%", "percent", "1", ("percent", "pct")),
    ("°C", "temperature", "1", ("°", "celsius", "degC")),
]
_KIND_WORDS = {"length": "a length", "mass": "a mass", "volume": "a volume", "time": "a time",
               "percent": "a percentage", "temperature": "a temperature"}

UNITS: dict[str, Unit] = {}
for _symbol, _kind, _factor, _others in _TABLE:
    _unit = Unit(_symbol, _kind, Decimal(_factor))
    for _spelling in (_symbol, *_others):
        UNITS[_spelling] = _unit


def find_unit(spelling: str) -> Unit | None:
    """The unit a spelling names: exact first (mL vs ml matter little, M vs m would), then ignoring case."""
    unit = UNITS.get(spelling)
    if unit is None:
        unit = UNITS.get(spelling.lower())
    return unit


def describe_kind(kind: str) -> str:
    return _KIND_WORDS.get(kind, f"measured in {kind}")


class UnitProblem(ValueError):
    def __init__(self, message: str, suggestion: str | None = None):
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


def convert(number: Decimal, written: str | None, feature_unit: str | None, feature_name: str) -> Decimal:
    """``number`` written in ``written`` as a number in the feature's unit; raises UnitProblem when impossible."""
    if written is None:
        return number
    if feature_unit is None:
        raise UnitProblem(f"'{feature_name}' has no unit in the vocabulary, so write the number without "
                          f"'{written}'.")
    if written == feature_unit or written.lower() == feature_unit.lower() and find_unit(written) is None:
        return number
    if written.lower() in ("°f", "fahrenheit", "degf") and written != feature_unit:
        raise UnitProblem(f"Rulecraft does not convert Fahrenheit; write the temperature in {feature_unit}.",
                          suggestion=feature_unit)
    target, source = find_unit(feature_unit), find_unit(written)
    if target is None:
        raise UnitProblem(f"'{feature_name}' is measured in {feature_unit}; write the number in {feature_unit} "
                          "or without a unit.", suggestion=feature_unit)
    if source is None:
        known = [s for s, u in UNITS.items() if u.kind == target.kind]
        close = did_you_mean(written, known)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise UnitProblem(f"'{written}' is not a unit Rulecraft knows.{hint} '{feature_name}' is measured in "
                          f"{feature_unit}.", suggestion=close[0] if close else feature_unit)
    if source.kind != target.kind:
        raise UnitProblem(f"'{written}' is {describe_kind(source.kind)}, but '{feature_name}' is "
                          f"{describe_kind(target.kind)} (measured in {feature_unit}).", suggestion=feature_unit)
    return number * source.factor / target.factor
