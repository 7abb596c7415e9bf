"""Hostile visitor values through every public form and API create, and back out through every
page and mail (issue 13, items 1 and 7).

(a) Input: every POST form on every page of the URLconf (opened as a role its permission policy
    admits, in the world of tests/permissions) and every API create endpoint of the OpenAPI
    schema gets each text field replaced by control-character values (CR, LF, NUL, C0/C1, bidi
    overrides/isolates) and by a 5,000-character value: the answer must be an error on that
    field, in Dutch, and the database must be unchanged.
(b) Output: the world's text columns are filled with printable hostile values (HTML, a <meta>
    refresh, attribute break-outs, javascript: URLs, quotes, long strings), mails are queued for
    those people, and every page of the URLconf (organiser, portal, public, signed-link, the
    Django admin) and every queued mail's HTML is parsed with an HTML5 parser: no element or
    attribute may come from a value.

Routes, forms, fields and endpoints are discovered, not listed, so a new page, form, field or
endpoint is swept automatically. The ALLOWED_* tables are the explicit exceptions, with reasons.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from datetime import timedelta

import pytest
from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import resolve
from django.utils import timezone, translation
from django.utils.safestring import SafeData
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from common.validators import (
    CONTROL_CHARACTER_MESSAGE,
    LINE_BREAK_MESSAGE,
    MULTI_LINE_MAX_LENGTH,
    CleanTextFormMixin,
    CleanTextSerializerMixin,
    check_text,
)
from communications.models import Certificate, OutboxMail
from communications.selectors import mail_preview
from communications.sending import render_mail
from events.models import Question
from schools.models import WorkField
from tests.factories import CampaignWeekFactory, QuestionFactory
from tests.permissions.policy import ANY, SAME, kwargs_for
from tests.permissions.test_matrix import policy_for
from tests.permissions.world import build_world, client_for

from . import corpus
from .corpus import MARKER
from .crawl import (
    PROJECT_APPS,
    ROLE_PREFERENCE,
    changed,
    field_error,
    fingerprint,
    page_routes,
    post_forms,
)
from .markup import inspect, live_markup, parse, text_content

pytestmark = pytest.mark.django_db


def dutch_messages() -> set[str]:
    with translation.override("nl"):
        return {str(LINE_BREAK_MESSAGE), str(CONTROL_CHARACTER_MESSAGE)}


@pytest.fixture
def world(settings):
    settings.OTP_ENFORCE_FOR_ORGANISER_ADMINS = True
    settings.RATELIMIT_ENABLED = False
    w = build_world()
    # A free-text question, so the booking pages and the API carry an answer field.
    w.objects["question"] = QuestionFactory(
        event=w.event_x, label="Dieetwensen", kind=Question.Kind.TEXT
    )
    # A campaign week organisation A has not signed up for yet (the API sign-up's control).
    w.objects["week_api"] = CampaignWeekFactory(campaign=w.campaign_c, slug="week-api")
    return w


# --- The rule itself ------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "value"), [*corpus.CONTROL, corpus.LONE_SURROGATE])
def test_single_line_text_refuses_every_control_value(label, value):
    with pytest.raises(ValidationError) as refused:
        check_text(value)
    assert refused.value.code in {"line_break", "control_character"}
    with translation.override("nl"):
        assert refused.value.messages[0] in dutch_messages()


@pytest.mark.parametrize(("label", "value"), [*corpus.MULTI_LINE_REFUSED, corpus.LONE_SURROGATE])
def test_multi_line_text_refuses_control_values_but_keeps_line_breaks(label, value):
    with pytest.raises(ValidationError):
        check_text(value, multi_line=True)
    check_text(corpus.MULTI_LINE_ALLOWED, multi_line=True)


@pytest.mark.parametrize("value", corpus.PRINTABLE)
def test_printable_hostile_values_are_data_not_errors(value):
    """A name may hold '<', quotes or '&': refusing them would be wrong; escaping is the fix."""
    check_text(value, max_length=200)
    check_text(value, multi_line=True)


def test_long_values_are_refused_even_without_a_declared_limit():
    for multi_line in (False, True):
        with pytest.raises(ValidationError) as refused:
            check_text("x" * 20_000, multi_line=multi_line)
        assert refused.value.code == "max_length"
    with pytest.raises(ValidationError):
        check_text(corpus.LONG, max_length=200)


def test_the_messages_are_dutch():
    with translation.override("en"):
        english = {str(LINE_BREAK_MESSAGE), str(CONTROL_CHARACTER_MESSAGE)}
    assert not english & dutch_messages()
    assert all("regel" in m or "teken" in m for m in dutch_messages())


# --- Every form and serializer class uses the rule --------------------------------------------


def _import_project_modules() -> None:
    for label in PROJECT_APPS:
        package = importlib.import_module(apps.get_app_config(label).name)
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations" in module.name or ".management" in module.name:
                continue
            importlib.import_module(module.name)


def _subclasses(cls) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return {c for c in found if c.__module__.split(".")[0] in PROJECT_APPS}


def test_every_project_form_class_checks_its_text():
    """A new form cannot forget the rule: every Form/ModelForm class of the project inherits it."""
    _import_project_modules()
    missing = sorted(
        f"{c.__module__}.{c.__name__}"
        for c in _subclasses(forms.BaseForm)
        if not issubclass(c, CleanTextFormMixin)
    )
    assert not missing, f"forms without CleanTextFormMixin: {missing}"
    assert len(_subclasses(forms.BaseForm)) > 25


def test_every_input_serializer_checks_its_text():
    """Every serializer that reads a request (all but the *Output/*Out ones) inherits the rule."""
    _import_project_modules()
    inputs = [
        c
        for c in _subclasses(serializers.BaseSerializer)
        if not c.__name__.endswith(("Output", "Out"))
    ]
    missing = sorted(
        f"{c.__module__}.{c.__name__}"
        for c in inputs
        if not issubclass(c, CleanTextSerializerMixin)
    )
    assert not missing, f"input serializers without CleanTextSerializerMixin: {missing}"
    assert len(inputs) > 10


# --- (a) Forms: control characters and 5,000 characters are refused, field by field ----------

# (url name, field name) -> why that text input need not answer with a field error (it must
# still write nothing and never fail with a 5xx).
ALLOWED_FORM_FIELDS: dict[tuple[str, str], str] = {
    ("participants:event_checkin", "secret"): (
        "a ticket code typed or scanned by check-in staff: only looked up, never stored or "
        "shown; an unknown code is the page's 409 'no such ticket' answer"
    ),
}

# Forms that must be found by the walk (a change to the world that hides one fails here).
EXPECTED_FORM_FIELDS = {
    ("participants:booking_create", "booker_name"),
    ("participants:booking_create", "booker_email"),
    ("participants:booking_create", "organisation_name"),
    ("participants:booking_create", "attendees-0-name"),
    ("participants:waitlist_join", "name"),
    ("participants:participation_create", "name"),
    ("participants:participation_create", "contact_name"),
    ("participants:participation_create", "street"),
    ("participants:participation_create", "activities_description"),
    ("participants:ticket_manage", "name"),
    ("schools:request_create", "school_name"),
    ("schools:request_create", "contact_name"),
    ("schools:request_create", "wishes"),
    ("schools:feedback", "comments"),
    ("press:invitation", "name"),
    ("press:invitation", "outlet_name"),
    ("organisations:attendee_add", "name"),
    ("organisations:ticket_change", "name"),
    ("organisations:api_tokens", "name"),
    ("organisations:invitation_accept", "first_name"),
    ("accounts:login", "username"),
    ("accounts:magic_link_request", "email"),
    ("mailings:create", "subject_nl"),
    ("mailings:create", "body_nl"),
    ("press:staff_moment_create", "title"),
}


def _values_for(index: int, text) -> list[tuple[str, str]]:
    """A few control values per field, rotating so the sweep as a whole uses every one, plus
    the reported case (a line break in a name) and a value over the length limit: 5,000
    characters, or more for a textarea that allows that many."""
    pool = corpus.MULTI_LINE_REFUSED if text.multi_line else corpus.CONTROL
    picked = [pool[(index * 3 + k) % len(pool)] for k in range(3)]
    if not text.multi_line:
        picked.append(("CRLF", "Jan\r\nBcc: victim@evil.example"))
    limit = text.max_length or (MULTI_LINE_MAX_LENGTH if text.multi_line else 0)
    too_long = corpus.LONG if limit < len(corpus.LONG) else "x" * (limit + 1)
    return [*dict(picked).items(), (LONG_LABEL, too_long)]


LONG_LABEL = "over the length limit (5,000 characters)"


def _form_problems(world) -> tuple[list[str], set[tuple[str, str]]]:
    problems: list[str] = []
    swept: set[tuple[str, str]] = set()
    seen_actions: set[tuple[str, str]] = set()
    messages = dutch_messages()
    index = 0
    for name, path, role in page_routes(world):
        client = client_for(world, role)
        page = client.get(path)
        if "text/html" not in page.headers.get("Content-Type", ""):
            continue
        for form in post_forms(page.content.decode(), path):
            for text in form.texts:
                key = (form.action.split("?")[0], text.name)
                if key in seen_actions:
                    swept.add((name, text.name))
                    continue
                seen_actions.add(key)
                allowed = (name, text.name) in ALLOWED_FORM_FIELDS
                swept.add((name, text.name))
                index += 1
                # Nothing may be written by any of the refused posts: a write would still be
                # there after the last one, so one fingerprint per field is enough.
                before = fingerprint()
                for label, value in _values_for(index, text):
                    response = client.post(form.action, form.with_value(text.name, value))
                    where = f"{name} {text.name!r} with {label}"
                    if response.status_code >= 500 or allowed:
                        if response.status_code >= 500:
                            problems.append(f"{where}: answered {response.status_code}")
                        continue
                    if response.status_code not in (200, 400):
                        problems.append(f"{where}: answered {response.status_code}")
                        continue
                    error = field_error(response.content.decode(), text.name)
                    if not error:
                        problems.append(f"{where}: no error shown with the field")
                    elif label != LONG_LABEL and not any(m in error for m in messages):
                        problems.append(f"{where}: not the Dutch control-character error: {error}")
                written = changed(before, fingerprint())
                if written:
                    problems.append(f"{name} {text.name!r}: a refused post wrote {written}")
    return problems, swept


def test_every_public_form_refuses_control_characters_field_by_field(world):
    problems, swept = _form_problems(world)
    assert not problems, "\n".join(problems)
    missing = EXPECTED_FORM_FIELDS - swept
    assert not missing, f"forms the walk no longer reaches: {sorted(missing)}"


# --- (a) API: every create endpoint of the OpenAPI schema -----------------------------------


def _api_bases(world) -> dict[str, dict]:
    """A valid body per create endpoint (url name). Every string field of the endpoint's
    schema must occur here; test_api_base_bodies_are_accepted proves they are valid."""
    o = world.objects
    soon = timezone.localdate() + timedelta(days=60)
    return {
        "api:v1:booking_list": {
            "event": o["event_x"].pk,
            "booker": {"name": "Bea Boeker", "email": "bea@example.nl"},
            "attendees": [
                {
                    "name": "Ans Jansen",
                    "email": "ans@example.nl",
                    "ticket_type": o["type_x"].pk,
                    "answers": {str(o["question"].pk): "Vegetarisch"},
                }
            ],
        },
        "api:v1:participation_list": {
            "event": o["week_api"].pk,
            "contact": {"name": "Carla", "email": "carla@example.nl", "phone": "0301234567"},
            "activities": ["workshop"],
            "activities_description": "Een workshop.",
            "employees_reached": 40,
            "organisation": {
                "kvk_number": o["org_a"].kvk_number,
                "postcode": "3511 AB",
                "street": "Hoofdstraat 1",
                "city": "Utrecht",
            },
        },
        "api:v1:school_request_list": {
            "school": {
                "brin_code": "31ZZ",
                "name": "Het Lyceum",
                "street": "Schoolstraat 1",
                "postcode": "3511 AB",
                "city": "Utrecht",
                "region": o["org_a"].region.code,
            },
            "contact": {"name": "Dirk", "email": "dirk@example.nl", "phone": "0301234567"},
            "slots": [
                {"date": soon.isoformat(), "start_time": "09:00", "end_time": "10:00"},
                {
                    "date": (soon + timedelta(days=1)).isoformat(),
                    "start_time": "09:00",
                    "end_time": "10:00",
                },
            ],
            "education_level": "havo",
            "pupils": 50,
            "classes": 2,
            "work_field": WorkField.objects.filter(is_active=True).order_by("pk")[0].slug,
            "wishes": "Graag in de aula.",
        },
        "api:v1:press_journalist_list": {
            "name": "Eva Verslaggever",
            "email": "eva@krant.example.nl",
            "outlet_id": o["journalist"].outlet_id,
            "media_type": "national",
            "topics": "werkstress",
            "legal_basis": "consent",
            "agreed_on": "2026-01-15",
        },
        "api:v1:press_coverage_list": {
            "moment_id": o["moment"].pk,
            "outlet_name": "Dagblad",
            "published_on": "2026-02-01",
            "url": "https://krant.example.nl/artikel",
        },
        "api:v1:event_checkin": {"secret": o["ticket_a"].secret},
    }


# Endpoints that take no text at all.
ALLOWED_API_ENDPOINTS = {"api:v1:ticket_cancel": "an empty body: the ticket is in the path"}


def _api_operations(world) -> list[tuple]:
    """(url name, path, request-body schema, serializer class) of every POST/PUT/PATCH in the
    OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    operations = []
    for template, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method not in ("post", "put", "patch"):
                continue
            name = _url_name(template)
            path = _fill_api_path(template, name, world)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            resolved = _resolve(body["schema"], components) if body else {}
            serializer = (
                _serializer_named(body["schema"]["$ref"].rsplit("/", 1)[-1]) if body else None
            )
            operations.append((name, path, resolved, serializer))
    return operations


def _serializer_named(component: str):
    _import_project_modules()
    matches = [c for c in _subclasses(serializers.BaseSerializer) if c.__name__ == component]
    assert len(matches) == 1, f"no single serializer class for the schema's {component}"
    return matches[0]


def _is_multi_line(serializer_class, path: tuple) -> bool:
    """Whether the serializer field at `path` is free text with line breaks (a textarea)."""
    field = serializer_class()
    for step in path:
        if isinstance(field, serializers.ListSerializer | serializers.ListField):
            field = field.child
        if isinstance(field, serializers.DictField):
            field = field.child
            continue
        if isinstance(step, int):
            continue
        field = field.fields[step]
    if isinstance(field, serializers.ListField | serializers.DictField):
        field = field.child
    return field.style.get("base_template") == "textarea.html"


def _url_name(template: str) -> str:
    match = resolve(re.sub(r"\{[^}]+\}", "1", template))
    return f"{':'.join(match.namespaces)}:{match.url_name}"


def _fill_api_path(template: str, name: str, world) -> str:
    values = kwargs_for(name, world)
    for key, value in values.items():
        template = template.replace("{" + key + "}", str(value))
    return template


def _resolve(node: dict, components: dict) -> dict:
    if "$ref" in node:
        return _resolve(components[node["$ref"].rsplit("/", 1)[-1]], components)
    if "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(node["allOf"][0], components)
    node = dict(node)
    if "properties" in node:
        node["properties"] = {k: _resolve(v, components) for k, v in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        node["items"] = _resolve(node["items"], components)
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = _resolve(node["additionalProperties"], components)
    return node


NOT_TEXT_FORMATS = {"date", "date-time", "time", "binary", "decimal"}


def _text_paths(node: dict, prefix: tuple = ()) -> list[tuple]:
    """Paths of the free-text strings of a schema ("*" for any key, 0 for the first item)."""
    if node.get("readOnly"):
        return []
    kind = node.get("type")
    if kind == "string":
        if "enum" in node or node.get("format") in NOT_TEXT_FORMATS:
            return []
        return [prefix]
    paths = []
    for key, child in node.get("properties", {}).items():
        paths += _text_paths(child, (*prefix, key))
    if isinstance(node.get("items"), dict):
        paths += _text_paths(node["items"], (*prefix, 0))
    if isinstance(node.get("additionalProperties"), dict):
        paths += _text_paths(node["additionalProperties"], (*prefix, "*"))
    return paths


def _schema_at(node: dict, path: tuple) -> dict:
    for step in path:
        if step == "*":
            node = node["additionalProperties"]
        elif isinstance(step, int):
            node = node["items"]
        else:
            node = node["properties"][step]
    return node


def _concrete(path: tuple, body) -> tuple | None:
    """The path with "*" replaced by the key the base body uses (None if the body lacks it)."""
    concrete, node = [], body
    for step in path:
        if step == "*":
            if not isinstance(node, dict) or not node:
                return None
            step = next(iter(node))
        if isinstance(node, dict) and step in node or isinstance(node, list) and step < len(node):
            node = node[step]
            concrete.append(step)
        else:
            return None
    return tuple(concrete)


def _with_value(body, path: tuple, value):
    copy = json.loads(json.dumps(body))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


def _api_role(name: str) -> str:
    policy = policy_for(name)
    roles = policy.post_allowed if policy.post_allowed is not None else policy.allowed
    if roles is SAME or roles == ANY:
        return "anonymous"
    return next(role for role in ROLE_PREFERENCE if role in roles)


def _post_json(client, path: str, body):
    # ensure_ascii keeps a lone surrogate as the escape "\ud800", as a JSON client sends it.
    return client.post(
        path, data=json.dumps(body, ensure_ascii=True), content_type="application/json"
    )


def test_every_api_create_refuses_control_characters_field_by_field(world):
    bases = _api_bases(world)
    messages = dutch_messages()
    problems, swept = [], 0
    operations = _api_operations(world)
    assert {operation[0] for operation in operations} >= set(bases)
    values = [*corpus.CONTROL, corpus.LONE_SURROGATE, (LONG_LABEL, corpus.LONG)]
    for name, path, schema, serializer in operations:
        paths = _text_paths(schema)
        if name in ALLOWED_API_ENDPOINTS:
            assert not paths, f"{name} takes text now: sweep it"
            continue
        assert name in bases, f"{name}: add a valid body to _api_bases"
        base = bases[name]
        client = client_for(world, _api_role(name))
        for index, schema_path in enumerate(paths):
            path_in_body = _concrete(schema_path, base)
            assert path_in_body, f"{name}: the base body lacks {schema_path}"
            dotted = ".".join(str(step) for step in path_in_body)
            multi_line = _is_multi_line(serializer, path_in_body)
            pool = (
                [*corpus.MULTI_LINE_REFUSED, corpus.LONE_SURROGATE] if multi_line else values[:-1]
            )
            picked = [pool[(index * 4 + k) % len(pool)] for k in range(4)]
            limit = _schema_at(schema, schema_path).get("maxLength") or 0
            too_long = corpus.LONG if limit < len(corpus.LONG) else "x" * (limit + 1)
            for label, value in [*picked, pool[0], (LONG_LABEL, too_long)]:
                before = fingerprint()
                response = _post_json(client, path, _with_value(base, path_in_body, value))
                where = f"{name} {dotted} with {label}"
                swept += 1
                errors = response.json().get("errors", {}) if response.status_code == 400 else {}
                if response.status_code != 400:
                    problems.append(f"{where}: answered {response.status_code}")
                elif set(errors) != {dotted}:
                    problems.append(f"{where}: errors on {sorted(errors)}, not just {dotted}")
                elif label != LONG_LABEL and not set(errors[dotted]) & messages:
                    problems.append(f"{where}: not the Dutch message: {errors[dotted]}")
                written = changed(before, fingerprint())
                if written:
                    problems.append(f"{where}: wrote {written}")
        # Every text field at once: each is reported on its own.
        everything = base
        concrete = [_concrete(p, base) for p in paths]
        for path_in_body in concrete:
            # A line break and a bidi override: refused by single- and multi-line fields.
            everything = _with_value(everything, path_in_body, "Jan\r\n\u202eJansen")
        response = _post_json(client, path, everything)
        expected = {".".join(str(s) for s in p) for p in concrete}
        assert response.status_code == 400 and set(response.json()["errors"]) == expected, (
            name,
            response.content,
        )
    assert not problems, "\n".join(problems)
    assert swept > 100


def test_api_base_bodies_are_accepted(world):
    """Control for the sweep above: without the hostile value, each body passes validation, so
    the refusals there come from the value alone."""
    bases = _api_bases(world)
    for name, path, schema, _serializer in _api_operations(world):
        if name not in bases:
            continue
        client = client_for(world, _api_role(name))
        response = _post_json(client, path, bases[name])
        errors = response.json().get("errors", {}) if response.status_code == 400 else {}
        texts = {".".join(str(s) for s in _concrete(p, bases[name])) for p in _text_paths(schema)}
        assert not set(errors) & texts, (name, response.status_code, response.content)
        assert response.status_code < 300 or name == "api:v1:event_checkin", (
            name,
            response.status_code,
            response.content,
        )


# --- (b) Output: printable hostile values never become markup -------------------------------

# Columns whose value is not free text (codes, keys, template names, hashes, configuration):
# replacing them would break the row, not test escaping.
NOT_FREE_TEXT = {
    "password",
    "secret",
    "key",
    "code",
    "number",
    "template",
    "language",
    "message_id",
    "claim_token",
    "currency",
    "method",
    "type",
    "prefix",
    "key_hash",
    "request_hash",
    "client_key",
    "client_fingerprint",
    "email_hash",
    "content_type",
    "action",
    "object_type",
    "object_id",
    "stripe_session_id",
    "stripe_payment_intent_id",
    "stripe_refund_id",
    "idempotency_key",
    "event_id",
    "seller_kvk",
    "seller_vat_number",
    "seller_iban",
    "buyer_vat_number",
    "vat_number",
}
HOSTILE_URL = 'https://example.nl/?q="><xss-probe xss-attr>'


def poison_world() -> int:
    """Every free-text column of every row gets a printable hostile value (rotating through the
    corpus, cut to the column's length; unique columns get the row id appended). Returns how
    many values were written."""
    written = 0
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in PROJECT_APPS or meta.proxy or not meta.managed:
            continue
        columns = [
            f
            for f in meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField)
            and not f.choices
            and not f.primary_key
            and not isinstance(f, models.EmailField | models.SlugField)
            and f.name not in NOT_FREE_TEXT
            and not (isinstance(f, models.CharField) and f.validators and not f.max_length)
            and f.name not in {"kvk_number", "brin_code", "postcode"}
        ]
        if not columns:
            continue
        for row_index, pk in enumerate(
            meta.default_manager.order_by("pk").values_list("pk", flat=True)
        ):
            values = {}
            for column_index, column in enumerate(columns):
                if isinstance(column, models.URLField):
                    value = HOSTILE_URL
                else:
                    value = corpus.PRINTABLE[(row_index + column_index) % len(corpus.PRINTABLE)]
                if column.unique:
                    value = f"{value} {pk}"
                    value = value[-column.max_length :] if column.max_length else value
                values[column.attname] = corpus.fit(value, column.max_length)
            meta.default_manager.filter(pk=pk).update(**values)
            written += len(values)
    return written


# template -> the context its outbox row needs, from the world (as tests/mail/test_templates).
def _mail_rows(world) -> list[OutboxMail]:
    o = world.objects
    certificate = Certificate.objects.create(
        kind=Certificate.Kind.ATTENDEE, event=o["event_x"], ticket=o["ticket_a"], name="x"
    )
    contexts = {
        "booking_confirmed": {"registration_id": o["reg_a"].pk},
        "booking_pending_approval": {"registration_id": o["reg_a"].pk},
        "booking_rejected": {"registration_id": o["reg_a"].pk, "reason": corpus.PRINTABLE[1]},
        "booking_expired": {"registration_id": o["reg_a"].pk},
        "ticket_confirmed": {"ticket_id": o["ticket_a"].pk},
        "ticket_cancelled": {"ticket_id": o["ticket_a"].pk},
        "event_changed": {"ticket_id": o["ticket_a"].pk},
        "event_cancelled": {"ticket_id": o["ticket_a"].pk},
        "event_reminder": {"ticket_id": o["ticket_a"].pk},
        "waitlist_joined": {"entry_id": o["waitlist"].pk},
        "waitlist_offer": {"entry_id": o["waitlist"].pk},
        "participation_confirmed": {"participation_id": o["participation"].pk},
        "certificate_issued": {"certificate_id": certificate.pk},
    }
    return [
        OutboxMail.objects.create(
            key=f"hostile:{template}",
            template=template,
            to_email="anouk@example.nl",
            to_name=corpus.PRINTABLE[1],
            context=context,
            event=o["event_x"],
        )
        for template, context in contexts.items()
    ]


def _extra_pages(world) -> list[tuple[str, str, str]]:
    """Pages the URLconf walk opens only once, with the other rows they can show: the detail
    and HTML view of every outbox row, the press invitation preview."""
    o = world.objects
    pages = []
    for mail in OutboxMail.objects.order_by("pk"):
        pages.append(
            ("communications:outbox_detail", f"/nl/communications/outbox/{mail.pk}/", "admin")
        )
        pages.append(
            ("communications:outbox_html", f"/nl/communications/outbox/{mail.pk}/html/", "admin")
        )
    pages.append(
        (
            "press:staff_invite",
            f"/nl/pers/beheer/momenten/{o['moment'].pk}/uitnodigen/?preview={o['journalist'].pk}",
            "admin",
        )
    )
    return pages


@pytest.fixture
def hostile_world(world):
    _mail_rows(world)
    assert poison_world() > 100
    return world


def test_no_page_turns_a_hostile_value_into_markup(hostile_world):
    problems: list[str] = []
    shown_on: set[str] = set()
    pages = page_routes(hostile_world, include_admin=True) + _extra_pages(hostile_world)
    for name, path, role in pages:
        response = client_for(hostile_world, role).get(path)
        if response.status_code >= 500:
            problems.append(f"{name} {path}: {response.status_code}")
            continue
        if "html" not in response.headers.get("Content-Type", ""):
            continue
        found, text = inspect(response.content.decode())
        for problem in found:
            problems.append(f"{name} {path} (as {role}): {problem}")
        if "<xss-probe" in text:
            shown_on.add(name)
    assert not problems, "\n".join(problems)
    # The sweep saw the values on the pages that matter (escaped, as text): it is not vacuous.
    must_show = {
        "communications:outbox_list",
        "communications:outbox_detail",
        "communications:outbox_html",
        "mailings:detail",
        "press:staff_invite",
        "backoffice:event_dashboard",
        "organisations:booking",
        "participants:booking_manage",
        "events:detail",
        "schools:request_plan",
    }
    assert must_show <= shown_on, f"hostile values not shown on {sorted(must_show - shown_on)}"


def test_mail_previews_escape_the_plain_text_body(hostile_world):
    """The reported defect: the plain-text body is rendered with autoescape off and came back
    marked safe, so the outbox detail page printed a visitor's <meta http-equiv="refresh">
    as live HTML. The text itself stays as typed (it is plain text); the page escapes it."""
    client = client_for(hostile_world, "admin")
    for mail in OutboxMail.objects.order_by("pk"):
        preview = mail_preview(mail)
        assert MARKER in preview.text  # the hostile names are in the mail, as typed
        assert not isinstance(preview.text, SafeData) and not isinstance(preview.subject, SafeData)
        html = client.get(f"/nl/communications/outbox/{mail.pk}/").content.decode()
        assert not live_markup(html), (mail.template, live_markup(html))
        assert preview.text.strip()[:60] in text_content(html)


def test_every_queued_mail_escapes_hostile_values_in_its_html(hostile_world):
    mails = list(OutboxMail.objects.order_by("pk"))
    assert len(mails) >= 13
    for mail in mails:
        message = render_mail(mail)
        html = message.alternatives[0][0]
        assert not live_markup(html), (mail.template, live_markup(html))
        assert "xss" in text_content(html), mail.template  # the value is there, as text


# --- (b) Printable hostile values are accepted through the public forms, stored as typed, and
# come back escaped in the mail they cause -----------------------------------------------------

# Public create forms whose filled-in submission must succeed (a redirect to the next page).
CREATE_FORMS = [
    "participants:booking_create",
    "participants:participation_create",
    "schools:request_create",
    "organisations:attendee_add",
    "participants:ticket_manage",
]
# Inputs whose format is checked (so they keep the valid filler value).
FORMATTED = ("email", "kvk", "postcode", "brin", "phone", "website", "url")


def _shown_errors(html: str) -> list[str]:
    root = parse(html)
    return [
        " ".join("".join(e.itertext()).split())
        for e in root.iter()
        if "error" in (e.get("class") or "") or e.get("role") == "alert"
    ]


def _stored_as_typed(value: str) -> bool:
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in PROJECT_APPS:
            continue
        for column in meta.concrete_fields:
            if (
                isinstance(column, models.CharField | models.TextField)
                and meta.default_manager.filter(**{column.attname: value}).exists()
            ):
                return True
    return False


def test_public_forms_accept_printable_hostile_values_and_store_them_as_typed(world):
    """Control for the form sweep, and the input side of (b): every text input of each create
    form filled with a printable hostile value is accepted and stored exactly as typed."""
    routes = {name: (path, role) for name, path, role in page_routes(world)}
    for number, name in enumerate(CREATE_FORMS):
        path, role = routes[name]
        client = client_for(world, role)
        page = client.get(path).content.decode()
        form = next(f for f in post_forms(page, path) if f.texts)
        data = {k: list(v) for k, v in form.data.items()}
        typed = {}
        for index, text in enumerate(form.texts):
            formatted = any(part in text.name.lower() for part in FORMATTED)
            if text.input_type != "textarea" and (formatted or text.input_type != "text"):
                continue
            value = corpus.PRINTABLE[(number * 5 + index) % len(corpus.PRINTABLE)]
            value = corpus.fit(value, text.max_length or 200).strip()
            data[text.name] = [value]
            typed[text.name] = value
        response = client.post(form.action, data)
        assert response.status_code == 302, (name, _shown_errors(response.content.decode()))
        not_stored = {k: v for k, v in typed.items() if not _stored_as_typed(v)}
        assert not not_stored, (name, not_stored)
    # The mails these caused (booking, sign-up and school request confirmations) show the
    # values as text, never as markup.
    mails = OutboxMail.objects.filter(
        template__in=["booking_confirmed", "participation_confirmed", "school_request_received"]
    )
    assert mails.count() >= 3
    for mail in mails:
        html = render_mail(mail).alternatives[0][0]
        assert not live_markup(html), (mail.template, live_markup(html))


def test_booking_confirmation_mail_with_hostile_names_has_no_live_markup(world):
    """Item 3 of the brief: a booking made through the API with hostile names; the confirmation
    mail's HTML (the file the recipient's mail client renders) holds the names as text."""
    client = client_for(world, "org_a_api")
    names = [v for v in corpus.PRINTABLE if len(v) <= 200]
    body = {
        "event": world.event_x.pk,
        "booker": {"name": names[1], "email": "booker@example.nl"},
        "attendees": [
            {"name": name, "email": f"a{i}@example.nl", "ticket_type": world.type_x.pk}
            for i, name in enumerate(names[: world.event_x.max_tickets_per_booking])
        ],
    }
    response = _post_json(client, "/api/v1/bookings/", body)
    assert response.status_code == 201, response.content
    assert response.json()["booker"]["name"] == names[1]  # stored as typed
    mail = OutboxMail.objects.get(template="booking_confirmed", to_email="booker@example.nl")
    message = render_mail(mail)
    html = message.alternatives[0][0]
    assert not live_markup(html), live_markup(html)
    shown = text_content(html)
    assert names[1] in shown and "<xss-probe>Jansen</xss-probe>" in shown
    # The plain-text part is not HTML: the value is there as typed, and it must not reach a
    # page unescaped (test_mail_previews_escape_the_plain_text_body).
    assert names[1] in message.body


def test_url_fields_refuse_javascript_urls(world):
    """A stored URL becomes an href: only http(s) may come in, through forms and the API."""
    problems = []
    for name, path, role in page_routes(world):
        client = client_for(world, role)
        page = client.get(path)
        if "text/html" not in page.headers.get("Content-Type", ""):
            continue
        for form in post_forms(page.content.decode(), path):
            for text in form.texts:
                if text.input_type != "url":
                    continue
                for value in ("javascript:alert(1)//xss", "data:text/html,<xss-probe>"):
                    before = fingerprint()
                    response = client.post(form.action, form.with_value(text.name, value))
                    if response.status_code not in (200, 400) or not field_error(
                        response.content.decode(), text.name
                    ):
                        problems.append(f"{name} {text.name}: accepted {value!r}")
                    if changed(before, fingerprint()):
                        problems.append(f"{name} {text.name}: wrote with {value!r}")
    client = client_for(world, "admin")
    body = _api_bases(world)["api:v1:press_coverage_list"]
    response = _post_json(client, "/api/v1/press/coverage/", {**body, "url": "javascript:x//"})
    assert response.status_code == 400 and "url" in response.json()["errors"]
    assert not problems, "\n".join(problems)
