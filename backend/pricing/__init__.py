"""Pricing: OCPI 2.2.1 tariffs, session profiles, the pricing engine and tariff selection.

Pure code: plain dataclasses in, plain dataclasses out; nothing here knows about OCPP,
GraphQL or the database. The rules are written for users in README.md.
"""

from backend.pricing.currencies import floor_to_minor, minor_digits
from backend.pricing.engine import CostPoint, Price, PriceLine, price_session
from backend.pricing.selection import Location, Scope, TariffCandidate, select_tariff
from backend.pricing.session_profile import (
    MeterSample,
    MinuteSlice,
    SessionProfile,
    build_profile,
)
from backend.pricing.tariffs import (
    DayOfWeek,
    PriceComponent,
    Tariff,
    TariffDimension,
    TariffElement,
    TariffRestrictions,
)

__all__ = [
    "CostPoint",
    "DayOfWeek",
    "Location",
    "MeterSample",
    "MinuteSlice",
    "Price",
    "PriceComponent",
    "PriceLine",
    "Scope",
    "SessionProfile",
    "Tariff",
    "TariffCandidate",
    "TariffDimension",
    "TariffElement",
    "TariffRestrictions",
    "build_profile",
    "floor_to_minor",
    "minor_digits",
    "price_session",
    "select_tariff",
]
