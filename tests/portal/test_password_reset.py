"""Password reset through the outbox: neutral answer, working link, usable once."""

import re

import pytest
from django.core import mail

from communications.models import OutboxMail
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/nl/account/password/reset/"


def _request(client, email, capture):
    with capture(execute=True):
        return client.post(URL, {"email": email}, follow=True)


def test_unknown_address_gets_the_same_answer_and_no_mail(
    client, django_capture_on_commit_callbacks
):
    response = _request(client, "niemand@example.nl", django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "Als er een account bestaat voor dit e-mailadres" in response.content.decode()
    assert OutboxMail.objects.count() == 0


def test_reset_link_sets_a_new_password_once(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="vergeetachtig@example.nl")
    response = _request(client, "Vergeetachtig@example.nl", django_capture_on_commit_callbacks)
    assert "Als er een account bestaat voor dit e-mailadres" in response.content.decode()
    assert OutboxMail.objects.get().template == "password_reset"
    (message,) = mail.outbox
    url = re.search(r"https?://\S+/password/reset/\S+/", message.body).group(0)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]

    form_page = client.get(path, follow=True)
    assert 'name="new_password1"' in form_page.content.decode()
    set_path = form_page.redirect_chain[-1][0]
    weak = client.post(set_path, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200
    assert 'id="id_new_password2_error"' in weak.content.decode()
    done = client.post(
        set_path,
        {"new_password1": "nieuw-en-lang-wachtwoord", "new_password2": "nieuw-en-lang-wachtwoord"},
        follow=True,
    )
    assert "Uw nieuwe wachtwoord is opgeslagen." in done.content.decode()
    user.refresh_from_db()
    assert user.check_password("nieuw-en-lang-wachtwoord")

    # The same link no longer works.
    other = client.__class__()
    reused = other.get(path, follow=True).content.decode()
    assert 'name="new_password1"' not in reused
    assert "niet (meer) geldig" in reused


def test_login_page_offers_password_reset(client):
    assert 'href="/nl/account/password/reset/"' in client.get("/nl/account/login/").content.decode()
