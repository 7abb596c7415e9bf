"""Audit coverage (issue 8): every organiser action that changes data leaves exactly one audit
entry with who (user id), what (action code), which object (type and id), from where (the
request's address) and details that hold ids and codes, never another person's data.

Each test performs the action the way an organiser does: through the organiser page or the
Django admin with a logged-in organiser, or, where no page calls it yet, through the service
with the organiser as actor. `one_entry` takes the entries the action added, so an audit call
that goes missing (no entry) or a nested service that audits too (two entries) fails here.
"""

import datetime as dt
import logging
import re
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import OrganiserRole, User
from common.errors import RuleViolation
from communications.documents import (
    certificate_issue,
    certificate_revoke,
    certificate_run_start,
)
from communications.models import Certificate, CertificateRun
from events import services as event_services
from events.models import Event, TicketType
from press import services as press_services
from press.models import (
    Coverage,
    InterviewSlot,
    Journalist,
    MediaMoment,
    PressInvitation,
    PressMaterial,
)
from privacy.models import AuditEntry
from schools import services as school_services
from schools.models import SchoolSession, SchoolSessionRequest
from tests.factories import (
    CampaignFactory,
    EventFactory,
    PersonFactory,
    RegistrationFactory,
    TicketFactory,
    UserFactory,
)
from tests.press import helpers as press_helpers
from tests.schools.conftest import AmbassadorFactory, make_request

pytestmark = pytest.mark.django_db

IP = "203.0.113.9"  # TEST-NET-3: only ever from the request under test

# Names and addresses the test data carries; none of them may reach the audit log.
PERSONAL = (
    "Hendrika Zeldzaam",
    "hendrika.zeldzaam@example.nl",
    "Joris Persman",
    "joris.persman@krant.example.nl",
    "Ambassadeur Uniek",
    "Lyceum De Zeldzame Eik",
)


@pytest.fixture(autouse=True)
def _no_dropped_details(caplog):
    """A dropped detail means a service tried to log personal data: fail, do not hide it."""
    with caplog.at_level(logging.WARNING, logger="privacy.audit"):
        yield
    dropped = [r.getMessage() for r in caplog.records if r.name == "privacy.audit"]
    assert not dropped, dropped


@pytest.fixture(autouse=True)
def _dutch():
    from django.utils import translation

    with translation.override("nl"):
        yield


def http_request(user):
    request = RequestFactory().post("/", REMOTE_ADDR=IP)
    request.user = user
    return request


def mark() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def one_entry(since: int, action: str, *, actor, obj, ip: str | None = IP) -> AuditEntry:
    """The one entry written after `since`; checks actor, action, object and address."""
    entries = list(AuditEntry.objects.filter(pk__gt=since).order_by("pk"))
    assert [e.action for e in entries] == [action]
    [entry] = entries
    if isinstance(obj, tuple):
        object_type, object_id = obj
    else:
        object_type, object_id = obj._meta.label_lower, obj.pk
    assert (entry.actor_id, entry.object_type, entry.object_id, entry.ip_address) == (
        actor.pk,
        object_type,
        str(object_id),
        ip,
    )
    assert_no_personal_data(entry)
    return entry


def no_entry(since: int) -> None:
    assert list(AuditEntry.objects.filter(pk__gt=since).values_list("action", flat=True)) == []


def assert_no_personal_data(entry: AuditEntry) -> None:
    text = str(entry.details)
    for value in PERSONAL:
        assert value.lower() not in text.lower(), (entry.action, value)
    assert "@" not in text, entry.details
    # Codes, ids and counts only: every string in the details is one short token.
    for value in _strings(entry.details):
        assert re.fullmatch(r"[A-Za-z0-9_.:\-]{0,64}", value), (entry.action, value)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def form_data(form) -> dict:
    """A form's current values as the browser would post them (split date/time included)."""
    data = {}
    for name, field in form.fields.items():
        key, value, widget = form.add_prefix(name), form[name].value(), field.widget
        if hasattr(widget, "widgets"):
            for i, part in enumerate(widget.decompress(value)):
                data[f"{key}_{i}"] = "" if part is None else part
        elif isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(v) for v in value]
        else:
            data[key] = "" if value is None else value
    return data


def admin_post_data(client, url: str, **changes) -> dict:
    """An admin add/change page's form (with its inlines) as posted, plus `changes`."""
    page = client.get(url)
    assert page.status_code == 200
    data = form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        data.update(form_data(inline.formset.management_form))
        for form in inline.formset.initial_forms:
            data.update(form_data(form))
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --- events ----------------------------------------------------------------------------------


