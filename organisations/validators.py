"""Validators for Dutch identifiers. Each normaliser returns the canonical form or raises."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

KVK_RE = r"^[0-9]{8}$"
# Four digits (no leading zero), a space, two capitals; SA, SD and SS are never issued.
POSTCODE_RE = r"^[1-9][0-9]{3} (?!SA|SD|SS)[A-Z]{2}$"
BRIN_RE = r"^[0-9]{2}[A-Z0-9]{2}$"


def normalise_kvk(value: str) -> str:
    cleaned = re.sub(r"[\s.]", "", value or "")
    if not re.fullmatch(KVK_RE, cleaned):
        raise ValidationError(
            _("A KvK number has exactly 8 digits, for example 12345678."), code="invalid_kvk"
        )
    return cleaned


def normalise_postcode(value: str) -> str:
    cleaned = re.sub(r"\s+", "", value or "").upper()
    candidate = f"{cleaned[:4]} {cleaned[4:]}"
    if len(cleaned) != 6 or not re.fullmatch(POSTCODE_RE, candidate):
        raise ValidationError(_("Enter a Dutch postcode like 1234 AB."), code="invalid_postcode")
    return candidate


def normalise_brin(value: str) -> str:
    cleaned = (value or "").strip().upper()
    if not re.fullmatch(BRIN_RE, cleaned):
        raise ValidationError(
            _("A BRIN code has two digits followed by two letters or digits, for example 12AB."),
            code="invalid_brin",
        )
    return cleaned


def validate_kvk(value: str) -> None:
    if normalise_kvk(value) != value:
        raise ValidationError(
            _("Write the KvK number as 8 digits without spaces."), code="kvk_format"
        )


def validate_postcode(value: str) -> None:
    if normalise_postcode(value) != value:
        raise ValidationError(_("Write the postcode as 1234 AB."), code="postcode_format")


def validate_brin(value: str) -> None:
    if normalise_brin(value) != value:
        raise ValidationError(
            _("Write the BRIN code in capitals, for example 12AB."), code="brin_format"
        )
