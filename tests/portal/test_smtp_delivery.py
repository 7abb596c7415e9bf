"""The login link and the invitation travel through a real SMTP server on loopback and work
when followed from the received message."""

import re
import threading
from email import message_from_bytes
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller

from accounts.models import User
from organisations import services
from organisations.models import Membership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class _Sink:
    def __init__(self) -> None:
        self.messages: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 OK"


class _LoopbackController(Controller):
    # Bind port 0 and learn the port the OS chose before aiosmtpd's self-test connects.
    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp(settings):
    from communications import sending

    sink = _Sink()
    controller = _LoopbackController(sink, hostname="127.0.0.1", port=0)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    close = getattr(sending, "close_connections", lambda: None)
    close()
    yield sink
    close()
    controller.stop()


def _text_and_html(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_magic_link_mail_over_smtp_logs_in(client, smtp, django_capture_on_commit_callbacks):
    user = UserFactory(email="smtp@example.nl", first_name="Sam", last_name="Smit")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/nl/account/login/link/", {"email": "smtp@example.nl"})
    (message,) = smtp.messages
    assert message["To"] == "Sam Smit <smtp@example.nl>"
    assert "inloglink" in message["Subject"].lower()
    text, html = _text_and_html(message)
    url = re.search(r"https?://\S+/login/link/\S+/", text).group(0)
    assert f'href="{url}"' in html
    assert client.post(_path(url)).status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_invitation_mail_over_smtp_creates_membership(
    client, smtp, org_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            organisation=org_a.organisation,
            email="gast@example.nl",
            role="member",
            invited_by=org_a.admin.user,
        )
    (message,) = smtp.messages
    assert message["To"] == "gast@example.nl"
    assert org_a.organisation.name in message["Subject"]
    text, _html = _text_and_html(message)
    assert "7 dagen" in text
    url = re.search(r"https?://\S+/invitations/\S+/", text).group(0)
    response = client.post(_path(url), {"first_name": "Gast", "last_name": "Vrij"})
    assert response.status_code == 302
    user = User.objects.get(email="gast@example.nl")
    assert Membership.objects.filter(user=user, organisation=org_a.organisation).exists()