def test_event_created_through_the_service_is_audited(organiser):
    campaign = CampaignFactory()
    start = timezone.now() + timedelta(days=30)
    event = Event(
        campaign=campaign,
        kind=Event.Kind.CONGRESS,
        title="Congres Hendrika Zeldzaam",
        slug="congres-audit",
        starts_at=start,
        ends_at=start + timedelta(hours=6),
        capacity=100,
    )
    since = mark()
    event_services.event_save(
        event=event, created=True, actor=organiser, request=http_request(organiser)
    )
    entry = one_entry(since, "event.create", actor=organiser, obj=event)
    assert entry.details == {
        "status": "draft",
        "kind": "congress",
        "campaign_id": campaign.pk,
    }


def test_plain_change_and_publish_are_audited_with_field_names(organiser):
    event = EventFactory(status=Event.Status.DRAFT)
    event.title = "Hendrika Zeldzaam spreekt"
    since = mark()
    event_services.event_save(
        event=event, changed_fields=["title"], actor=organiser, request=http_request(organiser)
    )
    entry = one_entry(since, "event.update", actor=organiser, obj=event)
    assert entry.details == {"fields": ["title"], "status": "draft"}

    event.status = Event.Status.PUBLISHED
    since = mark()
    event_services.event_save(
        event=event, changed_fields=["status"], actor=organiser, request=http_request(organiser)
    )
    entry = one_entry(since, "event.publish", actor=organiser, obj=event)
    assert entry.details == {"fields": ["status"], "status": "published"}


def test_a_time_change_is_one_update_entry_and_attendees_are_told(organiser):
    event = EventFactory(status=Event.Status.PUBLISHED)
    TicketFactory(registration__event=event)
    new_start = event.starts_at + timedelta(days=1)
    since = mark()
    event_services.event_update(
        event=event,
        starts_at=new_start,
        ends_at=new_start + timedelta(hours=2),
        actor=organiser,
        request=http_request(organiser),
    )
    entry = one_entry(since, "event.update", actor=organiser, obj=event)
    assert entry.details == {"fields": ["ends_at", "starts_at"], "revision": 1, "notified": True}
    # An unchanged save writes nothing.
    since = mark()
    event_services.event_update(event=event, starts_at=new_start, actor=organiser)
    no_entry(since)


def test_event_save_with_a_moved_time_routes_through_event_update(organiser):
    event = EventFactory(status=Event.Status.PUBLISHED)
    event.venue_name = "Beatrix Theater"
    since = mark()
    event_services.event_save(
        event=event,
        changed_fields=["venue_name"],
        actor=organiser,
        request=http_request(organiser),
    )
    entry = one_entry(since, "event.update", actor=organiser, obj=event)
    assert entry.details["fields"] == ["venue_name"] and entry.details["revision"] == 1


def test_cancelling_an_event_is_audited_once(organiser):
    event = EventFactory(status=Event.Status.PUBLISHED)
    event.status = Event.Status.CANCELLED
    since = mark()
    event_services.event_save(
        event=event, changed_fields=["status"], actor=organiser, request=http_request(organiser)
    )
    entry = one_entry(since, "event.cancel", actor=organiser, obj=event)
    assert entry.details == {"was_published": True}
    since = mark()
    event_services.event_cancel(event=event, actor=organiser, request=http_request(organiser))
    no_entry(since)


def test_ticket_type_create_change_and_delete_are_audited(organiser):
    event = EventFactory()
    ticket_type = TicketType(event=event, name="Dagkaart", price_cents=5000)
    since = mark()
    event_services.ticket_type_save(
        ticket_type=ticket_type, created=True, actor=organiser, request=http_request(organiser)
    )
    entry = one_entry(since, "ticket_type.create", actor=organiser, obj=ticket_type)
    assert entry.details == {"event_id": event.pk, "fields": []}

    ticket_type.price_cents = 6000
    since = mark()
    event_services.ticket_type_save(
        ticket_type=ticket_type,
        changed_fields=["price_cents"],
        actor=organiser,
        request=http_request(organiser),
    )
    entry = one_entry(since, "ticket_type.update", actor=organiser, obj=ticket_type)
    assert entry.details == {"event_id": event.pk, "fields": ["price_cents"]}

    pk = ticket_type.pk
    since = mark()
    event_services.ticket_type_delete(
        ticket_type=ticket_type, actor=organiser, request=http_request(organiser)
    )
    entry = one_entry(since, "ticket_type.delete", actor=organiser, obj=("events.tickettype", pk))
    assert entry.details == {"event_id": event.pk}
    assert not TicketType.objects.filter(pk=pk).exists()


