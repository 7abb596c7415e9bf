"""Login by e-mailed link: neutral answer, one-time, expiring after 15 minutes, tamper-proof."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from freezegun import freeze_time

from communications.models import OutboxMail
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REQUEST_URL = "/nl/account/login/link/"


def _request_link(client, email, capture):
    with capture(execute=True):
        return client.post(REQUEST_URL, {"email": email}, follow=True)


def _link_path(message) -> str:
    match = re.search(r"https?://[^/\s]+(/\S+/login/link/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def _without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def _logged_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_unknown_and_known_addresses_get_the_same_neutral_answer(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory(email="bekend@example.nl", first_name="Bea", last_name="Kend")
    unknown = _request_link(client, "onbekend@example.nl", django_capture_on_commit_callbacks)
    assert OutboxMail.objects.count() == 0
    assert mail.outbox == []
    known = _request_link(client, "Bekend@Example.nl", django_capture_on_commit_callbacks)

    assert unknown.status_code == known.status_code == 200
    assert unknown.redirect_chain == known.redirect_chain
    neutral = "Als er een account bestaat voor dit e-mailadres"
    assert neutral in unknown.content.decode()
    # The whole page is identical (apart from the per-response CSRF mask): nothing tells the
    # visitor whether the account exists.
    assert _without_csrf(unknown.content) == _without_csrf(known.content)

    queued = OutboxMail.objects.get()
    assert queued.template == "magic_link"
    assert queued.key.startswith(f"magic_link:{user.pk}:")
    assert queued.to_email == "bekend@example.nl"
    assert queued.context["login_url"].startswith("http")
    # The renderer sent it (eager Celery, locmem backend) in Dutch, with the link.
    (message,) = mail.outbox
    assert message.to == ["Bea Kend <bekend@example.nl>"]
    assert "inloglink" in message.subject.lower()
    assert queued.context["login_url"] in message.body


def test_invalid_address_is_a_field_error_in_dutch(client):
    response = client.post(REQUEST_URL, {"email": "geen-adres"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-describedby="id_email_error"' in html
    assert 'id="id_email_error"' in html
    assert "geldig e-mailadres" in html
    assert OutboxMail.objects.count() == 0


def test_link_logs_in_once(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="deelnemer@example.nl")
    _request_link(client, user.email, django_capture_on_commit_callbacks)
    path = _link_path(mail.outbox[0])

    # Opening the link (as a mail scanner would) does not log in or use it up.
    page = client.get(path)
    assert page.status_code == 200
    assert _logged_in_user_id(client) is None
    assert "deelnemer@example.nl" in page.content.decode()

    response = client.post(path)
    assert response.status_code == 302
    assert _logged_in_user_id(client) == str(user.pk)

    # Used twice: refused, also from another browser.
    other = client.__class__()
    again = other.post(path)
    assert again.status_code == 400
    assert "al gebruikt" in again.content.decode()
    assert _logged_in_user_id(other) is None
    assert other.get(path).status_code == 400


def test_expired_link_fails(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="traag@example.nl")
    with freeze_time("2030-03-01 10:00:00"):
        _request_link(client, user.email, django_capture_on_commit_callbacks)
        path = _link_path(mail.outbox[0])
    with freeze_time("2030-03-01 10:14:30"):
        assert client.get(path).status_code == 200  # still valid just before 15 minutes
    with freeze_time("2030-03-01 10:15:30"):
        response = client.post(path)
    assert response.status_code == 400
    assert "verlopen" in response.content.decode()
    assert _logged_in_user_id(client) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # signature changed
        lambda token: "x" + token[1:],  # payload changed
        lambda token: "niet-een-token",
    ],
)
def test_tampered_link_fails(client, django_capture_on_commit_callbacks, tamper):
    user = UserFactory(email="slim@example.nl")
    _request_link(client, user.email, django_capture_on_commit_callbacks)
    path = _link_path(mail.outbox[0])
    token = path.rstrip("/").rsplit("/", 1)[1]
    bad = reverse("accounts:magic_link_login", kwargs={"token": tamper(token)})
    response = client.post(bad)
    assert response.status_code == 400
    assert "niet geldig" in response.content.decode()
    assert _logged_in_user_id(client) is None
    # The genuine link still works afterwards.
    assert client.post(path).status_code == 302


def test_link_for_another_user_state_fails_after_password_change(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory(email="wissel@example.nl")
    _request_link(client, user.email, django_capture_on_commit_callbacks)
    path = _link_path(mail.outbox[0])
    user.set_password("een-heel-nieuw-wachtwoord-42")
    user.save()
    assert client.post(path).status_code == 400


def test_deactivated_user_gets_no_mail(client, django_capture_on_commit_callbacks):
    UserFactory(email="weg@example.nl", is_active=False)
    response = _request_link(client, "weg@example.nl", django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert OutboxMail.objects.count() == 0


def test_requests_are_rate_limited_per_address(client, django_capture_on_commit_callbacks):
    UserFactory(email="veel@example.nl")
    for _ in range(7):
        response = _request_link(client, "veel@example.nl", django_capture_on_commit_callbacks)
        assert response.status_code == 200
    assert OutboxMail.objects.count() == 5


def test_link_logs_in_and_follows_safe_next_only(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="volg@example.nl")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(REQUEST_URL + "?next=/nl/events/", {"email": user.email, "next": "/nl/events/"})
    path = _link_path(mail.outbox[0])
    page = client.get(path + "?next=/nl/events/").content.decode()
    assert 'value="/nl/events/"' in page
    evil = client.post(path, {"next": "https://kwaadwillend.example.com/"})
    assert evil.status_code == 302
    assert evil["Location"] == "/nl/"


def test_link_follows_a_local_next(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="volg2@example.nl")
    _request_link(client, user.email, django_capture_on_commit_callbacks)
    response = client.post(_link_path(mail.outbox[0]), {"next": "/nl/events/"})
    assert response["Location"] == "/nl/events/"


def test_password_login_page_links_to_magic_link(client):
    html = client.get("/nl/account/login/").content.decode()
    assert 'href="/nl/account/login/link/"' in html
    assert "Inloggen" in html
