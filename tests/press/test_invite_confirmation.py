"""Inviting journalists (issue 13, item 4): nothing is ticked for the organiser, the ticked
ones are shown back for confirmation (name, outlet, address) before anything is queued, and
only the confirm queues invitations, to exactly those journalists.

An invitation links to embargoed material, so a journalist who was not chosen must never get
one: the checks below count invitations, outbox rows and audit entries after every step, for
several selection sizes (among them two of five, the reported case), every filter, and a
corpus of tampered confirmations.
"""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from communications.models import OutboxMail
from organisations.models import Region
from press import links, services
from press.models import PressInvitation
from privacy.models import AuditEntry
from tests.factories import UserFactory

from . import helpers as h

pytestmark = pytest.mark.django_db


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.checkboxes: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "checkbox":
            self.checkboxes.append(attributes)


def checkboxes(html: str) -> list[dict]:
    parser = _Inputs()
    parser.feed(html)
    return parser.checkboxes


def recipients(html: str) -> list[tuple[str, str, str]]:
    """The rows of the confirmation page's recipients table: (name, outlet, address)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", body)


def sent_state() -> tuple:
    return (
        sorted(PressInvitation.objects.values_list("moment_id", "journalist_id")),
        sorted(OutboxMail.objects.values_list("key", flat=True)),
        AuditEntry.objects.filter(action="press_invitation.send").count(),
    )


@pytest.fixture
def press_list():
    """Five journalists to choose from, one removed from the list, one invited already."""
    utrecht, groningen = Region.objects.get(code="12"), Region.objects.exclude(code="12").first()
    nos, trouw = h.outlet("NOS"), h.outlet("Trouw")
    five = [
        h.journalist(name="Anna Smit", outlet=nos, media_type="national", region=utrecht),
        h.journalist(name="Bas Kok", outlet=nos, media_type="regional", region=utrecht),
        h.journalist(name="Cor Landelijk", outlet=trouw, media_type="national", topics="onderwijs"),
        h.journalist(name="Dina Vak", outlet=trouw, media_type="trade", region=groningen),
        h.journalist(name="Eva Online", outlet=trouw, media_type="online", region=groningen),
    ]
    removed = h.journalist(name="Frits Weg", outlet=nos)
    services.journalist_remove(journalist=removed)
    moment = h.moment(title="Werkbezoek minister", embargo_until=timezone.now() + timedelta(days=2))
    invited = h.journalist(name="Gijs Al", outlet=nos)
    h.invite(moment, invited)
    return {"moment": moment, "five": five, "removed": removed, "invited": invited}


def _url(moment) -> str:
    return reverse("press:staff_invite", kwargs={"pk": moment.pk})


def test_nothing_is_ticked_on_the_invite_page_whatever_the_filter(organiser_client, press_list):
    moment, five = press_list["moment"], press_list["five"]
    utrecht = Region.objects.get(code="12")
    outlet = five[0].outlet
    invitable = {j.pk for j in five}
    filters = [
        {},
        {"media_type": "national"},
        {"media_type": "trade"},
        {"media_type": "online"},
        {"region": utrecht.pk},
        {"region": five[3].region_id},
        {"topic": "werkstress"},
        {"topic": "onderwijs"},
        {"outlet": outlet.pk},
        {"media_type": "national", "outlet": outlet.pk},
        {"media_type": "regional", "region": utrecht.pk, "topic": "burn"},
        {"preview": five[1].pk},
        {"media_type": "national", "preview": five[0].pk},
        {"region": "999999"},  # an invalid filter shows the whole list
        {"media_type": "nonsense", "topic": "x" * 300},
    ]
    for query in filters:
        page = organiser_client.get(_url(moment), query)
        assert page.status_code == 200, query
        boxes = checkboxes(page.content.decode())
        assert boxes, f"no journalist to tick for {query}: the check would prove nothing"
        assert not [b for b in boxes if "checked" in b], query
        # Only journalists who can still be invited have a box at all.
        assert {int(b["value"]) for b in boxes} <= invitable, query
    # After a refused selection the page ticks nothing either.
    page = organiser_client.post(_url(moment), {"step": "review", "journalist": ["999999"]})
    assert page.status_code == 400
    boxes = checkboxes(page.content.decode())
    assert boxes and not [b for b in boxes if "checked" in b]


@pytest.mark.parametrize(
    "picked",
    [(0,), (1, 3), (0, 4), (0, 1, 2), (1, 2, 3, 4), (0, 1, 2, 3, 4)],
    ids=lambda p: f"{len(p)}-of-5",
)
def test_ticking_k_of_n_invites_exactly_those_k(organiser_client, press_list, picked):
    moment, five = press_list["moment"], press_list["five"]
    chosen = [five[i] for i in picked]
    before = sent_state()

    review = organiser_client.post(
        _url(moment), {"step": "review", "journalist": [j.pk for j in chosen]}
    )
    assert review.status_code == 200
    html = review.content.decode()
    # The confirmation lists exactly the chosen ones, and nothing has been queued yet.
    assert sorted(recipients(html)) == sorted(
        (j.person.name, j.outlet.name, j.person.email) for j in chosen
    )
    assert sent_state() == before

    confirmed = organiser_client.post(
        _url(moment), {"step": "confirm", "selection": h.selection_token(html)}
    )
    assert confirmed.status_code == 302
    invited_now = set(
        moment.invitations.exclude(journalist=press_list["invited"]).values_list(
            "journalist_id", flat=True
        )
    )
    assert invited_now == {j.pk for j in chosen}
    mails = OutboxMail.objects.filter(template="press_invitation")
    assert sorted(m.to_email for m in mails) == sorted(
        [press_list["invited"].person.email, *(j.person.email for j in chosen)]
    )
    assert AuditEntry.objects.filter(action="press_invitation.send").count() == before[2] + 1


def test_a_post_of_ticked_journalists_only_shows_them_back(organiser_client, press_list):
    """What the page sent before the fix (the ticked ids, no step) queues nothing now."""
    moment, five = press_list["moment"], press_list["five"]
    before = sent_state()
    for data in ({"journalist": [five[0].pk, five[1].pk]}, {"journalist": [j.pk for j in five]}):
        page = organiser_client.post(_url(moment), data)
        assert page.status_code == 200
        assert len(recipients(page.content.decode())) == len(data["journalist"])
        assert sent_state() == before


def test_a_selection_off_the_press_list_is_refused(organiser_client, press_list):
    moment, five = press_list["moment"], press_list["five"]
    before = sent_state()
    bad = [
        [],
        ["999999"],
        ["abc"],
        [str(press_list["removed"].pk)],
        [str(press_list["invited"].pk)],
        [str(five[0].pk), str(press_list["removed"].pk)],
        [str(five[0].pk), "-1"],
    ]
    for ids in bad:
        page = organiser_client.post(_url(moment), {"step": "review", "journalist": ids})
        assert page.status_code == 400, ids
        body = page.content.decode()
        assert 'name="selection"' not in body and 'role="alert"' in body
        assert sent_state() == before, ids


def _review_token(client, moment, journalists) -> str:
    page = client.post(_url(moment), {"step": "review", "journalist": [j.pk for j in journalists]})
    assert page.status_code == 200
    return h.selection_token(page.content.decode())


def test_a_tampered_or_foreign_confirmation_is_refused_and_sends_nothing(
    client, organiser, organiser_client, press_list
):
    moment, five = press_list["moment"], press_list["five"]
    token = _review_token(organiser_client, moment, five[:2])
    other_moment = h.moment(title="Ander moment")
    foreign_moment = _review_token(organiser_client, other_moment, five[:2])
    colleague = UserFactory(is_staff=True, is_superuser=True, email="collega@example.nl")
    payload = {"moment": moment.pk, "user": organiser.pk, "journalists": [j.pk for j in five]}
    forged = [
        signing.dumps(payload, salt="press.links.other", compress=False),
        signing.dumps(payload, key="not-the-secret-key", salt="press.links.invite_selection"),
        links.invite_selection_token(
            moment_id=moment.pk, user_id=colleague.pk, journalist_ids=[j.pk for j in five]
        ),
    ]
    value, signature = token.rsplit(":", 1)
    corpus = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        f"{value}x:{signature}",
        value,
        foreign_moment,
        *forged,
        "",
        "x" * 5000,
    ]
    before = sent_state()
    for selection in corpus:
        response = organiser_client.post(_url(moment), {"step": "confirm", "selection": selection})
        assert response.status_code == 400, selection[:40]
        assert sent_state() == before
    # Ids without the signed list, or a confirm without anything.
    for data in ({"step": "confirm", "journalist": [five[0].pk]}, {"step": "confirm"}):
        assert organiser_client.post(_url(moment), data).status_code == 400
        assert sent_state() == before
    # The colleague cannot confirm what the organiser reviewed.
    client.force_login(colleague)
    assert client.post(_url(moment), {"step": "confirm", "selection": token}).status_code == 400
    assert sent_state() == before
    # An hour later the confirmation has expired.
    with freeze_time(timezone.now() + timedelta(hours=1, minutes=1)):
        client.force_login(organiser)
        response = client.post(_url(moment), {"step": "confirm", "selection": token})
        assert response.status_code == 400
    assert sent_state() == before


def test_a_confirmation_that_no_longer_holds_sends_nothing(organiser_client, press_list):
    moment, five = press_list["moment"], press_list["five"]
    first = _review_token(organiser_client, moment, five[:3])
    second = _review_token(organiser_client, moment, five[2:4])
    # One of the three asks to be removed from the press list before the confirm.
    services.journalist_remove(journalist=five[1])
    before = sent_state()
    response = organiser_client.post(_url(moment), {"step": "confirm", "selection": first})
    assert response.status_code == 409
    assert sent_state() == before
    # The second list is confirmed; replaying it (or the first) sends nothing more.
    assert (
        organiser_client.post(_url(moment), {"step": "confirm", "selection": second}).status_code
        == 302
    )
    after = sent_state()
    assert len(after[0]) == len(before[0]) + 2
    for token in (second, first):
        response = organiser_client.post(_url(moment), {"step": "confirm", "selection": token})
        assert response.status_code == 409
        assert sent_state() == after


def test_service_sends_to_the_confirmed_list_or_to_nobody(press_list):
    moment, five = press_list["moment"], press_list["five"]
    before = sent_state()
    for ids in (
        [],
        [five[0].pk, five[0].pk],
        [five[0].pk, 999999],
        [five[0].pk, press_list["removed"].pk],
        [five[0].pk, press_list["invited"].pk],
    ):
        with pytest.raises(services.RuleViolation) as exc:
            services.press_invitations_send_confirmed(moment=moment, journalist_ids=ids)
        assert exc.value.code == "selection_changed"
        assert sent_state() == before
    sent = services.press_invitations_send_confirmed(
        moment=moment, journalist_ids=[five[3].pk, five[1].pk]
    )
    assert {i.journalist_id for i in sent} == {five[3].pk, five[1].pk}