def test_event_services_called_without_an_actor_write_nothing():
    # School planning and press moments call these and record their own, specific entry.
    event = EventFactory(status=Event.Status.PUBLISHED)
    since = mark()
    event_services.event_update(event=event, venue_name="Elders")
    event_services.event_cancel(event=event)
    no_entry(since)


def test_event_changed_in_the_admin_is_audited(organiser_client, organiser):
    event = EventFactory(status=Event.Status.DRAFT)
    url = reverse("admin:events_event_change", args=[event.pk])
    data = admin_post_data(organiser_client, url, title="Congres Hendrika Zeldzaam")
    since = mark()
    response = organiser_client.post(url, data, REMOTE_ADDR=IP)
    assert response.status_code == 302
    entry = one_entry(since, "event.update", actor=organiser, obj=event)
    assert entry.details["fields"] == ["title"]


def test_ticket_type_added_on_the_event_form_is_audited(organiser_client, organiser):
    event = EventFactory()
    url = reverse("admin:events_event_change", args=[event.pk])
    page = organiser_client.get(url)
    data = admin_post_data(organiser_client, url)
    [formset] = [
        inline.formset
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.model is TicketType
    ]
    prefix, n = formset.prefix, formset.total_form_count()
    data[f"{prefix}-TOTAL_FORMS"] = str(n + 1)
    data.update(
        {
            f"{prefix}-{n}-event": event.pk,
            f"{prefix}-{n}-name": "Groepskaart",
            f"{prefix}-{n}-price_cents": "2500",
            f"{prefix}-{n}-vat_rate": "21.00",
            f"{prefix}-{n}-is_active": "on",
            f"{prefix}-{n}-position": "0",
        }
    )
    since = mark()
    response = organiser_client.post(url, data, REMOTE_ADDR=IP)
    assert response.status_code == 302
    ticket_type = TicketType.objects.get(name="Groepskaart")
    one_entry(since, "ticket_type.create", actor=organiser, obj=ticket_type)


def test_ticket_type_added_in_the_admin_is_audited(organiser_client, organiser):
    event = EventFactory()
    url = reverse("admin:events_tickettype_add")
    data = admin_post_data(
        organiser_client, url, event=event.pk, name="Studentenkaart", price_cents="1000"
    )
    since = mark()
    response = organiser_client.post(url, data, REMOTE_ADDR=IP)
    assert response.status_code == 302
    ticket_type = TicketType.objects.get(name="Studentenkaart")
    one_entry(since, "ticket_type.create", actor=organiser, obj=ticket_type)


# --- certificates ----------------------------------------------------------------------------


def _checked_in_ticket(event=None):
    # Certificates are issued once the event has ended, to tickets checked in at the door.
    event = event or EventFactory(
        starts_at=timezone.now() - timedelta(days=2), ends_at=timezone.now() - timedelta(days=1)
    )
    return TicketFactory(
        registration=RegistrationFactory(event=event),
        person=PersonFactory(name="Hendrika Zeldzaam", email="hendrika.zeldzaam@example.nl"),
        checked_in_at=event.starts_at,
    )


def test_certificate_run_start_is_audited(organiser, django_capture_on_commit_callbacks):
    ticket = _checked_in_ticket()
    since = mark()
    with django_capture_on_commit_callbacks(execute=False):
        run = certificate_run_start(
            event=ticket.event, kind="attendee", user=organiser, request=http_request(organiser)
        )
    entry = one_entry(since, "certificate_run.start", actor=organiser, obj=run)
    assert entry.details == {"event_id": ticket.event_id, "kind": "attendee", "total": 1}
    # Asking again while the run is moving returns it and writes nothing.
    since = mark()
    with django_capture_on_commit_callbacks(execute=False):
        assert certificate_run_start(event=ticket.event, kind="attendee", user=organiser) == run
    no_entry(since)


