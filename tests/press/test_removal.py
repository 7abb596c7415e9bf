"""Removal from the press list (mail link or staff action) stops every further mail."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common.errors import RuleViolation
from press import links, services
from press.models import Journalist

from . import helpers as h

pytestmark = pytest.mark.django_db


def test_removal_link_needs_confirmation_then_removes(client):
    j = h.journalist()
    url = reverse("press:remove", kwargs={"token": links.removal_token(j)})
    assert client.get(url).status_code == 200
    refused = client.post(url, {})
    assert refused.status_code == 400
    assert 'aria-describedby="id_confirm_error"' in refused.content.decode()
    assert Journalist.objects.get(pk=j.pk).removed_at is None
    assert client.post(url, {"confirm": "on"}).status_code == 200
    assert Journalist.objects.get(pk=j.pk).removed_at is not None


def test_removed_journalist_gets_no_more_mail(settings):
    settings.PRESS_REMINDER_DAYS = 1
    m = h.moment(starts_in=timedelta(days=30))
    stays, leaves = h.journalist(), h.journalist()
    accepted_leaver = h.journalist()
    h.invite(m, leaves)
    services.press_invitation_respond(invitation=h.invite(m, accepted_leaver), accept=True)
    before = len(h.mails(to=leaves.person.email)) + len(h.mails(to=accepted_leaver.person.email))

    services.journalist_remove(journalist=leaves, note="asked by phone")
    services.journalist_remove(journalist=accepted_leaver)
    services.journalist_remove(journalist=leaves)  # idempotent

    # New invitations skip them; reminders skip them; calendar updates skip them.
    m2 = h.moment()
    sent = services.press_invitations_send(moment=m2, journalists=[stays, leaves])
    assert [inv.journalist_id for inv in sent] == [stays.pk]
    services.press_reminders_send(now=timezone.now() + timedelta(days=2))
    assert {r.to_email for r in h.mails("press_invitation_reminder")} <= {stays.person.email}
    new_start = m.event.starts_at + timedelta(hours=2)
    services.media_moment_update(
        moment=m, starts_at=new_start, ends_at=new_start + timedelta(hours=1)
    )
    services.media_moment_cancel(moment=m)
    after = len(h.mails(to=leaves.person.email)) + len(h.mails(to=accepted_leaver.person.email))
    assert after == before

    # Answering or accrediting through an old link is refused too (it would mail).
    with pytest.raises(RuleViolation) as exc:
        services.press_invitation_respond(invitation=leaves.invitations.get(), accept=True)
    assert exc.value.code in ("journalist_removed", "already_cancelled")


def test_the_mail_guard_itself_refuses(settings):
    j = h.journalist()
    services.journalist_remove(journalist=j)
    with pytest.raises(RuleViolation) as exc:
        services._journalist_mail(
            journalist=Journalist.objects.get(pk=j.pk),
            key="x",
            template="press_invitation",
            context={},
            event_id=None,
        )
    assert exc.value.code == "journalist_removed"


def test_removed_journalist_cannot_accept_an_open_invitation():
    m = h.moment()
    j = h.journalist()
    inv = h.invite(m, j)
    services.journalist_remove(journalist=j)
    with pytest.raises(RuleViolation) as exc:
        services.press_invitation_respond(invitation=inv, accept=True)
    assert exc.value.code == "journalist_removed"
    assert len(h.mails("press_invitation_accepted")) == 0


def test_staff_admin_action_removes(organiser_client):
    j = h.journalist()
    response = organiser_client.post(
        reverse("admin:press_journalist_changelist"),
        {"action": "remove_from_press_list", "_selected_action": [j.pk]},
    )
    assert response.status_code == 302
    assert Journalist.objects.get(pk=j.pk).removed_at is not None


def test_removal_withdraws_press_mail_still_waiting_in_the_outbox(mailoutbox):
    """A mail queued just before the removal (the worker had not sent it yet) or waiting for
    a retry after an SMTP hiccup is not sent after the removal; mail to other journalists and
    mail that is not press mail are left alone."""
    from communications import sending
    from communications.models import OutboxMail
    from communications.services import mail_enqueue

    j, other = h.journalist(), h.journalist()
    m = h.moment()
    h.invite(m, other)
    services.press_invitation_respond(invitation=h.invite(m, j), accept=True)
    [waiting] = h.mails("press_invitation", to=j.person.email)
    [accepted] = h.mails("press_invitation_accepted", to=j.person.email)
    OutboxMail.objects.filter(pk=accepted.pk).update(status=OutboxMail.Status.RETRYING)
    not_press = mail_enqueue(
        key="not-press", template="booking_confirmed", to_email=j.person.email, context={}
    )
    assert waiting.status == OutboxMail.Status.QUEUED

    services.journalist_remove(journalist=j, note="asked by phone")

    for row in (waiting, accepted):
        row.refresh_from_db()
        assert row.status == OutboxMail.Status.FAILED
        assert "removed from the press list" in row.last_error
        assert row.next_attempt_at is None
        # A worker that still holds the task message finds nothing to claim.
        assert sending.mail_send(mail_id=row.pk).status == OutboxMail.Status.FAILED
    assert mailoutbox == []
    assert OutboxMail.objects.get(pk=not_press.pk).status == OutboxMail.Status.QUEUED
    [others] = h.mails("press_invitation", to=other.person.email)
    assert others.status == OutboxMail.Status.QUEUED
