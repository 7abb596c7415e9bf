"""The whole road: a school asks (public form) -> an organiser assigns -> both get a confirmation
with an .ics invitation -> a change sends an update -> the session is held -> feedback -> stats.

Mails are rendered from the outbox rows as the sender would (communications.sending.render_mail
and render_parts) and the calendar files are parsed with icalendar.
"""

import re
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from communications.models import OutboxMail
from communications.sending import render_mail, render_parts
from events.models import Event
from organisations.models import Organisation, Region
from schools import links, selectors
from schools.models import (
    AMSTERDAM,
    SchoolSession,
    SchoolSessionRequest,
    SessionFeedback,
)
from schools.services import school_session_assign
from schools.tasks import complete_school_sessions_task

from .conftest import THURSDAY, TUESDAY, AmbassadorFactory, make_request, weekly, work_field

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "brin_code": " 12ab ",
        "school_name": "Het Nieuwe Lyceum",
        "street": "Schoolstraat 12",
        "postcode": "3511ab",
        "city": "Utrecht",
        "region": Region.objects.get(code="12").pk,
        "contact_name": "Mirjam Docent",
        "contact_email": "mirjam@lyceum.nl",
        "contact_phone": "030 1234567",
        "slot1_date": TUESDAY.isoformat(),
        "slot1_start": "10:00",
        "slot1_end": "11:30",
        "slot2_date": THURSDAY.isoformat(),
        "slot2_start": "13:00",
        "slot2_end": "14:30",
        "education_level": "havo",
        "pupils": "55",
        "classes": "2",
        "work_field": work_field("ziekenhuizen").pk,
        "language": "nl",
        "wishes": "Graag iemand van de spoedeisende hulp.",
    }
    data.update(overrides)
    return data


def rendered(key):
    mail = OutboxMail.objects.get(key=key)
    message = render_mail(mail)
    html = message.alternatives[0][0]
    return mail, message, html


def calendar(mail):
    """The mail's .ics as the sender attaches it: a personal iTIP invite (REQUEST, or CANCEL
    for a cancellation) with the mail's addressee as ATTENDEE."""
    (spec,) = mail.attachments
    assert spec["attendee"] == "recipient"
    ((filename, content, mimetype),) = render_parts(mail, attachments=True).attachments
    assert filename.endswith(".ics")
    assert mimetype == f"text/calendar; charset=utf-8; method={spec['method']}"
    cal = Calendar.from_ical(content)
    assert str(cal["METHOD"]) == spec["method"]
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["ATTENDEE"]).lower() == f"mailto:{mail.to_email}".lower()
    return cal, vevent


def token_in(text, segment):
    """The signed token of the first personal link of this kind in a mail (tokens carry a
    timestamp, so a fresh link never equals the one in the mail)."""
    match = re.search(rf"http://[^/\s]+/nl/scholen/{segment}/([^/\s\"]+)/", text)
    assert match, f"no {segment} link in the mail"
    return match.group(1)


def path_of(url):
    return re.sub(r"^https?://[^/]+", "", url)