def test_certificate_run_started_on_the_organiser_page_names_the_organiser(
    organiser_client, organiser, django_capture_on_commit_callbacks
):
    ticket = _checked_in_ticket()
    url = reverse("communications:certificate_runs", kwargs={"event_id": ticket.event_id})
    since = mark()
    with django_capture_on_commit_callbacks(execute=False):
        response = organiser_client.post(url, {"kind": "attendee"}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    run = CertificateRun.objects.get()
    entries = list(AuditEntry.objects.filter(pk__gt=since))
    assert [(e.action, e.actor_id, e.object_id) for e in entries] == [
        ("certificate_run.start", organiser.pk, str(run.pk))
    ]


def test_certificate_run_page_records_the_address(
    organiser_client, organiser, django_capture_on_commit_callbacks
):
    ticket = _checked_in_ticket()
    url = reverse("communications:certificate_runs", kwargs={"event_id": ticket.event_id})
    since = mark()
    with django_capture_on_commit_callbacks(execute=False):
        organiser_client.post(url, {"kind": "attendee"}, REMOTE_ADDR=IP)
    one_entry(since, "certificate_run.start", actor=organiser, obj=CertificateRun.objects.get())


def test_single_certificate_issue_and_revoke_are_audited(organiser):
    ticket = _checked_in_ticket()
    since = mark()
    certificate = certificate_issue(ticket=ticket, user=organiser, request=http_request(organiser))
    entry = one_entry(since, "certificate.issue", actor=organiser, obj=certificate)
    assert entry.details == {"event_id": ticket.event_id, "ticket_id": ticket.pk}
    # The existing certificate is returned: nothing new happened, nothing is recorded.
    since = mark()
    assert certificate_issue(ticket=ticket, user=organiser) == certificate
    no_entry(since)

    since = mark()
    certificate_revoke(certificate=certificate, user=organiser, request=http_request(organiser))
    entry = one_entry(since, "certificate.revoke", actor=organiser, obj=certificate)
    assert entry.details == {"event_id": ticket.event_id, "kind": "attendee"}
    since = mark()
    certificate_revoke(certificate=certificate, user=organiser, request=http_request(organiser))
    no_entry(since)


def test_certificate_revoked_in_the_admin_is_audited(organiser_client, organiser):
    certificate = certificate_issue(ticket=_checked_in_ticket())
    url = reverse("admin:communications_certificate_change", args=[certificate.pk])
    now = timezone.localtime()
    data = admin_post_data(
        organiser_client,
        url,
        revoked_at_0=now.strftime("%Y-%m-%d"),
        revoked_at_1=now.strftime("%H:%M:%S"),
    )
    since = mark()
    response = organiser_client.post(url, data, REMOTE_ADDR=IP)
    assert response.status_code == 302
    one_entry(since, "certificate.revoke", actor=organiser, obj=certificate)
    assert Certificate.objects.get(pk=certificate.pk).revoked_at is not None


# --- school planning -------------------------------------------------------------------------


@pytest.fixture
def school_request(db):
    from tests.factories import SchoolFactory, region

    school = SchoolFactory(name="Lyceum De Zeldzame Eik", region=region("12"))
    return make_request(school=school)


@pytest.fixture
def ambassador(db):
    return AmbassadorFactory(person__name="Ambassadeur Uniek")


def _plan(client, school_request, ambassador):
    url = reverse("schools:request_plan", kwargs={"request_id": school_request.pk})
    slot = school_request.slots.order_by("position").first()
    return client.post(url, {"ambassador": ambassador.pk, "slot": slot.pk}, REMOTE_ADDR=IP)


def test_assigning_a_school_session_is_audited(
    organiser_client, organiser, school_request, ambassador
):
    since = mark()
    assert _plan(organiser_client, school_request, ambassador).status_code == 302
    session = SchoolSession.objects.get()
    entry = one_entry(since, "school_session.assign", actor=organiser, obj=session)
    assert entry.details == {
        "request_id": school_request.pk,
        "request_status": "planned",
        "ambassador_id": ambassador.pk,
        "event_id": session.event_id,
        "slot_id": school_request.slots.order_by("position").first().pk,
    }


def test_rescheduling_a_school_session_is_one_entry(
    organiser_client, organiser, school_request, ambassador
):
    _plan(organiser_client, school_request, ambassador)
    session = SchoolSession.objects.get()
    url = reverse("schools:session_detail", kwargs={"session_id": session.pk})
    since = mark()
    response = organiser_client.post(
        url,
        {"action": "reschedule", "date": "2027-03-09", "start_time": "09:00", "end_time": "10:00"},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    # One entry: the event service it calls records nothing of its own.
    entry = one_entry(since, "school_session.reschedule", actor=organiser, obj=session)
    assert entry.details == {"event_id": session.event_id, "revision": 1}


def test_cancelling_a_school_session_is_audited_with_the_request_status(
    organiser_client, organiser, school_request, ambassador
):
    _plan(organiser_client, school_request, ambassador)
    session = SchoolSession.objects.get()
    url = reverse("schools:session_detail", kwargs={"session_id": session.pk})
    since = mark()
    response = organiser_client.post(url, {"action": "cancel", "reopen": "on"}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    entry = one_entry(since, "school_session.cancel", actor=organiser, obj=session)
    assert entry.details == {
        "event_id": session.event_id,
        "request_id": school_request.pk,
        "request_status": "open",
        "media_moment_id": None,
    }


def test_opening_a_session_to_the_press_is_one_entry(
    organiser_client, organiser, school_request, ambassador
):
    _plan(organiser_client, school_request, ambassador)
    session = SchoolSession.objects.get()
    url = reverse("schools:session_detail", kwargs={"session_id": session.pk})
    since = mark()
    response = organiser_client.post(url, {"action": "media_moment"}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    moment = MediaMoment.objects.get()
    entry = one_entry(since, "school_session.media_moment_create", actor=organiser, obj=session)
    assert entry.details == {"media_moment_id": moment.pk, "media_event_id": moment.event_id}


def test_marking_a_session_as_held_is_audited(
    organiser_client, organiser, school_request, ambassador
):
    _plan(organiser_client, school_request, ambassador)
    session = SchoolSession.objects.get()
    past = timezone.now() - timedelta(days=1)
    Event.objects.filter(pk=session.event_id).update(
        starts_at=past, ends_at=past + timedelta(hours=1)
    )
    url = reverse("schools:session_detail", kwargs={"session_id": session.pk})
    since = mark()
    assert organiser_client.post(url, {"action": "complete"}, REMOTE_ADDR=IP).status_code == 302
    entry = one_entry(since, "school_session.complete", actor=organiser, obj=session)
    assert entry.details == {"request_id": school_request.pk, "request_status": "done"}


def test_the_periodic_completion_writes_no_organiser_entry(
    organiser_client, school_request, ambassador
):
    _plan(organiser_client, school_request, ambassador)
    session = SchoolSession.objects.get()
    past = timezone.now() - timedelta(days=1)
    Event.objects.filter(pk=session.event_id).update(
        starts_at=past, ends_at=past + timedelta(hours=1)
    )
    since = mark()
    assert school_services.school_sessions_complete_due() == 1
    no_entry(since)


def test_closing_and_reopening_a_request_by_hand_is_audited(organiser, school_request):
    since = mark()
    school_services.school_request_status_set(
        school_request=school_request,
        status="cancelled",
        user=organiser,
        http_request=http_request(organiser),
    )
    entry = one_entry(since, "school_request.status", actor=organiser, obj=school_request)
    assert entry.details == {"old_status": "open", "status": "cancelled"}
    assert SchoolSessionRequest.objects.get(pk=school_request.pk).status == "cancelled"
    # Planned and held follow from a session; they cannot be set by hand.
    for status in ("planned", "done"):
        with pytest.raises(RuleViolation):
            school_services.school_request_status_set(
                school_request=school_request, status=status, user=organiser
            )
    since = mark()
    school_services.school_request_status_set(
        school_request=school_request, status="open", user=organiser, http_request=None
    )
    one_entry(since, "school_request.status", actor=organiser, obj=school_request, ip=None)


def test_request_status_changed_in_the_admin_is_audited(
    organiser_client, organiser, school_request
):
    url = reverse("admin:schools_schoolsessionrequest_change", args=[school_request.pk])
    data = admin_post_data(organiser_client, url, status="cancelled")
    since = mark()
    response = organiser_client.post(url, data, REMOTE_ADDR=IP)
    assert response.status_code == 302
    one_entry(since, "school_request.status", actor=organiser, obj=school_request)


# --- press -----------------------------------------------------------------------------------


@pytest.fixture
def joris(db):
    return press_helpers.journalist(
        name="Joris Persman", email="joris.persman@krant.example.nl", media_type="trade"
    )


def _moment_form(campaign, **changes):
    data = {
        "campaign": campaign.pk,
        "title": "Werkbezoek bouw",
        "sub_kind": "work_visit",
        "starts_at": "2030-03-02T10:00",
        "ends_at": "2030-03-02T12:00",
        "venue_name": "Bouwplaats",
        "action": "save",
    }
    data.update(changes)
    return data


def test_media_moment_create_change_and_cancel_on_the_staff_pages(organiser_client, organiser):
    campaign = CampaignFactory()
    since = mark()
    response = organiser_client.post(
        reverse("press:staff_moment_create"), _moment_form(campaign), REMOTE_ADDR=IP
    )
    assert response.status_code == 302
    moment = MediaMoment.objects.get()
    entry = one_entry(since, "media_moment.create", actor=organiser, obj=moment)
    assert entry.details == {
        "event_id": moment.event_id,
        "campaign_id": campaign.pk,
        "sub_kind": "work_visit",
    }

    edit = reverse("press:staff_moment_edit", kwargs={"pk": moment.pk})
    since = mark()
    response = organiser_client.post(
        edit,
        _moment_form(campaign, starts_at="2030-03-02T14:00", ends_at="2030-03-02T16:00"),
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    # One entry: the event_update underneath records nothing of its own.
    entry = one_entry(since, "media_moment.update", actor=organiser, obj=moment)
    assert entry.details == {
        "event_id": moment.event_id,
        "fields": ["ends_at", "starts_at"],
        "revision": 1,
    }
    # Saving the form unchanged is no change.
    since = mark()
    organiser_client.post(
        edit,
        _moment_form(campaign, starts_at="2030-03-02T14:00", ends_at="2030-03-02T16:00"),
        REMOTE_ADDR=IP,
    )
    no_entry(since)

    since = mark()
    assert organiser_client.post(edit, {"action": "cancel"}, REMOTE_ADDR=IP).status_code == 302
    entry = one_entry(since, "media_moment.cancel", actor=organiser, obj=moment)
    assert entry.details == {"event_id": moment.event_id}
    since = mark()
    organiser_client.post(edit, {"action": "cancel"}, REMOTE_ADDR=IP)
    no_entry(since)


def test_sending_press_invitations_is_one_entry_with_journalist_ids(
    organiser_client, organiser, joris
):
    moment = press_helpers.moment()
    since = mark()
    _page, response = press_helpers.invite_on_page(
        organiser_client, moment, [joris], REMOTE_ADDR=IP
    )
    assert response.status_code == 302
    entry = one_entry(since, "press_invitation.send", actor=organiser, obj=moment)
    assert entry.details == {
        "event_id": moment.event_id,
        "count": 1,
        "journalist_ids": [joris.pk],
    }
    assert PressInvitation.objects.count() == 1
    # Everyone chosen was already invited: nothing sent, nothing recorded.
    since = mark()
    url = reverse("press:staff_invite", kwargs={"pk": moment.pk})
    organiser_client.post(url, {"journalist": [joris.pk]}, REMOTE_ADDR=IP)
    no_entry(since)


def test_material_upload_on_the_staff_page_and_delete_in_the_admin(
    organiser_client, organiser, django_capture_on_commit_callbacks
):
    moment = press_helpers.moment()
    since = mark()
    response = organiser_client.post(
        reverse("press:staff_material", kwargs={"pk": moment.pk}),
        {"kind": "press_release", "title": "Persbericht", "file": press_helpers.pdf_upload()},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    material = PressMaterial.objects.get()
    entry = one_entry(since, "press_material.add", actor=organiser, obj=material)
    assert entry.details == {"moment_id": moment.pk, "kind": "press_release", "size": material.size}

    name = material.file.name
    since = mark()
    with django_capture_on_commit_callbacks(execute=True):
        response = organiser_client.post(
            reverse("admin:press_pressmaterial_delete", args=[material.pk]),
            {"post": "yes"},
            REMOTE_ADDR=IP,
        )
    assert response.status_code == 302
    entry = one_entry(
        since, "press_material.delete", actor=organiser, obj=("press.pressmaterial", material.pk)
    )
    assert entry.details == {"moment_id": moment.pk, "kind": "press_release"}
    assert not PressMaterial.objects.exists()
    # The file went with the row (it was kept for ever before).
    assert not material.file.storage.exists(name)


def test_material_bulk_delete_in_the_admin_is_one_entry_each(organiser_client, organiser):
    moment = press_helpers.moment()
    first = press_services.press_material_add(
        moment=moment, kind="photo", title="a", file=press_helpers.png_upload()
    )
    second = press_services.press_material_add(
        moment=moment, kind="photo", title="b", file=press_helpers.png_upload("b.png")
    )
    since = mark()
    response = organiser_client.post(
        reverse("admin:press_pressmaterial_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    entries = AuditEntry.objects.filter(pk__gt=since).order_by("object_id")
    assert [(e.action, e.object_id, e.ip_address) for e in entries] == [
        ("press_material.delete", str(first.pk), IP),
        ("press_material.delete", str(second.pk), IP),
    ]


def test_journalist_added_by_staff_is_audited(organiser):
    since = mark()
    journalist = press_services.journalist_add(
        name="Joris Persman",
        email="joris.persman@krant.example.nl",
        outlet=press_helpers.outlet(),
        media_type=Journalist.MediaType.TRADE,
        legal_basis=Journalist.LegalBasis.CONSENT,
        agreed_on=dt.date(2026, 1, 15),
        user=organiser,
        request=http_request(organiser),
    )
    entry = one_entry(since, "journalist.add", actor=organiser, obj=journalist)
    assert entry.details == {
        "person_id": journalist.person_id,
        "outlet_id": journalist.outlet_id,
        "media_type": "trade",
        "legal_basis": "consent",
    }


def test_journalist_added_through_the_api_is_audited(organiser_client, organiser):
    outlet = press_helpers.outlet()
    since = mark()
    response = organiser_client.post(
        "/api/v1/press/journalists/",
        {
            "name": "Joris Persman",
            "email": "joris.persman@krant.example.nl",
            "outlet_id": outlet.pk,
            "media_type": "trade",
            "legal_basis": "consent",
            "agreed_on": "2026-01-15",
            "topics": "",
            "language": "nl",
        },
        content_type="application/json",
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 201, response.content
    one_entry(since, "journalist.add", actor=organiser, obj=Journalist.objects.get())


def test_journalist_removed_by_staff_in_the_admin_is_audited(organiser_client, organiser, joris):
    since = mark()
    response = organiser_client.post(
        reverse("admin:press_journalist_changelist"),
        {"action": "remove_from_press_list", "_selected_action": [joris.pk]},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    entry = one_entry(since, "journalist.remove", actor=organiser, obj=joris)
    assert entry.details == {"person_id": joris.person_id, "mails_withdrawn": 0}
    joris.refresh_from_db()
    assert joris.removed_at is not None
    # The note on the row no longer carries the staff member's name or address.
    assert "organiser@" not in joris.removal_note
    # Removing again changes nothing and records nothing.
    since = mark()
    organiser_client.post(
        reverse("admin:press_journalist_changelist"),
        {"action": "remove_from_press_list", "_selected_action": [joris.pk]},
        REMOTE_ADDR=IP,
    )
    no_entry(since)


def test_a_journalists_own_removal_is_not_an_organiser_action(client, joris):
    from press import links

    since = mark()
    response = client.post(
        reverse("press:remove", kwargs={"token": links.removal_token(joris)}), {"confirm": "on"}
    )
    assert response.status_code == 200
    joris.refresh_from_db()
    assert joris.removed_at is not None
    no_entry(since)


def test_coverage_added_in_the_admin_is_audited(organiser_client, organiser):
    moment = press_helpers.moment()
    url = reverse("admin:press_coverage_add")
    since = mark()
    response = organiser_client.post(
        url,
        {
            "moment": moment.pk,
            "outlet_name": "Vakblad Arbo",
            "kind": "article",
            "published_on": "2026-11-16",
            "url": "",
            "estimated_reach": "12000",
        },
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    coverage = Coverage.objects.get()
    entry = one_entry(since, "coverage.add", actor=organiser, obj=coverage)
    assert entry.details == {"moment_id": moment.pk, "kind": "article", "estimated_reach": 12000}


def test_coverage_added_through_the_api_is_audited(organiser_client, organiser):
    moment = press_helpers.moment()
    since = mark()
    response = organiser_client.post(
        "/api/v1/press/coverage/",
        {
            "moment_id": moment.pk,
            "outlet_name": "Vakblad Arbo",
            "coverage_kind": "article",
            "published_on": "2026-11-16",
            "url": "",
            "estimated_reach": 12000,
        },
        content_type="application/json",
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 201, response.content
    one_entry(since, "coverage.add", actor=organiser, obj=Coverage.objects.get())


def test_interview_slot_added_and_moved_in_the_admin_is_audited(organiser_client, organiser):
    moment = press_helpers.moment()
    speaker = press_helpers.spokesperson()
    start = timezone.localtime(moment.event.starts_at)
    url = reverse("admin:press_interviewslot_add")
    since = mark()
    response = organiser_client.post(
        url,
        {
            "moment": moment.pk,
            "spokesperson": speaker.pk,
            "starts_at_0": start.strftime("%Y-%m-%d"),
            "starts_at_1": "10:00:00",
            "ends_at_0": start.strftime("%Y-%m-%d"),
            "ends_at_1": "10:30:00",
        },
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    slot = InterviewSlot.objects.get()
    entry = one_entry(since, "interview_slot.create", actor=organiser, obj=slot)
    assert entry.details == {"moment_id": moment.pk, "spokesperson_id": speaker.pk}

    since = mark()
    response = organiser_client.post(
        reverse("admin:press_interviewslot_change", args=[slot.pk]),
        {
            "spokesperson": speaker.pk,
            "starts_at_0": start.strftime("%Y-%m-%d"),
            "starts_at_1": "11:00:00",
            "ends_at_0": start.strftime("%Y-%m-%d"),
            "ends_at_1": "11:30:00",
        },
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    one_entry(since, "interview_slot.update", actor=organiser, obj=slot)


# --- organiser roles and staff flags (Django admin) ------------------------------------------


def test_organiser_role_added_changed_and_deleted_in_the_admin(organiser_client, organiser):
    member = UserFactory(email="hendrika.zeldzaam@example.nl", first_name="Hendrika")
    campaign = CampaignFactory()
    since = mark()
    response = organiser_client.post(
        reverse("admin:accounts_organiserrole_add"),
        {"user": member.pk, "role": "campaign_manager", "campaigns": [campaign.pk]},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    role = OrganiserRole.objects.get(user=member)
    entry = one_entry(since, "organiser_role.create", actor=organiser, obj=role)
    assert entry.details == {
        "user_id": member.pk,
        "role": "campaign_manager",
        "fields": ["campaigns", "role", "user"],
        "campaign_ids": [campaign.pk],
        "event_ids": [],
    }

    event = EventFactory(campaign=campaign)
    since = mark()
    response = organiser_client.post(
        reverse("admin:accounts_organiserrole_change", args=[role.pk]),
        {"user": member.pk, "role": "checkin_staff", "events": [event.pk]},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    entry = one_entry(since, "organiser_role.update", actor=organiser, obj=role)
    assert entry.details["role"] == "checkin_staff"
    assert entry.details["fields"] == ["campaigns", "events", "role"]
    assert (entry.details["campaign_ids"], entry.details["event_ids"]) == ([], [event.pk])

    since = mark()
    response = organiser_client.post(
        reverse("admin:accounts_organiserrole_delete", args=[role.pk]),
        {"post": "yes"},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 302
    entry = one_entry(
        since, "organiser_role.delete", actor=organiser, obj=("accounts.organiserrole", role.pk)
    )
    assert entry.details == {"user_id": member.pk, "role": "checkin_staff"}
    assert not OrganiserRole.objects.filter(pk=role.pk).exists()


def test_staff_flags_changed_in_the_admin_are_audited(organiser_client, organiser):
    member = UserFactory(
        email="hendrika.zeldzaam@example.nl", first_name="Hendrika", last_name="Zeldzaam"
    )
    url = reverse("admin:accounts_user_change", args=[member.pk])
    data = admin_post_data(organiser_client, url, is_staff="on")
    since = mark()
    response = organiser_client.post(url, data, REMOTE_ADDR=IP)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = one_entry(since, "user.permissions_change", actor=organiser, obj=member)
    assert entry.details == {
        "fields": ["is_staff"],
        "is_active": True,
        "is_staff": True,
        "is_superuser": False,
        "group_ids": [],
    }
    # A change to the name only is not a permission change.
    data = admin_post_data(organiser_client, url, first_name="Henny")
    since = mark()
    assert organiser_client.post(url, data, REMOTE_ADDR=IP).status_code == 302
    no_entry(since)


def test_deleting_a_user_in_the_admin_is_audited_with_its_roles(organiser_client, organiser):
    member = UserFactory(email="hendrika.zeldzaam@example.nl", is_staff=True)
    role = OrganiserRole.objects.create(user=member, role="checkin_staff")
    pk = member.pk
    since = mark()
    response = organiser_client.post(
        reverse("admin:accounts_user_delete", args=[pk]), {"post": "yes"}, REMOTE_ADDR=IP
    )
    assert response.status_code == 302
    entry = one_entry(since, "user.delete", actor=organiser, obj=("accounts.user", pk))
    assert entry.details == {"was_staff": True, "was_superuser": False, "role_ids": [role.pk]}
    assert not User.objects.filter(pk=pk).exists()


# --- nothing personal anywhere ---------------------------------------------------------------


def test_no_entry_written_here_holds_a_name_or_address(
    organiser_client, organiser, school_request, ambassador, joris
):
    """All actions above in one go, then a search of every audit column (not only details)."""
    _plan(organiser_client, school_request, ambassador)
    moment = press_helpers.moment()
    press_helpers.invite_on_page(organiser_client, moment, [joris])
    certificate_issue(ticket=_checked_in_ticket(), user=organiser)
    assert AuditEntry.objects.count() >= 3
    text = str(list(AuditEntry.objects.values_list())).lower()
    for value in PERSONAL:
        assert value.lower() not in text
