"""Every school/ambassador mail renders from real rows in Dutch and English, with the right
personal link and without template leftovers."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from communications.models import OutboxMail
from communications.sending import render_mail
from events.models import Event
from schools import services

from .conftest import AmbassadorFactory, make_request

pytestmark = pytest.mark.django_db

GREETING = {"nl": ("Beste", "Met vriendelijke groet"), "en": ("Dear", "Kind regards")}
TEMPLATES = {
    "school_request_received": "/scholen/aanvraag/",
    "school_session_planned": "/scholen/aanvraag/",
    "ambassador_session_assigned": "/scholen/ambassadeur/",
    "school_session_changed": "/scholen/aanvraag/",
    "ambassador_session_changed": "/scholen/ambassadeur/",
    "school_session_cancelled": "/scholen/aanvraag/",
    "ambassador_session_cancelled": "/scholen/ambassadeur/",
    "school_session_feedback": "/scholen/terugkoppeling/",
    "ambassador_session_feedback": "/scholen/terugkoppeling/",
}


@pytest.fixture
def all_mails():
    """Go through every step once so each template has a queued mail."""
    request = services.school_request_create(
        school={
            "brin_code": "45GH",
            "name": "Mailschool",
            "street": "Postweg 2",
            "postcode": "1011 AB",
            "city": "Amsterdam",
            "region": None,
        },
        contact={"name": "Mila Mail", "email": "mila@mailschool.nl"},
        slots=[
            services.SlotInput(date=d.date, start_time=d.start_time, end_time=d.end_time)
            for d in make_request().slots.all()
        ],
        education_level="vmbo",
        pupils=25,
        classes=1,
    )
    session = services.school_session_assign(
        request=request, ambassador=AmbassadorFactory(), slot=request.slots.first()
    )
    first = request.slots.first()
    services.school_session_reschedule(
        session=session,
        on=first.date,
        start_time=first.start_time.replace(hour=8),
        end_time=first.end_time,
    )
    services.school_session_cancel(session=session)
    again = services.school_session_assign(
        request=request, ambassador=AmbassadorFactory(), slot=request.slots.last()
    )
    past = timezone.now() - timedelta(days=1)
    Event.objects.filter(pk=again.event_id).update(
        starts_at=past, ends_at=past + timedelta(hours=1)
    )
    services.school_session_complete(session=again)
    return OutboxMail.objects.all()


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_template_renders(all_mails, language):
    seen = set()
    for mail in all_mails:
        mail.language = language
        message = render_mail(mail)
        html = message.alternatives[0][0]
        hello, bye = GREETING[language]
        assert hello in message.body and bye in message.body, mail.template
        assert TEMPLATES[mail.template] in message.body, mail.template
        assert TEMPLATES[mail.template] in html, mail.template
        for text in (message.subject, message.body, html):
            assert "{{" not in text and "{%" not in text
        seen.add(mail.template)
    assert seen == set(TEMPLATES)


@pytest.mark.parametrize("language", ["nl", "en"])
def test_organiser_sends_the_personal_link_from_the_admin(organiser_client, client, language):
    ambassador = AmbassadorFactory(person__preferred_language=language)
    response = organiser_client.post(
        "/nl/admin/schools/ambassador/",
        {"action": "send_personal_link", "_selected_action": [ambassador.pk]},
    )
    assert response.status_code == 302
    mail = OutboxMail.objects.get(template="ambassador_personal_link")
    assert mail.to_email == ambassador.person.email and mail.language == language
    message = render_mail(mail)
    assert GREETING[language][0] in message.body
    path = re.search(r"http://[^/\s]+(/\w\w/scholen/ambassadeur/[^\s]+/)", message.body).group(1)
    page = client.get(path)
    assert page.status_code == 200 and ambassador.person.name in page.content.decode()
