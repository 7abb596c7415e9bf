"""Route discovery, form parsing and a database fingerprint for the hostile-corpus sweeps.

Routes come from the URLconf (the walk and the world of tests/permissions), so a new page or
form is swept without anyone adding it here; each route is opened as a role its permission
policy admits.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urljoin

from django.apps import apps
from django.utils import timezone

from tests.permissions.policy import ANY, SAME
from tests.permissions.test_matrix import all_patterns, fill, policy_for

from .markup import parse

PROJECT_APPS = {
    "accounts",
    "organisations",
    "events",
    "participants",
    "payments",
    "communications",
    "api",
    "press",
    "schools",
    "mailings",
    "privacy",
    "backoffice",
}
# Columns a refused request may still touch without writing any of its input.
VOLATILE = {("api", "apitoken", "last_used_at")}

# The role a route is opened as: the first of these its policy admits.
ROLE_PREFERENCE = [
    "admin",
    "org_a_admin",
    "org_a_member",
    "ambassador",
    "manager_c",
    "checkin_x",
    "journalist",
    "org_a_api",
    "anonymous",
]
# Routes the permission matrix does not walk (its policy lists no methods) but that show a
# page with a form to the right visitor.
ROLE_OVERRIDES = {"organisations:invitation_accept": "anonymous"}


def role_for(name: str) -> str | None:
    if name in ROLE_OVERRIDES:
        return ROLE_OVERRIDES[name]
    policy = policy_for(name)
    if policy is None:
        return None
    if policy.allowed is SAME or policy.allowed == ANY:
        return "anonymous"
    for role in ROLE_PREFERENCE:
        if role in policy.allowed:
            return role
    return None


def page_routes(world, *, include_admin: bool = False) -> list[tuple[str, str, str]]:
    """(url name, path, role) for every named page route the world can fill."""
    routes = []
    for name, route in all_patterns():
        if not name or name.startswith(("api:", "feeds:")) or name == "set_language":
            continue
        if name.startswith("admin:") and not include_admin:
            continue
        policy = policy_for(name)
        if policy is None or ("GET" not in policy.methods and name not in ROLE_OVERRIDES):
            continue
        role = role_for(name)
        path = fill(route, name, world)
        if role is None or path is None:
            continue
        routes.append((name, path, role))
    return routes


# --- Forms -----------------------------------------------------------------------------------


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


TEXT_TYPES = {"text", "email", "tel", "url", "search"}


@dataclass
class TextField:
    name: str
    id: str
    multi_line: bool
    input_type: str
    max_length: int | None = None


@dataclass
class PostForm:
    page: str
    action: str
    data: dict[str, list[str]] = field(default_factory=dict)
    texts: list[TextField] = field(default_factory=list)

    def with_value(self, name: str, value: str) -> dict[str, list[str]]:
        data = {k: list(v) for k, v in self.data.items()}
        data[name] = [value]
        return data


_unique = itertools.count(1)


def _benign(name: str, input_type: str, element, position: int = 0) -> str:
    """A valid value for an empty input, so the only wrong value in a post is the hostile one.
    `position` (the how-manieth input of the form) spreads dates over different days."""
    lowered = name.lower()
    soon = timezone.localdate() + timedelta(days=60 + position)
    if input_type == "date":
        return soon.isoformat()
    if input_type == "time":
        return "11:00" if "end" in lowered or "until" in lowered else "10:00"
    if input_type == "datetime-local":
        return f"{soon.isoformat()}T10:00"
    if input_type == "number":
        return element.get("min") or "1"
    if input_type == "email" or "email" in lowered:
        return f"veilig-{next(_unique)}@example.nl"  # a new person each time
    if input_type == "tel" or "phone" in lowered:
        return "0301234567"
    if input_type == "url" or "website" in lowered or lowered.endswith("url"):
        return "https://example.nl/"
    if "kvk" in lowered:
        return "87654321"
    if "postcode" in lowered:
        return "3511 AB"
    if "brin" in lowered:
        return "31ZZ"
    return "Veilige Waarde"


def post_forms(html: str, page: str) -> list[PostForm]:
    """Every POST form of a page, with the values a browser would send (empty inputs filled
    with valid values; the first option of a choice nobody made)."""
    forms = []
    for form in parse(html).iter():
        if local(form.tag) != "form" or (form.get("method") or "get").lower() != "post":
            continue
        spec = PostForm(page=page, action=urljoin(page, form.get("action") or page))
        radios: dict[str, list[str]] = {}  # radio and checkbox groups
        for element in form.iter():
            tag, name = local(element.tag), element.get("name")
            if not name or element.get("disabled") is not None:
                continue
            if tag == "input":
                input_type = (element.get("type") or "text").lower()
                if input_type in {"submit", "button", "image", "reset", "file", "password"}:
                    continue
                if input_type in {"checkbox", "radio"}:
                    radios.setdefault(name, []).append(element.get("value", "on"))
                    checked = element.get("checked") is not None
                    if checked or (input_type == "checkbox" and element.get("required")):
                        spec.data.setdefault(name, []).append(element.get("value", "on"))
                    continue
                value = element.get("value", "")
                if not value and input_type != "hidden":
                    value = _benign(name, input_type, element, len(spec.data))
                spec.data.setdefault(name, []).append(value)
                if input_type in TEXT_TYPES:
                    spec.texts.append(TextField(name, element.get("id", ""), False, input_type))
            elif tag == "textarea":
                spec.data[name] = ["".join(element.itertext()) or "Veilige tekst"]
                limit = element.get("maxlength")
                spec.texts.append(
                    TextField(
                        name,
                        element.get("id", ""),
                        True,
                        "textarea",
                        int(limit) if limit and limit.isdigit() else None,
                    )
                )
            elif tag == "select":
                options = [o for o in element.iter() if local(o.tag) == "option"]
                values = [o.get("value", "".join(o.itertext())) for o in options]
                chosen = [
                    v for o, v in zip(options, values, strict=True) if o.get("selected") is not None
                ]
                if not [v for v in chosen if v] and element.get("multiple") is None:
                    chosen = [v for v in values if v][:1]
                spec.data[name] = chosen
        # A radio group, or a group of checkboxes (one question), with nothing chosen: the
        # first choice. A single checkbox stays as it is.
        for name, values in radios.items():
            if len(values) > 1:
                spec.data.setdefault(name, values[:1])
        forms.append(spec)
    return forms


def field_error(html: str, name: str) -> str | None:
    """The error text shown with the input called `name` (its `<id>_error` element or what its
    aria-describedby points at), or None when the input shows no error."""
    root = parse(html)
    by_id = {element.get("id"): element for element in root.iter() if element.get("id")}
    for element in root.iter():
        if local(element.tag) not in {"input", "textarea"} or element.get("name") != name:
            continue
        ids = [f"{element.get('id')}_error", *(element.get("aria-describedby") or "").split()]
        texts = [
            " ".join("".join(by_id[i].itertext()).split())
            for i in dict.fromkeys(ids)
            if i in by_id and not i.endswith("_helptext")
        ]
        texts = [t for t in texts if t]
        if texts:
            return " ".join(texts)
    return None


# --- Database -------------------------------------------------------------------------------


def fingerprint() -> dict[str, str]:
    """Every row of every project table (volatile bookkeeping columns left out)."""
    state = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in PROJECT_APPS or meta.proxy or not meta.managed:
            continue
        columns = [
            f.attname
            for f in meta.concrete_fields
            if (meta.app_label, meta.model_name, f.name) not in VOLATILE
        ]
        rows = meta.default_manager.order_by("pk").values_list(*columns)
        state[meta.label] = repr(list(rows))
    return state


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        label for label in before.keys() | after.keys() if before.get(label) != after.get(label)
    )