def test_public_form_shows_dutch_errors_per_field_and_changes_nothing(client):
    url = reverse("schools:request_create")
    assert url == "/nl/scholen/aanvragen/"
    response = client.post(
        url,
        form_data(brin_code="1", postcode="12", slot2_date="", slot1_end="09:00", pupils="0"),
    )
    assert response.status_code == 400
    html = response.content.decode()
    # The form catches what it can (missing second date, pupils), the service the rest.
    assert 'id="id_slot2_date_error"' in html
    assert 'aria-describedby="id_slot2_date_error"' in html
    assert "Dit veld is vereist." in html
    assert 'id="id_pupils_error"' in html
    assert SchoolSessionRequest.objects.count() == 0
    assert OutboxMail.objects.count() == 0

    # Everything the form accepts, the service checks: BRIN, postcode, times.
    response = client.post(url, form_data(brin_code="1", postcode="12", slot1_end="09:00"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Een BRIN-code" in html and 'id="id_brin_code_error"' in html
    assert 'id="id_postcode_error"' in html
    assert 'id="id_slot1_end_error"' in html
    assert "De eindtijd moet na de begintijd liggen." in html
    assert (
        SchoolSessionRequest.objects.count() == 0
        and Organisation.objects.filter(kind="school").count() == 0
    )


def test_request_assign_confirm_change_feedback_statistics(client, staff_user):
    # 1. The school asks.
    response = client.post(reverse("schools:request_create"), form_data())
    assert response.status_code == 302
    request = SchoolSessionRequest.objects.get()
    school = request.school
    assert (school.kind, school.brin_code, school.postcode) == ("school", "12AB", "3511 AB")
    assert request.contact.organisation == school and request.contact.email == "mirjam@lyceum.nl"
    assert [(s.date, s.start_time) for s in request.slots.all()] == [
        (TUESDAY, time(10)),
        (THURSDAY, time(13)),
    ]
    assert request.campaign.slug == "ik-zorg" and request.status == "open"
    assert links.request_from_token(response["Location"].split("/")[-2]) == request
    page = client.get(response["Location"]).content.decode()
    assert "Het Nieuwe Lyceum" in page and "We zoeken een ambassadeur" in page

    mail, message, html = rendered(f"school_request_received:{request.pk}")
    assert mail.to_email == "mirjam@lyceum.nl" and mail.language == "nl"
    assert "Het Nieuwe Lyceum" in message.subject
    assert "Beste Mirjam Docent" in message.body
    assert links.request_from_token(token_in(message.body, "aanvraag")) == request
    assert "dinsdag 2 maart 2027" in message.body

    # 2. The organiser plans it.
    ambassador = AmbassadorFactory(
        work_field=work_field("ziekenhuizen"), person__name="Yusuf Demir"
    )
    weekly(ambassador, weekday=1)
    client.force_login(staff_user)
    board = client.get(reverse("schools:board")).content.decode()
    assert "Het Nieuwe Lyceum" in board
    plan_url = reverse("schools:request_plan", kwargs={"request_id": request.pk})
    plan_page = client.get(plan_url).content.decode()
    assert "Yusuf Demir" in plan_page
    tuesday = request.slots.get(date=TUESDAY)
    response = client.post(plan_url, {"ambassador": ambassador.pk, "slot": tuesday.pk})
    assert response.status_code == 302
    session = SchoolSession.objects.get()
    event = session.event
    assert response["Location"] == reverse(
        "schools:session_detail", kwargs={"session_id": session.pk}
    )
    assert event.kind == Event.Kind.SCHOOL_SESSION and event.campaign == request.campaign
    assert event.starts_at == datetime(2027, 3, 2, 10, tzinfo=AMSTERDAM)
    assert event.ends_at == datetime(2027, 3, 2, 11, 30, tzinfo=AMSTERDAM)
    assert event.venue_name == "Het Nieuwe Lyceum"
    assert event.venue_address == "Schoolstraat 12, 3511 AB Utrecht"
    assert event.capacity == 55 and event.status == Event.Status.DRAFT  # not public
    request.refresh_from_db()
    assert request.status == "planned" and session.assigned_by == staff_user

    # 3. Both get a confirmation with a calendar invitation.
    school_mail, message, html = rendered(f"school_session_planned:{session.pk}")
    assert school_mail.to_email == "mirjam@lyceum.nl"
    assert "Yusuf Demir" in message.body and "Schoolstraat 12, 3511 AB Utrecht" in message.body
    assert links.request_from_token(token_in(html, "aanvraag")) == request
    cal, vevent = calendar(school_mail)
    # Plus the session as it was planned ("event": communications.calendars snapshot).
    assert [{k: v for k, v in a.items() if k != "event"} for a in school_mail.attachments] == [
        {"type": "ics", "event_id": event.pk, "method": "REQUEST", "attendee": "recipient"}
    ]
    assert str(vevent["UID"]).startswith(f"event-{event.pk}@")
    assert int(vevent["SEQUENCE"]) == 0
    assert vevent.decoded("DTSTART") == datetime(2027, 3, 2, 10, tzinfo=AMSTERDAM)
    assert "Schoolstraat 12" in str(vevent["LOCATION"])

    amb_mail, message, html = rendered(f"ambassador_session_assigned:{session.pk}")
    assert amb_mail.to_email == ambassador.person.email
    assert "55 leerlingen" in message.body
    assert links.ambassador_from_token(token_in(message.body, "ambassadeur")) == ambassador
    _cal, amb_event = calendar(amb_mail)
    assert str(amb_event["UID"]) == str(vevent["UID"])

    # The ambassador's personal page lists the session.
    page = client.get(path_of(links.ambassador_url(ambassador))).content.decode()
    assert "Het Nieuwe Lyceum" in page

    # 4. The organiser moves it: both get an updated invitation (same UID, SEQUENCE 1).
    detail_url = reverse("schools:session_detail", kwargs={"session_id": session.pk})
    response = client.post(
        detail_url,
        {"action": "reschedule", "date": "2027-03-09", "start_time": "09:00", "end_time": "10:00"},
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.revision == 1
    for key in (
        f"school_session_changed:{session.pk}:1",
        f"ambassador_session_changed:{session.pk}:1",
    ):
        mail, message, _html = rendered(key)
        assert "dinsdag 9 maart 2027" in message.body
        cal, changed = calendar(mail)
        assert str(changed["UID"]) == str(vevent["UID"]) and int(changed["SEQUENCE"]) == 1
        assert changed.decoded("DTSTART") == datetime(2027, 3, 9, 9, tzinfo=AMSTERDAM)

    # 5. Too early for feedback or "held".
    response = client.post(detail_url, {"action": "complete"})
    assert response.status_code == 400
    assert "nog niet afgelopen" in response.content.decode()

    # The session took place (time moves on).
    past = timezone.now() - timedelta(days=1)
    Event.objects.filter(pk=event.pk).update(starts_at=past, ends_at=past + timedelta(hours=1))
    assert client.post(detail_url, {"action": "complete"}).status_code == 302
    session.refresh_from_db()
    request.refresh_from_db()
    assert session.status == "done" and request.status == "done"

    # 6. Feedback: each side gets its own link.
    _mail, school_message, _html = rendered(f"school_session_feedback:{session.pk}")
    _mail, amb_message, _html = rendered(f"ambassador_session_feedback:{session.pk}")
    school_token = token_in(school_message.body, "terugkoppeling")
    amb_token = token_in(amb_message.body, "terugkoppeling")
    assert links.feedback_from_token(school_token) == (session, "school")
    assert links.feedback_from_token(amb_token) == (session, "ambassador")
    school_link = reverse("schools:feedback", kwargs={"token": school_token})
    amb_link = reverse("schools:feedback", kwargs={"token": amb_token})

    client.logout()
    response = client.post(school_link, {"rating": "", "pupils_reached": "-1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_rating_error"' in html and 'id="id_pupils_reached_error"' in html
    assert not SessionFeedback.objects.exists()
    response = client.post(school_link, {"rating": "5", "pupils_reached": "48", "comments": "Top!"})
    assert response.status_code == 302
    client.post(amb_link, {"rating": "4", "pupils_reached": "50"})
    # Sending again replaces (one per side).
    client.post(school_link, {"rating": "4", "pupils_reached": "47"})
    feedback = {f.role: (f.rating, f.pupils_reached) for f in SessionFeedback.objects.all()}
    assert feedback == {"school": (4, 47), "ambassador": (4, 50)}

    # 7. Statistics: the school's count wins over the ambassador's.
    stats = selectors.session_statistics()
    assert [(r.label, r.sessions, r.pupils) for r in stats["regions"]] == [
        (school.region.name, 1, 47)
    ]
    assert [(r.label, r.sessions, r.pupils) for r in stats["work_fields"]] == [
        ("Ziekenhuizen", 1, 47)
    ]
    client.force_login(staff_user)
    page = client.get(reverse("schools:statistics")).content.decode()
    assert school.region.name in page and "47" in page


def test_cancel_sends_calendar_cancellations_and_reopens_the_request(client, staff_user):
    client.post(reverse("schools:request_create"), form_data())
    request = SchoolSessionRequest.objects.get()
    ambassador = AmbassadorFactory()
    client.force_login(staff_user)
    client.post(
        reverse("schools:request_plan", kwargs={"request_id": request.pk}),
        {"ambassador": ambassador.pk, "slot": request.slots.first().pk},
    )
    session = SchoolSession.objects.get()
    response = client.post(
        reverse("schools:session_detail", kwargs={"session_id": session.pk}),
        {"action": "cancel", "reopen": "on"},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    request.refresh_from_db()
    assert session.status == "cancelled" and session.event.status == Event.Status.CANCELLED
    assert request.status == "open"
    for key in (
        f"school_session_cancelled:{session.pk}:1",
        f"ambassador_session_cancelled:{session.pk}:1",
    ):
        mail, message, _html = rendered(key)
        assert "geannuleerd" in message.subject.lower()
        cal, vevent = calendar(mail)
        assert mail.attachments[0]["method"] == "CANCEL"
        assert str(vevent["STATUS"]) == "CANCELLED" and int(vevent["SEQUENCE"]) == 1
    # Back on the board, and another ambassador can be planned for it.
    other = AmbassadorFactory()
    response = client.post(
        reverse("schools:request_plan", kwargs={"request_id": request.pk}),
        {"ambassador": other.pk, "slot": request.slots.first().pk},
    )
    assert response.status_code == 302
    assert SchoolSession.objects.filter(request=request, status="planned").get().ambassador == other


def test_assign_conflict_is_shown_on_the_plan_page(client, staff_user):
    client.post(reverse("schools:request_create"), form_data())
    client.post(
        reverse("schools:request_create"), form_data(brin_code="13CD", school_name="Tweede School")
    )
    first, second = SchoolSessionRequest.objects.order_by("pk")
    ambassador = AmbassadorFactory(person__name="Eva Mulder")
    client.force_login(staff_user)
    client.post(
        reverse("schools:request_plan", kwargs={"request_id": first.pk}),
        {"ambassador": ambassador.pk, "slot": first.slots.first().pk},
    )
    response = client.post(
        reverse("schools:request_plan", kwargs={"request_id": second.pk}),
        {"ambassador": ambassador.pk, "slot": second.slots.first().pk},
    )
    assert response.status_code == 409
    assert "Eva Mulder heeft op dat moment al een sessie" in response.content.decode()
    assert SchoolSession.objects.count() == 1


def test_same_brin_reuses_the_school(client):
    client.post(reverse("schools:request_create"), form_data())
    client.post(
        reverse("schools:request_create"),
        form_data(school_name="Anders gespeld", contact_email="b@lyceum.nl"),
    )
    assert Organisation.objects.filter(brin_code="12AB").count() == 1
    assert SchoolSessionRequest.objects.count() == 2
    assert Organisation.objects.get(brin_code="12AB").name == "Het Nieuwe Lyceum"


def test_periodic_task_marks_ended_sessions_held_once_and_asks_feedback_once():
    request = make_request()
    ambassador = AmbassadorFactory()
    session = school_session_assign(
        request=request, ambassador=ambassador, slot=request.slots.first(), user=None
    )
    later = make_request(slots=[(TUESDAY, time(15), time(16)), (THURSDAY, time(15), time(16))])
    future = school_session_assign(
        request=later, ambassador=AmbassadorFactory(), slot=later.slots.first(), user=None
    )
    assert complete_school_sessions_task.delay().get() == 0
    past = timezone.now() - timedelta(hours=2)
    Event.objects.filter(pk=session.event_id).update(
        starts_at=past, ends_at=past + timedelta(hours=1)
    )
    assert complete_school_sessions_task.delay().get() == 1
    assert complete_school_sessions_task.delay().get() == 0  # already held: nothing again
    session.refresh_from_db()
    future.refresh_from_db()
    assert (session.status, future.status) == ("done", "planned")
    assert OutboxMail.objects.filter(template__endswith="_session_feedback").count() == 2


def test_a_known_school_without_region_gets_it_from_the_next_request(client):
    # An API request may leave the region out; matching ranks by the school's region.
    from schools.services import SlotInput, school_request_create

    school_request_create(
        school={
            "brin_code": "12AB",
            "name": "Het Nieuwe Lyceum",
            "street": "Schoolstraat 12",
            "postcode": "3511AB",
            "city": "Utrecht",
            "region": None,
        },
        contact={"name": "Api", "email": "api@lyceum.nl"},
        slots=[
            SlotInput(TUESDAY, time(10), time(11)),
            SlotInput(THURSDAY, time(10), time(11)),
        ],
        education_level="vwo",
        pupils=20,
        classes=1,
    )
    school = Organisation.objects.get(brin_code="12AB")
    assert school.region is None
    client.post(reverse("schools:request_create"), form_data(school_name="Anders gespeld"))
    school.refresh_from_db()
    assert school.region == Region.objects.get(code="12")
    assert school.name == "Het Nieuwe Lyceum"  # the other stored details stay
    # A school that has a region keeps it.
    client.post(
        reverse("schools:request_create"),
        form_data(region=Region.objects.get(code="01").pk, contact_email="c@lyceum.nl"),
    )
    school.refresh_from_db()
    assert school.region.code == "12"
