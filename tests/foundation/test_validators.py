import pytest
from django.core.exceptions import ValidationError

from organisations.validators import (
    normalise_brin,
    normalise_kvk,
    normalise_postcode,
    validate_brin,
    validate_kvk,
    validate_postcode,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12345678", "12345678"), (" 1234 5678 ", "12345678"), ("12.34.56.78", "12345678")],
)
def test_kvk_normalised(raw, expected):
    assert normalise_kvk(raw) == expected


@pytest.mark.parametrize("raw", ["", "1234567", "123456789", "1234567a", "abcdefgh"])
def test_kvk_rejected(raw):
    with pytest.raises(ValidationError) as exc:
        normalise_kvk(raw)
    assert exc.value.code == "invalid_kvk"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234AB", "1234 AB"),
        ("1234 ab", "1234 AB"),
        (" 9725ag ", "9725 AG"),
        ("1012  LG", "1012 LG"),
    ],
)
def test_postcode_normalised(raw, expected):
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "0123 AB", "123 AB", "12345 AB", "1234 A", "1234 SS", "1234 SA", "1234 SD", "ABCD 12"],
)
def test_postcode_rejected(raw):
    with pytest.raises(ValidationError):
        normalise_postcode(raw)


@pytest.mark.parametrize(
    ("raw", "expected"), [("12ab", "12AB"), (" 00AA ", "00AA"), ("30T9", "30T9")]
)
def test_brin_normalised(raw, expected):
    assert normalise_brin(raw) == expected


@pytest.mark.parametrize("raw", ["", "1AB", "12ABC", "AB12", "1-AB"])
def test_brin_rejected(raw):
    with pytest.raises(ValidationError):
        normalise_brin(raw)


def test_field_validators_demand_canonical_form():
    validate_kvk("12345678")
    validate_postcode("1234 AB")
    validate_brin("12AB")
    for validator, value in [
        (validate_kvk, "1234 5678"),
        (validate_postcode, "1234ab"),
        (validate_brin, "12ab"),
    ]:
        with pytest.raises(ValidationError):
            validator(value)
