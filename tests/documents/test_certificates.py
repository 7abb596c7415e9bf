"""Certificates: who gets one, bulk runs split per person, idempotency, verification."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import RuleViolation
from communications.documents import (
    certificate_issue,
    certificate_revoke,
    certificate_run_execute,
    certificate_run_start,
)
from communications.models import Certificate, CertificateRun, OutboxMail
from communications.renderers.attachments import render_attachment
from participants.models import CampaignParticipation, Ticket
from tests.factories import (
    CampaignParticipationFactory,
    CampaignWeekFactory,
    EventFactory,
    OrganisationFactory,
    RegistrationFactory,
    TicketFactory,
    UserFactory,
)

from .helpers import pdf_pages, pdf_text

pytestmark = pytest.mark.django_db


def _stored(certificate: Certificate) -> bytes:
    certificate.refresh_from_db()
    assert certificate.pdf.name
    with default_storage.open(certificate.pdf.name, "rb") as handle:
        return handle.read()


def _ended(factory=EventFactory, **kwargs):
    """An event that ended an hour ago: certificates are only issued after the end (the edges
    themselves: test_certificate_edges.py)."""
    return factory(
        starts_at=timezone.now() - timedelta(days=5),
        ends_at=timezone.now() - timedelta(hours=1),
        **kwargs,
    )


def _checked_in(event, n: int, **kwargs) -> list[Ticket]:
    registration = RegistrationFactory(event=event)
    return [
        TicketFactory(
            registration=registration,
            person__name=f"Deelnemer Nummer {i:03d}",
            # At the door: inside the event's check-in window.
            checked_in_at=event.starts_at,
            **kwargs,
        )
        for i in range(n)
    ]


def test_only_checked_in_attendees_get_a_certificate():
    event = _ended(title="Congres Veerkracht")
    absent = TicketFactory(registration__event=event)
    cancelled = TicketFactory(registration__event=event, status=Ticket.Status.CANCELLED)
    for ticket in (absent, cancelled):
        with pytest.raises(RuleViolation) as info:
            certificate_issue(ticket=ticket)
        assert info.value.code == "not_checked_in"
    assert not Certificate.objects.exists()

    (present,) = _checked_in(event, 1)
    certificate = certificate_issue(ticket=present)
    assert certificate_issue(ticket=present) == certificate  # never twice
    text = pdf_text(_stored(certificate))
    assert present.person.name in text and "Congres Veerkracht" in text
    assert certificate.display_code in text
    assert f"/certificates/verify/{certificate.code}/" in text.replace(" ", "")
    mail = OutboxMail.objects.get(key=f"certificate:{certificate.pk}")
    assert mail.template == "certificate_issued" and mail.to_email == present.person.email
    assert mail.attachments == [{"type": "certificate_pdf", "certificate_id": certificate.pk}]
    name, content, mimetype = render_attachment(mail.attachments[0])
    assert (name, content, mimetype) == (
        f"certificate-{certificate.code}.pdf",
        _stored(certificate),
        "application/pdf",
    )


def test_verification_codes_are_unambiguous_and_unique():
    event = _ended()
    tickets = _checked_in(event, 30)
    codes = {certificate_issue(ticket=t).code for t in tickets}
    assert len(codes) == 30
    for code in codes:
        assert len(code) == 12 and not set(code) & set("01OI")


def test_bulk_run_splits_one_pdf_per_attendee(django_capture_on_commit_callbacks):
    event = _ended(title="Congres Bulk")
    tickets = _checked_in(event, 50)
    TicketFactory(registration__event=event)  # not checked in: no certificate
    with django_capture_on_commit_callbacks(execute=True):
        run = certificate_run_start(event=event, kind="attendee", user=UserFactory())
    run.refresh_from_db()
    assert (run.status, run.total, run.done, run.failed) == ("done", 50, 50, 0)
    certificates = Certificate.objects.filter(event=event).select_related("ticket__person")
    assert certificates.count() == 50
    for certificate in certificates:
        pages = pdf_pages(_stored(certificate))
        assert len(pages) == 1
        text = " ".join(pages[0].split())
        assert certificate.ticket.person.name in text
        # No one else's name ended up in this person's file.
        others = [t.person.name for t in tickets if t.pk != certificate.ticket_id]
        assert not any(name in text for name in others)
    assert OutboxMail.objects.filter(key__startswith="certificate:").count() == 50


def test_rerun_issues_none_twice_and_picks_up_late_check_ins(django_capture_on_commit_callbacks):
    event = _ended()
    _checked_in(event, 5)
    with django_capture_on_commit_callbacks(execute=True):
        certificate_run_start(event=event, kind="attendee")
    first_codes = set(Certificate.objects.values_list("code", flat=True))
    _checked_in(event, 2)  # checked in after the first run
    with django_capture_on_commit_callbacks(execute=True):
        second = certificate_run_start(event=event, kind="attendee")
    second.refresh_from_db()
    assert (second.total, second.done) == (2, 2)
    assert Certificate.objects.count() == 7
    assert first_codes <= set(Certificate.objects.values_list("code", flat=True))
    # Executing a finished run again changes nothing.
    certificate_run_execute(run_id=second.pk)
    assert Certificate.objects.count() == 7
    assert OutboxMail.objects.count() == 7


def test_run_in_chunks_reports_progress():
    event = _ended()
    _checked_in(event, 17)
    run = CertificateRun.objects.create(event=event, kind="attendee", total=17)
    certificate_run_execute(run_id=run.pk, chunk_size=5)
    run.refresh_from_db()
    assert (run.status, run.done, run.total) == ("done", 17, 17)
    assert run.started_at and run.finished_at
    assert Certificate.objects.filter(run=run).count() == 17
    assert all(len(pdf_pages(_stored(c))) == 1 for c in Certificate.objects.all())


def test_organisation_certificates_for_a_campaign_week(django_capture_on_commit_callbacks):
    week = _ended(CampaignWeekFactory, title="Week van de Werkstress 2030")
    confirmed = CampaignParticipationFactory(
        event=week,
        organisation=OrganisationFactory(name="Zorggroep Noorderlicht"),
        status=CampaignParticipation.Status.CONFIRMED,
        activities=["workshop", "self_test"],
        employees_reached=250,
    )
    registered = CampaignParticipationFactory(event=week, status="registered")
    CampaignParticipationFactory(event=week, status="cancelled")
    with pytest.raises(RuleViolation):
        certificate_run_start(event=_ended(), kind="organisation")
    with django_capture_on_commit_callbacks(execute=True):
        run = certificate_run_start(event=week, kind="organisation")
    run.refresh_from_db()
    assert (run.status, run.done) == ("done", 2)
    certificate = Certificate.objects.get(participation=confirmed)
    assert certificate.name == "Zorggroep Noorderlicht"
    text = pdf_text(_stored(certificate))
    assert "Zorggroep Noorderlicht" in text and "Week van de Werkstress 2030" in text
    assert "250" in text and "Workshop" in text
    assert Certificate.objects.filter(participation=registered).exists()
    mail = OutboxMail.objects.get(key=f"certificate:{certificate.pk}")
    assert mail.template == "organisation_certificate_issued"
    assert mail.to_email == confirmed.contact.email


def test_database_enforces_one_subject_matching_the_kind():
    event = _ended()
    (ticket,) = _checked_in(event, 1)
    participation = CampaignParticipationFactory()
    certificate_issue(ticket=ticket)
    bad = [
        {"kind": "attendee", "ticket": ticket},  # second for the same ticket
        {"kind": "attendee", "participation": participation},
        {"kind": "organisation", "ticket": TicketFactory()},
        {"kind": "attendee"},
    ]
    for fields in bad:
        with pytest.raises(IntegrityError), transaction.atomic():
            Certificate.objects.create(event=event, name="x", **fields)


def test_verification_page(client):
    (ticket,) = _checked_in(_ended(title="Congres Echtheid"), 1)
    certificate = certificate_issue(ticket=ticket)
    valid = client.get(f"/nl/certificates/verify/{certificate.code}/")
    assert valid.status_code == 200
    body = valid.content.decode()
    assert ticket.person.name in body and "Congres Echtheid" in body
    assert ticket.person.email not in body
    # Typed with dashes and lower case through the form: redirected to the canonical page.
    typed = client.get("/nl/certificates/verify/", {"code": certificate.display_code.lower()})
    assert typed.status_code == 302 and typed["Location"].endswith(f"/{certificate.code}/")

    unknown = client.get("/nl/certificates/verify/ABCDEFGHJKLM/")
    assert unknown.status_code == 404 and 'role="alert"' in unknown.content.decode()

    certificate_revoke(certificate=certificate)
    revoked = client.get(f"/nl/certificates/verify/{certificate.code}/")
    assert revoked.status_code == 410
    assert ticket.person.name not in revoked.content.decode()

    empty = client.get("/nl/certificates/verify/", {"code": "  "})
    assert empty.status_code == 400
    assert 'aria-describedby="id_code_helptext id_code_error"' in empty.content.decode()


def test_run_pages_are_staff_only(client, organiser, django_capture_on_commit_callbacks):
    event = _ended()
    _checked_in(event, 3)
    url = f"/nl/communications/events/{event.pk}/certificates/"
    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
    assert client.post(url, {"kind": "attendee"}).status_code == 403
    assert not CertificateRun.objects.exists()
    client.force_login(organiser)
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"kind": "attendee"})
    run = CertificateRun.objects.get()
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    run.refresh_from_db()
    assert run.status == "done" and b"3" in page.content
    assert b'http-equiv="refresh"' not in page.content  # stops refreshing when done
    bad = client.post(url, {"kind": "bogus"})
    assert bad.status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_lanes_issue_each_certificate_once():
    """Two tasks of one run at the same time (two worker processes): SKIP LOCKED hands each
    person to exactly one of them, and the last lane to finish marks the run done."""
    import threading

    from django.db import connection

    event = _ended()
    _checked_in(event, 24)
    run = CertificateRun.objects.create(event=event, kind="attendee", total=24, lanes=2)
    errors = []

    def lane(number: int) -> None:
        try:
            certificate_run_execute(run_id=run.pk, lane=number, chunk_size=4, send_mail=False)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=lane, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    run.refresh_from_db()
    assert (run.status, run.done, run.total, run.finished_lanes) == ("done", 24, 24, [0, 1])
    assert Certificate.objects.filter(event=event).count() == 24
    assert Certificate.objects.values("ticket").distinct().count() == 24


def test_stalled_run_is_queued_again_when_started_again(django_capture_on_commit_callbacks):
    """A run whose task was lost (broker restart) stays 'running'; starting it again after
    STALE_RUN_AFTER queues its tasks again instead of leaving the organiser stuck."""
    from datetime import timedelta

    event = _ended()
    _checked_in(event, 3)
    run = CertificateRun.objects.create(event=event, kind="attendee", total=3, status="running")
    with django_capture_on_commit_callbacks(execute=True):
        assert certificate_run_start(event=event, kind="attendee") == run
    run.refresh_from_db()
    assert run.status == "running" and run.done == 0  # recent: left alone
    CertificateRun.objects.filter(pk=run.pk).update(
        updated_at=timezone.now() - timedelta(minutes=16)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert certificate_run_start(event=event, kind="attendee") == run
    run.refresh_from_db()
    assert (run.status, run.done) == ("done", 3)
