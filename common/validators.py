"""Input hygiene for every text a visitor types: one rule, used by page forms and API serializers.

A name, address or e-mail address ends up in mail headers, .ics lines, PDF text, CSV cells and
pages. A line break in a name makes every mail to that person unsendable; a NUL cannot be
stored in PostgreSQL; a bidi override (U+202E) makes "gpj.exe" read as "exe.jpg"; a lone
surrogate (possible in JSON) cannot be encoded at all. So:

- single-line fields (names, organisation names, job titles, addresses, e-mail, phone, ...)
  refuse every control character (C0 incl. tab, CR and LF; DEL; C1), the Unicode line and
  paragraph separators, the bidi embedding/override/isolate characters (U+202A-U+202E,
  U+2066-U+2069) and lone surrogates;
- multi-line free text (a textarea: wishes, comments, descriptions) may keep line breaks and
  tabs, but refuses the rest;
- every text has a length limit: its own max_length, else a default one.

The check reads the value as it was sent, before Django or DRF strip surrounding whitespace: a
trailing "\\r\\n" is refused like an embedded one rather than silently changed.

Wiring: page forms inherit `CleanTextFormMixin`, API input serializers `CleanTextSerializerMixin`;
a textarea widget (forms) or `style={"base_template": "textarea.html"}` (DRF) marks a field as
multi-line. tests/security checks every form and serializer class of the project uses them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty

# Limits for fields that declare no max_length of their own.
SINGLE_LINE_MAX_LENGTH = 500
MULTI_LINE_MAX_LENGTH = 10_000
EMAIL_MAX_LENGTH = 254

_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
# Line breaks are part of the control set; they are looked for first for a clearer message.
_LINE_BREAK_RE = re.compile(f"[{_LINE_BREAKS}]")
_SINGLE_LINE_FORBIDDEN = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}{_SURROGATES}]")
# Multi-line text keeps tab, LF and CR (a browser sends a textarea's line breaks as CRLF).
_MULTI_LINE_FORBIDDEN = re.compile(f"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_SURROGATES}]")

LINE_BREAK_MESSAGE = _("Enter this on a single line, without line breaks.")
CONTROL_CHARACTER_MESSAGE = _(
    "Remove the invisible control character (such as a tab, a null character or a "
    "text-direction mark) from this field."
)


def validate_single_line(value: str) -> None:
    """Refuse line breaks and invisible control characters (Django ValidationError)."""
    if not isinstance(value, str):
        return
    if _LINE_BREAK_RE.search(value):
        raise ValidationError(LINE_BREAK_MESSAGE, code="line_break")
    if _SINGLE_LINE_FORBIDDEN.search(value):
        raise ValidationError(CONTROL_CHARACTER_MESSAGE, code="control_character")


def validate_multi_line(value: str) -> None:
    """Like validate_single_line, but line breaks and tabs are allowed."""
    if isinstance(value, str) and _MULTI_LINE_FORBIDDEN.search(value):
        raise ValidationError(CONTROL_CHARACTER_MESSAGE, code="control_character")


def check_text(value, *, multi_line: bool = False, max_length: int | None = None) -> None:
    """The whole rule for one raw value: characters, then length. Non-strings pass (a form or
    serializer field of another kind reports them)."""
    if not isinstance(value, str):
        return
    (validate_multi_line if multi_line else validate_single_line)(value)
    limit = max_length or (MULTI_LINE_MAX_LENGTH if multi_line else SINGLE_LINE_MAX_LENGTH)
    MaxLengthValidator(limit)(value)


# --- Page forms ----------------------------------------------------------------------------


def _max_length(field) -> int | None:
    limit = getattr(field, "max_length", None)
    if isinstance(field, forms.EmailField | serializers.EmailField):
        # Django's form EmailField allows 320, but an address column holds 254 (RFC 5321).
        limit = min(limit or EMAIL_MAX_LENGTH, EMAIL_MAX_LENGTH)
    return limit


class CleanTextFormMixin:
    """Put before forms.Form: checks the raw value of every field a visitor types into with
    `check_text` (a textarea is multi-line; passwords are never shown, mailed or stored as
    typed, so they are left to the password validators).

    Runs after the normal cleaning and puts its error on the field itself (which also drops the
    value from cleaned_data), so a view that asks is_valid() never passes such a value on. A
    forbidden character explains a refusal better than "Enter a valid e-mail address", so its
    message replaces the field's own; a length error is left to the field when it has one.
    """

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound:
            return
        for name, field in self.fields.items():
            if field.disabled or isinstance(field.widget, forms.PasswordInput):
                continue
            raw = self[name].data
            try:
                check_text(
                    raw,
                    multi_line=isinstance(field.widget, forms.Textarea),
                    max_length=_max_length(field),
                )
            except ValidationError as exc:
                if name not in self.errors:
                    self.add_error(name, exc)
                elif exc.code != "max_length":
                    replaced = self.error_class(renderer=self.renderer)
                    replaced.extend(exc.error_list)
                    self.errors[name] = replaced


# --- API serializers -----------------------------------------------------------------------


def _check_serializer_field(field: serializers.Field, raw) -> list | dict:
    """The errors of one raw value: messages for a string, {index or key: messages} for a list
    or dict of strings; empty when the value is clean. Every string a client sends is checked,
    whatever the field makes of it (a slug, a choice, a date), like the page forms do; nested
    serializers check their own fields."""
    if isinstance(field, serializers.BaseSerializer):
        return []
    items = None
    if isinstance(field, serializers.ListField) and isinstance(raw, list):
        items = enumerate(raw)
    elif isinstance(field, serializers.DictField) and isinstance(raw, Mapping):
        items = ((str(key), value) for key, value in raw.items())
    if items is not None:
        errors = {key: _check_serializer_field(field.child, value) for key, value in items}
        return {key: found for key, found in errors.items() if found}
    if isinstance(field, serializers.CharField) and raw is not None and not isinstance(raw, str):
        # DRF's CharField turns 0 or 1.5 into "0" / "1.5": the schema says string, so a number
        # (or a bool, list, object) is a client error, not a name.
        return [str(field.error_messages["invalid"])]
    try:
        check_text(
            raw,
            multi_line=field.style.get("base_template") == "textarea.html",
            max_length=_max_length(field),
        )
    except ValidationError as exc:
        return list(exc.messages)
    return []


class CleanTextSerializerMixin:
    """Put before serializers.Serializer on every input serializer: checks each text field's
    raw value with `check_text` and reports it under that field (nested serializers run their
    own check, so errors come back as e.g. "booker.name")."""

    def to_internal_value(self, data):
        found: dict = {}
        if isinstance(data, Mapping):
            for field in self.fields.values():
                if field.read_only:
                    continue
                raw = field.get_value(data)
                if raw is empty:
                    continue
                errors = _check_serializer_field(field, raw)
                if errors:
                    found[field.field_name] = errors
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not found or not isinstance(exc.detail, dict):
                raise
            errors = dict(exc.detail)
            for name, ours in found.items():
                theirs = errors.get(name)
                # Per-item errors of a list or dict are merged; otherwise ours explain it.
                both_dicts = isinstance(theirs, dict) and isinstance(ours, dict)
                errors[name] = {**theirs, **ours} if both_dicts else ours
            raise serializers.ValidationError(errors) from exc
        if found:
            raise serializers.ValidationError(found)
        return value
