"""Log lines of failed sends name the mail and the SMTP code, never the recipient.

SMTP replies often quote the address ("550 5.1.1 <x@y>: no such user"). Log lines are shipped
to log storage and outlive an erasure request, so only the outbox row (which the privacy
services reach) keeps the full reply.
"""

import logging
import smtplib

import pytest

from communications import sending, services
from communications.models import OutboxMail
from tests.factories import PersonFactory, RegistrationFactory

pytestmark = pytest.mark.django_db

ADDRESS = "hendrika.zeldzaam@example.nl"


def _queue() -> OutboxMail:
    registration = RegistrationFactory(
        booker=PersonFactory(name="Hendrika Zeldzaam", email=ADDRESS)
    )
    return services.mail_enqueue(
        key=f"booking_confirmed:log:{registration.pk}",
        template="booking_confirmed",
        to_email=ADDRESS,
        to_name="Hendrika Zeldzaam",
        context={"registration_id": registration.pk},
        event_id=registration.event_id,
    )


def _send_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == sending.logger.name]


def test_a_permanent_rejection_is_logged_without_the_address(smtp_settings, caplog):
    smtp_settings.reject = f"550 5.1.1 <{ADDRESS}>: Recipient address rejected"
    mail = _queue()
    with caplog.at_level(logging.WARNING, logger=sending.logger.name):
        assert sending.mail_send(mail_id=mail.pk).status == "failed"
    [line] = _send_lines(caplog)
    assert line == f"mail {mail.pk} failed permanently: SMTPDataError smtp_code=550 status=5.1.1"
    assert "hendrika" not in caplog.text.lower() and "@" not in caplog.text
    # The row keeps the whole reply for the organiser's outbox page.
    assert ADDRESS in OutboxMail.objects.get(pk=mail.pk).last_error


def test_a_temporary_rejection_is_logged_without_the_address(smtp_settings, caplog):
    smtp_settings.reject = f"451 4.2.1 <{ADDRESS}>: mailbox busy, try again later"
    mail = _queue()
    with caplog.at_level(logging.WARNING, logger=sending.logger.name):
        assert sending.mail_send(mail_id=mail.pk).status == "retrying"
    [line] = _send_lines(caplog)
    assert line.startswith(f"mail {mail.pk} failed (attempt 1), retry in ")
    assert line.endswith(": SMTPDataError smtp_code=451 status=4.2.1")
    assert "@" not in caplog.text


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (
            smtplib.SMTPRecipientsRefused({ADDRESS: (550, f"5.1.1 <{ADDRESS}> unknown".encode())}),
            "SMTPRecipientsRefused smtp_code=550 status=5.1.1",
        ),
        (
            smtplib.SMTPSenderRefused(553, f"5.7.1 <{ADDRESS}> not allowed".encode(), ADDRESS),
            "SMTPSenderRefused smtp_code=553 status=5.7.1",
        ),
        # Anything else: its text may hold the address too, so only its type.
        (ValueError(f"cannot encode {ADDRESS}"), "ValueError"),
        (ConnectionRefusedError(111, "Connection refused"), "ConnectionRefusedError"),
    ],
)
def test_every_failure_is_reduced_to_type_and_codes(exc, reason, caplog):
    assert sending.failure_log_reason(exc) == reason
    # Claimed as the sender would (attempt 1): only the claim's holder records a failure.
    mail, _status = sending._claim(_queue().pk)
    with caplog.at_level(logging.WARNING, logger=sending.logger.name):
        sending._record_failure(mail, exc, mail.claim_token)
    [line] = _send_lines(caplog)
    assert line.endswith(f": {reason}") and str(mail.pk) in line
    assert ADDRESS not in caplog.text
