"""Tariffs as JSON in the OCPI 2.2.1 shape, to and from `backend.pricing`'s model.

Stored and frozen tariffs use OCPI's field names, with every price, rate and limit as a decimal
string (never a float):

    {"price_components": [{"type": "ENERGY", "price": "0.25", "step_size": 1, "vat": "20"}],
     "restrictions": {"start_time": "22:00", "end_time": "06:00", "day_of_week": ["MONDAY"],
                      "min_kwh": "0", "max_power": "22", "min_duration": 0, ...}}

Validation errors name the API field (`elements[0].priceComponents[1].price`).
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.domain.errors import InvalidInput
from backend.pricing import (
    DayOfWeek,
    PriceComponent,
    Tariff,
    TariffDimension,
    TariffElement,
    TariffRestrictions,
)
from backend.pricing.currencies import check_currency

_DECIMAL_LIMITS = ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power")
_RESTRICTION_KEYS = (
    "start_time",
    "end_time",
    "start_date",
    "end_date",
    *_DECIMAL_LIMITS,
    "min_duration",
    "max_duration",
    "day_of_week",
)


def api_name(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def parse_decimal(value: Any, field: str, *, minimum: Decimal | None = Decimal(0)) -> Decimal:
    if isinstance(value, float | bool):
        raise InvalidInput("Give a decimal number as a string, not a float.", field=field)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"Not a decimal number: {value!r}.", field=field) from None
    if not number.is_finite():
        raise InvalidInput("Not a finite number.", field=field)
    if minimum is not None and number < minimum:
        raise InvalidInput(f"Must be at least {minimum}.", field=field)
    if abs(number) >= Decimal("1e12") or -number.as_tuple().exponent > 12:  # type: ignore[operator]
        raise InvalidInput("Out of range or too precise.", field=field)
    return number


def _time(value: Any, field: str) -> time:
    try:
        parsed = time.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("Give a time of day as HH:MM.", field=field) from None
    if parsed.second or parsed.microsecond or parsed.tzinfo is not None:
        raise InvalidInput("Give a time of day as HH:MM.", field=field)
    return parsed


def _date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("Give a date as YYYY-MM-DD.", field=field) from None


def _int(value: Any, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("Give a whole number.", field=field)
    if value < minimum or value > 10**9:
        raise InvalidInput(f"Must be between {minimum} and 1000000000.", field=field)
    return value


def component_from_json(data: dict[str, Any], field: str) -> PriceComponent:
    try:
        dimension = TariffDimension(data.get("type"))
    except ValueError:
        raise InvalidInput(
            "The type is one of FLAT, ENERGY, TIME, PARKING_TIME.", field=f"{field}.type"
        ) from None
    price = parse_decimal(data.get("price"), f"{field}.price")
    step = _int(data.get("step_size", 1), f"{field}.stepSize", 1)
    vat = data.get("vat")
    vat_percent = None if vat is None else parse_decimal(vat, f"{field}.vatPercent")
    return PriceComponent(dimension, price, step, vat_percent)


def restrictions_from_json(data: dict[str, Any] | None, field: str) -> TariffRestrictions:
    if not data:
        return TariffRestrictions()
    unknown = set(data) - set(_RESTRICTION_KEYS)
    if unknown:
        raise InvalidInput(f"Unknown restriction: {sorted(unknown)[0]}.", field=field)
    values: dict[str, Any] = {}
    for key in ("start_time", "end_time"):
        if data.get(key) is not None:
            values[key] = _time(data[key], f"{field}.{api_name(key)}")
    for key in ("start_date", "end_date"):
        if data.get(key) is not None:
            values[key] = _date(data[key], f"{field}.{api_name(key)}")
    for key in _DECIMAL_LIMITS:
        if data.get(key) is not None:
            values[key] = parse_decimal(data[key], f"{field}.{api_name(key)}")
    for key in ("min_duration", "max_duration"):
        if data.get(key) is not None:
            values[key] = _int(data[key], f"{field}.{api_name(key)}", 0)
    days = data.get("day_of_week") or []
    try:
        values["day_of_week"] = frozenset(DayOfWeek(day) for day in days)
    except ValueError:
        raise InvalidInput("Days are MONDAY … SUNDAY.", field=f"{field}.dayOfWeek") from None
    try:
        return TariffRestrictions(**values)
    except (TypeError, ValueError) as error:
        message = str(error)
        culprit = next((k for k in _RESTRICTION_KEYS if message.startswith(k)), None)
        suffix = f".{api_name(culprit)}" if culprit else ""
        raise InvalidInput(message[:1].upper() + message[1:] + ".", field=field + suffix) from None


def elements_from_json(data: Any) -> tuple[TariffElement, ...]:
    if not isinstance(data, list) or not data:
        raise InvalidInput("A tariff needs at least one element.", field="elements")
    if len(data) > 50:
        raise InvalidInput("At most 50 elements.", field="elements")
    elements = []
    for i, element in enumerate(data):
        field = f"elements[{i}]"
        components = element.get("price_components") if isinstance(element, dict) else None
        if not isinstance(components, list) or not components:
            raise InvalidInput(
                "An element needs at least one price component.", field=f"{field}.priceComponents"
            )
        parsed = [
            component_from_json(c, f"{field}.priceComponents[{j}]")
            for j, c in enumerate(components)
        ]
        dimensions = [c.dimension for c in parsed]
        if len(set(dimensions)) != len(dimensions):
            raise InvalidInput(
                "An element prices each type at most once.", field=f"{field}.priceComponents"
            )
        restrictions = restrictions_from_json(element.get("restrictions"), f"{field}.restrictions")
        elements.append(TariffElement(tuple(parsed), restrictions))
    return tuple(elements)


def tariff_from_json(
    currency: str, vat_percent: str, elements: Any, *, id: str = "", name: str = ""
) -> Tariff:
    try:
        check_currency(currency)
    except ValueError:
        raise InvalidInput(
            "Give an ISO 4217 currency code such as EUR.", field="currency"
        ) from None
    vat = parse_decimal(vat_percent, "vatPercent")
    if vat > 100:
        raise InvalidInput("Must be at most 100.", field="vatPercent")
    return Tariff(currency, vat, elements_from_json(elements), id=id, name=name)


def elements_to_json(elements: tuple[TariffElement, ...]) -> list[dict[str, Any]]:
    """The canonical OCPI JSON of validated elements (what is stored)."""
    result = []
    for element in elements:
        components = []
        for c in element.price_components:
            item: dict[str, Any] = {
                "type": c.dimension.value,
                "price": str(c.price),
                "step_size": c.step_size,
            }
            if c.vat_percent is not None:
                item["vat"] = str(c.vat_percent)
            components.append(item)
        r = element.restrictions
        restrictions: dict[str, Any] = {}
        for key in _RESTRICTION_KEYS:
            value = getattr(r, key)
            if key == "day_of_week":
                if value:
                    restrictions[key] = [d.value for d in DayOfWeek if d in value]
            elif value is None:
                continue
            elif isinstance(value, time):
                restrictions[key] = value.strftime("%H:%M")
            elif isinstance(value, date):
                restrictions[key] = value.isoformat()
            elif isinstance(value, Decimal):
                restrictions[key] = str(value)
            else:
                restrictions[key] = value
        entry: dict[str, Any] = {"price_components": components}
        if restrictions:
            entry["restrictions"] = restrictions
        result.append(entry)
    return result
