"""Two organisers press "send" at the same moment: real HTTP requests to a live server on real
PostgreSQL, each request in its own thread and database connection.

Two layers keep it at one mail per person: the mailing row lock (the second request waits,
then sees "already sent", so one send job is queued) and the outbox key
`mailing:{id}:{email}`. The control removes the lock: both requests then pass the status
check (two "mailing.send" audit entries, two send jobs), and the outbox key alone still keeps
it at one mail per address.
"""

import contextlib
import re
import threading

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import translation

from communications.models import OutboxMail
from mailings import selectors, services
from mailings.models import Mailing
from privacy.models import AuditEntry
from tests.factories import EventFactory, UserFactory

from .helpers import attendee, attendees_mailing

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

QUEUED = "The mailing has been queued for 5 recipients."
ALREADY = "This mailing has already been sent."


@pytest.fixture(autouse=True)
def no_mail_delivery(monkeypatch):
    # The send jobs run (eagerly, in the request threads); the mails' delivery does not.
    monkeypatch.setattr("communications.services._queue_send", lambda mail_ids: None)


@pytest.fixture
def widened(monkeypatch):
    """Hold each request after its status check until the other arrives (at most 1 s). Only
    the two requests wait, not the send jobs that read the recipients again."""
    barrier = threading.Barrier(2)
    calls = iter(range(1_000_000))
    original = selectors.mailing_recipients

    def slow(**kwargs):
        if next(calls) < 2:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=1)
        return original(**kwargs)

    monkeypatch.setattr(selectors, "mailing_recipients", slow)


def organiser_session(live_server, user, detail_url: str) -> tuple[requests.Session, str]:
    """A browser-like session of a logged-in organiser and the form's CSRF token."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    page = session.get(live_server.url + detail_url, timeout=30)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session, token


def press_send_at_once(live_server, mailing) -> list[str]:
    """Two organisers, each in their own session, press "send"; returns what each page says."""
    with translation.override("en"):
        detail = reverse("mailings:detail", args=[mailing.pk])
        send = reverse("mailings:send", args=[mailing.pk])
    sessions = [
        organiser_session(live_server, UserFactory(is_staff=True, is_superuser=True), detail)
        for _ in range(2)
    ]
    start = threading.Barrier(2)
    outcomes: list = [None, None]

    def run(i: int) -> None:
        session, token = sessions[i]
        start.wait()
        try:
            response = session.post(
                live_server.url + send, data={"csrfmiddlewaretoken": token}, timeout=60
            )
            found = [m for m in (QUEUED, ALREADY) if m in response.text]
            outcomes[i] = (response.status_code, *found)
        except Exception as exc:  # noqa: BLE001 - every outcome is asserted
            outcomes[i] = repr(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    return outcomes


def setup_mailing():
    event = EventFactory()
    for n in range(5):
        attendee(event, name=f"P{n}", email=f"p{n}@example.nl")
    return attendees_mailing(event, UserFactory(is_staff=True))


def test_two_organisers_sending_at_once_queue_one_job(live_server, widened):
    mailing = setup_mailing()
    outcomes = press_send_at_once(live_server, mailing)
    assert sorted(outcomes) == sorted([(200, ALREADY), (200, QUEUED)])
    assert AuditEntry.objects.filter(action="mailing.send").count() == 1
    assert OutboxMail.objects.filter(template="mailing").count() == 5
    mailing.refresh_from_db()
    assert (mailing.status, mailing.recipients_done) == (Mailing.Status.SENT, 5)


def test_control_without_the_row_lock_both_pass_but_keys_hold(live_server, widened, monkeypatch):
    mailing = setup_mailing()
    monkeypatch.setattr(services, "_mailing_for_update", lambda pk: Mailing.objects.get(pk=pk))
    outcomes = press_send_at_once(live_server, mailing)
    # The race is real: both requests got past "already sent?" and each queued a job...
    assert outcomes == [(200, QUEUED), (200, QUEUED)]
    assert AuditEntry.objects.filter(action="mailing.send").count() == 2
    # ...and the outbox key still allows one mail per address.
    keys = list(OutboxMail.objects.filter(template="mailing").values_list("key", flat=True))
    assert sorted(keys) == [f"mailing:{mailing.pk}:p{n}@example.nl" for n in range(5)]
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT
