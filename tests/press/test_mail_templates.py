"""Every press mail renders in Dutch and English, text and HTML, with the moment, the personal
links and no template leftovers."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from communications.models import OutboxMail
from press import links, services

from . import helpers as h

pytestmark = pytest.mark.django_db


def assert_link(body: str, segment: str, load, expected) -> None:
    """The mail holds a personal link (in the mail's language) that opens `expected`.
    Tokens carry a timestamp, so compare what they open, not the strings."""
    found = re.findall(rf"/(?:nl|en)/pers/{segment}/([^/\s\"]+)/", body)
    assert found, body
    assert all(load(token) == expected for token in found)


TEMPLATES = [
    "press_invitation",
    "press_invitation_reminder",
    "press_invitation_accepted",
    "press_invitation_declined",
    "press_accreditation_received",
    "press_interview_booked",
    "press_moment_changed",
    "press_moment_cancelled",
]


@pytest.fixture
def rows():
    sp = h.spokesperson()
    m = h.moment(
        title="Werkbezoek Zorg & Welzijn",
        embargo_until=timezone.now() + timedelta(days=3),
        spokespersons=[sp],
    )
    slot = services.interview_slot_create(
        moment=m,
        spokesperson=sp,
        starts_at=m.event.starts_at,
        ends_at=m.event.starts_at + timedelta(minutes=20),
    )
    j = h.journalist(name="Joost de Wit")
    inv = h.invite(m, j)
    services.press_accreditation_request(
        invitation=inv,
        name="Joost de Wit",
        outlet_name="RTV Oost",
        crew_size=2,
        camera=True,
        photo=False,
    )
    return {"invitation": inv, "slot": slot, "journalist": j, "moment": m}


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_press_mail_renders(rows, template, language):
    mail = OutboxMail(
        pk=1,
        key=template,
        template=template,
        to_email="joost@example.nl",
        to_name="Joost de Wit",
        language=language,
        context={"invitation_id": rows["invitation"].pk, "slot_id": rows["slot"].pk},
    )
    message = h.rendered(mail)
    html = message.alternatives[0][0]
    assert "Werkbezoek Zorg & Welzijn" in message.subject
    assert "Werkbezoek Zorg & Welzijn" in message.body
    assert "Werkbezoek Zorg &amp; Welzijn" in html
    for body in (message.body, html.replace("&amp;", "&")):
        assert "{{" not in body and "{%" not in body
        assert "Joost de Wit" in body
        assert_link(body, "afmelden", links.journalist_from_removal_token, rows["journalist"])
    embargo = "Onder embargo tot" if language == "nl" else "Under embargo until"
    assert embargo in message.body
    assert f'lang="{language}"' in html
    if template not in ("press_moment_cancelled",):
        assert_link(message.body, "uitnodiging", links.invitation_from_token, rows["invitation"])
    if template == "press_interview_booked":
        assert rows["slot"].spokesperson.person.name in message.body
    if template == "press_accreditation_received":
        assert "RTV Oost" in message.body
