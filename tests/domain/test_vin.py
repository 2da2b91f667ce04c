"""VINs (ISO 3779, with the North American / Chinese check digit) and licence plates."""

from __future__ import annotations

import pytest

from backend.domain.errors import InvalidInput
from backend.domain.vin import check_digit, normalize_plate, normalize_vin


@pytest.mark.parametrize(
    "vin",
    [
        "1HGCM82633A004352",  # Honda Accord, the textbook example (check digit 3)
        "1M8GDM9AXKP042788",  # check digit X (remainder 10)
        "5YJ3E1EA2JF000316",  # Tesla Model 3 pattern, check digit 2
        "LRW3E7EK5NC000001",  # China ("L") also mandates the check digit
        "JH4KA7561PC008269",  # Japan: check digit present and right
    ],
)
def test_valid_vins_with_check_digit(vin: str) -> None:
    assert check_digit(vin) == vin[8]
    assert normalize_vin(vin) == vin


@pytest.mark.parametrize(
    "vin",
    [
        "WVWZZZ1JZXW000001",  # Volkswagen: position 9 is a filler, no check digit in Europe
        "VF1AG000164123456",  # Renault: position 9 is no check digit either
    ],
)
def test_european_vins_without_check_digit_are_accepted(vin: str) -> None:
    assert check_digit(vin) != vin[8]  # the digit would be wrong if it were mandatory
    assert normalize_vin(vin) == vin


def test_vin_is_normalized() -> None:
    assert normalize_vin(" 1hgcm8-2633a 004352 ") == "1HGCM82633A004352"
    assert normalize_vin("wvwzzz1jzxw000001") == "WVWZZZ1JZXW000001"


@pytest.mark.parametrize(
    "vin",
    [
        "1HGCM82634A004352",  # one digit off at position 9
        "1HGCM82633A004353",  # a typo elsewhere changes the expected check digit
        "5YJ3E1EA7JF000316",  # a Tesla VIN with a wrong check digit (expected 2)
        "LRW3E7EK4NC000001",  # China: wrong check digit (expected 5)
    ],
)
def test_wrong_check_digit_is_rejected_where_mandatory(vin: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_vin(vin)
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": "vin"}
    assert "check digit" in caught.value.message


@pytest.mark.parametrize("letter", ["I", "O", "Q"])
def test_letters_i_o_q_are_rejected(letter: str) -> None:
    vin = "WVWZZZ1JZXW00000" + letter
    with pytest.raises(InvalidInput) as caught:
        normalize_vin(vin)
    assert caught.value.extensions["field"] == "vin"
    assert "I, O and Q" in caught.value.message


@pytest.mark.parametrize("vin", ["", "1HGCM82633A00435", "1HGCM82633A0043521", "X" * 40])
def test_length_must_be_17(vin: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_vin(vin, field="input.vin")
    assert caught.value.extensions["field"] == "input.vin"
    assert "17" in caught.value.message


def test_punctuation_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        normalize_vin("1HGCM8263.A004352")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ab-123-cd", "AB-123-CD"),
        ("  ab   123  cd ", "AB 123 CD"),
        ("m-ü 1234", "M-Ü 1234"),
        ("1abc234", "1ABC234"),
    ],
)
def test_plate_normalization(raw: str, expected: str) -> None:
    assert normalize_plate(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "AB@123", "AB/123", "A" * 21, "<script>"])
def test_bad_plates_are_rejected_with_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_plate(raw)
    assert caught.value.extensions["field"] == "plate"
