"""The organiser outbox: staff only, filters, search, pagination, viewing and resending."""

import pytest
from django.core import mail as django_mail
from django.urls import reverse

from communications.models import OutboxMail
from participants.models import Registration
from tests.factories import EventFactory, RegistrationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _mail(registration, *, key, status=OutboxMail.Status.SENT, template="booking_confirmed", **kw):
    return OutboxMail.objects.create(
        key=key,
        template=template,
        to_email=kw.pop("to_email", registration.booker.email),
        to_name=kw.pop("to_name", registration.booker.name),
        context={"registration_id": registration.pk},
        event=registration.event,
        status=status,
        **kw,
    )


@pytest.fixture
def mails():
    registration = RegistrationFactory(event=EventFactory(title="Congres Rust"))
    other = RegistrationFactory(event=EventFactory(title="Webinar Balans"))
    return {
        "sent": _mail(registration, key="a", to_email="anna@example.nl", to_name="Anna Smit"),
        "failed": _mail(
            registration,
            key="b",
            status=OutboxMail.Status.FAILED,
            to_email="bert@example.nl",
            attempts=8,
            last_error="SMTPDataError: 451 busy",
        ),
        "queued": _mail(
            other,
            key="c",
            status=OutboxMail.Status.QUEUED,
            template="booking_expired",
            to_email="carla@example.nl",
        ),
    }


def _rows(response) -> set[str]:
    return {m.key for m in response.context["page"].object_list}


def test_outbox_is_staff_only(client, mails):
    url = reverse("communications:outbox_list")
    detail = reverse("communications:outbox_detail", args=[mails["sent"].pk])
    resend = reverse("communications:outbox_resend", args=[mails["failed"].pk])
    html = reverse("communications:outbox_html", args=[mails["sent"].pk])
    for target in (url, detail, html):
        response = client.get(target)
        assert response.status_code == 302
        assert "/account/" in response["Location"] or "login" in response["Location"]
    client.force_login(UserFactory(is_staff=False))
    for target in (url, detail, html):
        assert client.get(target).status_code == 403
    assert client.post(resend).status_code == 403
    assert OutboxMail.objects.get(pk=mails["failed"].pk).status == OutboxMail.Status.FAILED
    assert OutboxMail.objects.count() == 3


def test_list_shows_status_attempts_and_error(organiser_client, mails):
    response = organiser_client.get(reverse("communications:outbox_list"))
    assert response.status_code == 200
    assert _rows(response) == {"a", "b", "c"}
    content = response.content.decode()
    assert "SMTPDataError: 451 busy" in content
    assert str(OutboxMail.Status.FAILED.label) in content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "failed"}, {"b"}),
        ({"template": "booking_expired"}, {"c"}),
        ({"recipient": "ANNA"}, {"a"}),
        ({"recipient": "Smit"}, {"a"}),
        ({"status": "sent", "recipient": "bert"}, set()),
    ],
)
def test_filters(organiser_client, mails, query, expected):
    response = organiser_client.get(reverse("communications:outbox_list"), query)
    assert response.status_code == 200
    assert _rows(response) == expected


def test_event_filter(organiser_client, mails):
    event = mails["queued"].event
    response = organiser_client.get(reverse("communications:outbox_list"), {"event": event.pk})
    assert _rows(response) == {"c"}


def test_bad_filter_shows_a_field_error_not_a_500(organiser_client, mails):
    response = organiser_client.get(
        reverse("communications:outbox_list"), {"status": "exploded", "event": "x"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"status", "event"}
    assert _rows(response) == set()
    content = response.content.decode()
    assert 'id="id_status_error"' in content
    assert 'aria-describedby="id_status_error"' in content


def test_pagination(organiser_client):
    registration = RegistrationFactory()
    for i in range(60):
        _mail(registration, key=f"bulk:{i}")
    first = organiser_client.get(reverse("communications:outbox_list"), {"status": "sent"})
    assert len(first.context["page"].object_list) == 50
    assert "status=sent&amp;page=2" in first.content.decode()
    second = organiser_client.get(
        reverse("communications:outbox_list"), {"status": "sent", "page": 2}
    )
    assert len(second.context["page"].object_list) == 10


def test_detail_shows_the_rendered_mail(organiser_client, mails):
    mail = mails["sent"]
    response = organiser_client.get(reverse("communications:outbox_detail", args=[mail.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Congres Rust" in content
    assert Registration.objects.get(pk=mail.context["registration_id"]).code in content
    html = organiser_client.get(reverse("communications:outbox_html", args=[mail.pk]))
    assert html.status_code == 200
    assert "sandbox" in html["Content-Security-Policy"]
    assert "Congres Rust" in html.content.decode()


def test_resend_failed_mail_requeues_the_same_row(
    organiser_client, mails, django_capture_on_commit_callbacks
):
    mail = mails["failed"]
    with django_capture_on_commit_callbacks(execute=True):
        response = organiser_client.post(
            reverse("communications:outbox_resend", args=[mail.pk]), follow=True
        )
    assert response.status_code == 200
    mail.refresh_from_db()
    assert mail.status == OutboxMail.Status.SENT
    assert mail.attempts == 1
    assert len(django_mail.outbox) == 1
    assert OutboxMail.objects.count() == 3


def test_resend_sent_mail_keeps_history(
    organiser_client, mails, django_capture_on_commit_callbacks
):
    original = mails["sent"]
    for n in (1, 2):
        with django_capture_on_commit_callbacks(execute=True):
            response = organiser_client.post(
                reverse("communications:outbox_resend", args=[original.pk])
            )
        copy = OutboxMail.objects.get(key=f"a:resend:{n}")
        assert response.status_code == 302
        assert response["Location"].endswith(
            reverse("communications:outbox_detail", args=[copy.pk])
        )
        assert copy.status == OutboxMail.Status.SENT
        assert copy.message_id != original.message_id
    original.refresh_from_db()
    assert original.status == OutboxMail.Status.SENT
    assert len(django_mail.outbox) == 2
    detail = organiser_client.get(reverse("communications:outbox_detail", args=[original.pk]))
    assert len(detail.context["history"]) == 3


def test_resend_of_a_queued_mail_is_refused(organiser_client, mails):
    mail = mails["queued"]
    response = organiser_client.post(
        reverse("communications:outbox_resend", args=[mail.pk]), follow=True
    )
    assert response.status_code == 200
    assert "nog niet opnieuw" in response.content.decode()
    assert OutboxMail.objects.count() == 3
    mail.refresh_from_db()
    assert mail.status == OutboxMail.Status.QUEUED


def test_resend_needs_post(organiser_client, mails):
    url = reverse("communications:outbox_resend", args=[mails["failed"].pk])
    assert organiser_client.get(url).status_code == 405


def test_admin_action_resends_failed_mails(
    organiser_client, mails, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = organiser_client.post(
            reverse("admin:communications_outboxmail_changelist"),
            {"action": "resend", "_selected_action": [mails["failed"].pk, mails["queued"].pk]},
            follow=True,
        )
    assert response.status_code == 200
    mails["failed"].refresh_from_db()
    mails["queued"].refresh_from_db()
    assert mails["failed"].status == OutboxMail.Status.SENT
    assert mails["queued"].status == OutboxMail.Status.QUEUED
    assert len(django_mail.outbox) == 1
