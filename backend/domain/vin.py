"""Vehicle identification numbers (ISO 3779) and licence plates."""

from __future__ import annotations

import re

from backend.domain.errors import InvalidInput

_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_CHARS = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")  # I, O and Q are never used
# Regions whose manufacturers must fill position 9 with the check digit (North America, China).
_CHECK_DIGIT_REGIONS = set("12345L")


def check_digit(vin: str) -> str:
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(vin: str, field: str = "vin") -> str:
    value = re.sub(r"[\s-]", "", vin).upper()
    if len(value) != 17:
        raise InvalidInput("A VIN has exactly 17 characters.", field=field)
    if not _VIN_CHARS.match(value):
        raise InvalidInput(
            "A VIN uses only digits and the letters A–Z except I, O and Q.", field=field
        )
    # European VINs often carry no check digit; where the region mandates one, it must match.
    if value[0] in _CHECK_DIGIT_REGIONS and value[8] != check_digit(value):
        raise InvalidInput("This VIN's check digit is wrong: please check for typos.", field=field)
    return value


def plate_key(plate: str) -> str:
    """The plate without separators, to recognize one car written two ways."""
    return re.sub(r"[\s\-·]", "", plate.upper())


def normalize_plate(plate: str, field: str = "plate") -> str:
    value = " ".join(plate.upper().split())
    if not value:
        raise InvalidInput("The licence plate is required.", field=field)
    if len(value) > 20 or not re.fullmatch(r"[A-Z0-9ÄÖÜ \-·]+", value):
        raise InvalidInput("This licence plate has unexpected characters.", field=field)
    return value
