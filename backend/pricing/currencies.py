"""ISO 4217 minor units: how many decimals a currency's smallest coin has.

Most currencies have 2 minor digits. The exceptions below are ISO 4217's list (data, kept
explicit rather than pulled from a locale library: CLDR's "digits" differ from ISO 4217 for a
few currencies, and billing follows ISO 4217).
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

_NON_TWO_DIGITS: dict[str, int] = {
    # 0 minor digits
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    # 3 minor digits
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    # 4 minor digits
    "CLF": 4,
    "UYW": 4,
}

_CODE = re.compile(r"^[A-Z]{3}$")


def check_currency(code: str) -> str:
    """The code itself when it has the shape of an ISO 4217 code (three capital letters)."""
    if not _CODE.match(code):
        raise ValueError(f"currency must be an ISO 4217 code such as EUR, got {code!r}")
    return code


def minor_digits(code: str) -> int:
    """Number of decimals of the currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    return _NON_TWO_DIGITS.get(check_currency(code), 2)


def floor_to_minor(amount: Fraction, code: str) -> Decimal:
    """Round an exact amount DOWN to the currency's minor unit (never up: no overcharge)."""
    digits = minor_digits(code)
    units = (amount * 10**digits).__floor__()
    return Decimal(units).scaleb(-digits)
