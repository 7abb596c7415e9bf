"""The send step against a real SMTP server on loopback: idempotency, back-off, final failure,
recovery of lost task messages and of claims left by a dead worker."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from communications import sending, services
from communications.models import OutboxMail
from communications.sending import CLAIM_LEASE, MAX_ATTEMPTS, QUEUED_GRACE, backoff_seconds
from participants.services import _ticket_confirmed_mail
from tests.factories import RegistrationFactory, TicketFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db


def _queue(key: str = "booking_confirmed:test") -> OutboxMail:
    registration = RegistrationFactory()
    return services.mail_enqueue(
        key=key,
        template="booking_confirmed",
        to_email=registration.booker.email,
        to_name=registration.booker.name,
        context={"registration_id": registration.pk},
        event_id=registration.event_id,
    )


def _reload(mail: OutboxMail) -> OutboxMail:
    return OutboxMail.objects.get(pk=mail.pk)


def test_mail_is_sent_once_and_a_redelivered_task_is_a_no_op(smtp_settings):
    mail = _queue()
    assert sending.mail_send(mail_id=mail.pk).status == "sent"
    assert sending.mail_send(mail_id=mail.pk).status == "sent"
    assert smtp_settings.count() == 1
    mail = _reload(mail)
    assert mail.attempts == 1
    assert mail.sent_at is not None
    received = smtp_settings.messages[0]
    assert str(received["Message-ID"]).strip() == mail.message_id == sending.message_id_for(mail)
    assert mail.message_id.startswith(f"<outbox.{mail.pk}.")
    assert received["Subject"] == mail.subject
    # Transactional mail: no unsubscribe header.
    assert received["List-Unsubscribe"] is None


def test_enqueue_is_idempotent_per_key(smtp_settings):
    first = _queue("same-key")
    second = services.mail_enqueue(
        key="same-key", template="booking_expired", to_email="other@example.nl"
    )
    assert first.pk == second.pk
    assert OutboxMail.objects.filter(key="same-key").count() == 1


def test_smtp_connection_is_reused_between_mails(smtp_settings):
    for i in range(3):
        sending.mail_send(mail_id=_queue(f"reuse:{i}").pk)
    assert smtp_settings.count() == 3
    assert len(set(smtp_settings.peers)) == 1


def test_temporary_rejection_backs_off_exponentially_then_fails(
    smtp_settings, django_capture_on_commit_callbacks
):
    smtp_settings.reject = "451 4.3.0 Mailbox busy, try again later"
    mail = _queue()
    sending.mail_send(mail_id=mail.pk)
    delays = []
    for attempt in range(1, MAX_ATTEMPTS):
        mail = _reload(mail)
        assert mail.status == OutboxMail.Status.RETRYING
        assert mail.attempts == attempt
        assert "451" in mail.last_error
        delays.append(round((mail.next_attempt_at - mail.updated_at).total_seconds()))
        # A redelivered task before the back-off is over does nothing.
        assert sending.mail_send(mail_id=mail.pk).status == "not_due"
        # The sweeper leaves it alone until it is due, then queues it (tasks run eagerly here).
        assert services.outbox_sweep(now=mail.next_attempt_at - timedelta(seconds=1)) == 0
        with django_capture_on_commit_callbacks(execute=True):
            assert services.outbox_sweep(now=mail.next_attempt_at) == 1
    mail = _reload(mail)
    assert delays == [backoff_seconds(n) for n in range(1, MAX_ATTEMPTS)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920]
    assert mail.status == OutboxMail.Status.FAILED
    assert mail.attempts == MAX_ATTEMPTS
    assert mail.next_attempt_at is None
    assert smtp_settings.count() == 0
    # A failed mail is never picked up again by the sweeper.
    assert services.outbox_sweep(now=mail.updated_at + timedelta(days=30)) == 0


def test_permanent_rejection_fails_at_once(smtp_settings):
    smtp_settings.reject = "550 5.1.1 Mailbox does not exist"
    mail = _queue()
    assert sending.mail_send(mail_id=mail.pk).status == "failed"
    mail = _reload(mail)
    assert mail.attempts == 1
    assert "550" in mail.last_error


def test_lost_task_message_is_queued_again_by_the_sweeper(
    smtp_settings, django_capture_on_commit_callbacks
):
    # The on-commit publish never happened (this test transaction does not commit): the
    # situation of a broker that lost the message.
    mail = _queue()
    now = _reload(mail).created_at
    assert services.outbox_sweep(now=now) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.outbox_sweep(now=now + QUEUED_GRACE + timedelta(seconds=1)) == 1
    assert _reload(mail).status == OutboxMail.Status.SENT
    assert smtp_settings.count() == 1


def test_claim_left_by_a_dead_worker_is_recovered(
    smtp_settings, django_capture_on_commit_callbacks
):
    mail = _queue()
    # A worker claims the row and dies before sending (nothing reaches SMTP).
    claimed, status = sending._claim(mail.pk)
    assert status == OutboxMail.Status.SENDING
    # The redelivered task sees a live claim and leaves it alone.
    assert sending.mail_send(mail_id=mail.pk).status == "busy"
    assert services.outbox_sweep() == 0
    assert smtp_settings.count() == 0
    # Once the claim has expired the sweeper puts it back, and it is sent once.
    later = claimed.next_attempt_at + timedelta(seconds=1)
    claim_length = claimed.next_attempt_at - _reload(mail).updated_at
    assert abs(claim_length - CLAIM_LEASE) < timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.outbox_sweep(now=later) == 1
    mail = _reload(mail)
    assert mail.status == OutboxMail.Status.SENT
    assert mail.attempts == 2
    assert smtp_settings.count() == 1


def test_broker_down_marks_the_row_due_and_keeps_the_booking(
    monkeypatch, django_capture_on_commit_callbacks
):
    from communications import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.send_mails_task, "delay", broker_down)
    monkeypatch.setattr(services, "_broker_down_until", [0.0])
    with django_capture_on_commit_callbacks(execute=True):
        mail = _queue()
    mail = _reload(mail)
    assert mail.status == OutboxMail.Status.QUEUED
    assert services.outbox_sweep(now=mail.next_attempt_at) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protected", [True, False], ids=["row-lock", "control-no-lock"])
def test_two_workers_delivering_the_same_mail_send_it_once(smtp_settings, monkeypatch, protected):
    """Two deliveries of one task at the same moment: the claim under the row lock lets one
    through. Control: without the lock, status and lease checks both send (the test bites)."""
    registration = RegistrationFactory()
    # Created directly: mail_enqueue would already send it on commit (eager tasks in tests).
    mail = OutboxMail.objects.create(
        key="race",
        template="booking_confirmed",
        to_email="race@example.nl",
        context={"registration_id": registration.pk},
    )
    barrier = threading.Barrier(2)
    original_claim = sending._claim_many

    def racing_claim(mail_ids, *, token):
        barrier.wait(timeout=10)
        if protected:
            return original_claim(mail_ids, token=token)
        return list(OutboxMail.objects.filter(pk__in=mail_ids))  # no lock, no status check

    monkeypatch.setattr(sending, "_claim_many", racing_claim)
    if not protected:
        # The lease check before SMTP would stop an unclaimed send too: off in the control.
        monkeypatch.setattr(
            sending, "_ours", lambda mail, token: OutboxMail.objects.filter(pk=mail.pk)
        )
    # One SMTP connection per thread, as in separate worker processes.
    monkeypatch.setattr(sending, "SMTP_BACKEND", "not-reused")
    results = []

    def worker():
        try:
            results.append(sending.mail_send(mail_id=mail.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if protected:
        # The loser sees the winner's claim ("busy") or, if it looked later, the sent row.
        assert sorted(results) in (["busy", "sent"], ["sent", "sent"])
        assert smtp_settings.count() == 1
    else:
        assert smtp_settings.count() == 2


# --- Batches ------------------------------------------------------------------------------------


def _confirmations(n: int, *, registration=None) -> list[OutboxMail]:
    """n ticket confirmations with both attachments, as the booking service queues them."""
    registration = registration or RegistrationFactory()
    ticket_type = TicketTypeFactory(event=registration.event)
    mails = []
    for _ in range(n):
        ticket = TicketFactory(registration=registration, ticket_type=ticket_type)
        mails.append(services.mail_enqueue(**_ticket_confirmed_mail(ticket, event=ticket.event)))
    return mails


def _batch_queries(mails: list[OutboxMail]) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as queries:
        outcomes = sending.mails_send(mail_ids=[m.pk for m in mails])
    return outcomes, len(queries)


def test_a_batch_claims_and_reads_once_and_records_each_mail(smtp_settings):
    registration = RegistrationFactory()
    small = _confirmations(2, registration=registration)
    large = _confirmations(6, registration=registration)
    booker = _queue("booking_confirmed:batch")
    outcomes, small_queries = _batch_queries(small)
    assert {o.status for o in outcomes.values()} == {"sent"}
    outcomes, large_queries = _batch_queries([*large, booker])
    assert {o.status for o in outcomes.values()} == {"sent"}
    # Per mail only its own two UPDATEs (the lease check right before SMTP, the record): the
    # claim and the rows (tickets, and the registration with its tickets for the booker's
    # mail) are one statement per batch.
    assert large_queries - small_queries == 2 * (len(large) + 1 - len(small)) + 2
    assert smtp_settings.count() == 9
    assert len(set(smtp_settings.peers)) == 1, "one SMTP connection for every batch"
    for mail in [*small, *large]:
        mail = _reload(mail)
        assert mail.status == OutboxMail.Status.SENT and mail.attempts == 1
    received = {str(m["Message-ID"]).strip(): m for m in smtp_settings.messages}
    for mail in large:
        message = received[_reload(mail).message_id]
        assert message["To"].addresses[0].addr_spec == mail.to_email
        kinds = sorted(p.get_content_type() for p in message.iter_attachments())
        assert kinds == ["application/pdf", "text/calendar"]


def test_a_batch_sends_only_what_is_due(smtp_settings):
    due, sent, busy, waiting = _confirmations(4)
    assert sending.mail_send(mail_id=sent.pk).status == "sent"
    sending._claim(busy.pk)  # another worker is sending it right now
    OutboxMail.objects.filter(pk=waiting.pk).update(
        status=OutboxMail.Status.RETRYING,
        attempts=1,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    outcomes = sending.mails_send(mail_ids=[due.pk, sent.pk, busy.pk, waiting.pk, 10**9])
    assert {pk: o.status for pk, o in outcomes.items()} == {
        due.pk: "sent",
        sent.pk: "sent",
        busy.pk: "busy",
        waiting.pk: "not_due",
        10**9: "missing",
    }
    assert smtp_settings.count() == 2
    assert sorted(_reload(m).attempts for m in (due, sent)) == [1, 1]


def test_a_batch_past_its_time_gives_the_rest_back(smtp_settings, monkeypatch):
    mails = _confirmations(3)
    original = sending._send_claimed

    def send_then_run_out_of_time(mail, rows, token):
        outcome = original(mail, rows, token)
        monkeypatch.setattr(sending, "BATCH_SEND_SECONDS", -1.0)
        return outcome

    monkeypatch.setattr(sending, "_send_claimed", send_then_run_out_of_time)
    outcomes = sending.mails_send(mail_ids=[m.pk for m in mails])
    assert [outcomes[m.pk].status for m in mails] == ["sent", "released", "released"]
    assert smtp_settings.count() == 1
    for mail in mails[1:]:
        mail = _reload(mail)
        # Back in the queue, due now, the unstarted claim not counted as an attempt.
        assert mail.status == OutboxMail.Status.QUEUED
        assert mail.attempts == 0
        assert mail.next_attempt_at <= timezone.now()
    assert services.outbox_sweep() == 2


def test_one_transaction_publishes_its_mails_in_batches(
    monkeypatch, django_capture_on_commit_callbacks
):
    from communications import tasks

    published = []
    monkeypatch.setattr(tasks.send_mails_task, "delay", lambda ids: published.append(list(ids)))
    monkeypatch.setattr(services, "SEND_BATCH_SIZE", 2)
    registration = RegistrationFactory()

    def enqueue(key):
        return services.mail_enqueue(
            key=key,
            template="booking_confirmed",
            to_email="b@example.nl",
            context={"registration_id": registration.pk},
        ).pk

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        ids = [enqueue(f"batch:{i}") for i in range(3)]
        ids += [
            m.pk
            for m in services.mail_enqueue_many(
                mails=[
                    {
                        "key": "batch:3",
                        "template": "booking_confirmed",
                        "to_email": "c@example.nl",
                    },
                    {
                        "key": "batch:0",
                        "template": "booking_confirmed",
                        "to_email": "dup@example.nl",
                    },
                ]
            )
        ]
        with pytest.raises(RuntimeError), transaction.atomic():
            rolled_back = enqueue("batch:rolled-back")
            raise RuntimeError("savepoint rolled back")
        ids.append(enqueue("batch:4"))
    # One callback per committed row (the first to run publishes the whole transaction's rows).
    assert len(callbacks) == 5
    # The repeated key is not queued twice; the rolled-back mail is not published at all. Its id
    # says nothing (SQLite hands a rolled-back row's id to the next insert), so compare keys.
    expected = list(dict.fromkeys(ids))
    assert len(expected) == 5
    assert not OutboxMail.objects.filter(key="batch:rolled-back").exists()
    keys = dict(OutboxMail.objects.filter(pk__in=expected).values_list("pk", "key"))
    assert [[keys[pk] for pk in batch] for batch in published] == [
        ["batch:0", "batch:1"],
        ["batch:2", "batch:3"],
        ["batch:4"],
    ]
    assert published == [expected[0:2], expected[2:4], expected[4:5]]
    assert rolled_back  # the savepoint did insert a row before it was rolled back


# --- Claim leases -------------------------------------------------------------------------------


def _expire(mail: OutboxMail) -> None:
    """The holder of this claim stopped renewing (died, or stalled) and its lease ran out."""
    OutboxMail.objects.filter(pk=mail.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.parametrize("handed_on_by", ["sweeper", "redelivered-task"])
def test_a_worker_that_lost_its_lease_does_not_send_or_record(
    smtp_settings, django_capture_on_commit_callbacks, handed_on_by
):
    mail = _queue()
    stalled, _status = sending._claim(mail.pk)  # worker A claims, then stalls past its lease
    _expire(mail)
    if handed_on_by == "sweeper":
        with django_capture_on_commit_callbacks(execute=True):
            assert services.outbox_sweep() == 1  # worker B gets it through the queue
    else:
        assert sending.mail_send(mail_id=mail.pk).status == "sent"  # B claims it directly
    assert smtp_settings.count() == 1
    # A wakes up: its claim is gone, so it neither sends nor overwrites B's record.
    assert sending._send_claimed(stalled, None, stalled.claim_token).status == "lost"
    assert sending._record_failure(stalled, RuntimeError("late"), stalled.claim_token).status == (
        "lost"
    )
    sending._release([mail.pk], stalled.claim_token)
    mail = _reload(mail)
    assert smtp_settings.count() == 1
    assert mail.status == OutboxMail.Status.SENT and mail.last_error == ""
    assert mail.attempts == 2


def test_a_stalled_worker_that_delivered_after_losing_its_lease_records_the_truth(
    smtp_settings, monkeypatch
):
    """A's lease ran out during its SMTP conversation and B has claimed the row but not yet
    sent it: A's "sent" stands, so B finds the row sent and sends nothing."""
    mail = _queue()
    stalled, _status = sending._claim(mail.pk)
    original = sending.deliver_rendered
    taken_over = []

    def slow_delivery(rendered):
        original(rendered)
        # Meanwhile the lease ran out and worker B claimed the row.
        _expire(mail)
        taken_over.append(sending._claim(mail.pk)[0])

    monkeypatch.setattr(sending, "deliver_rendered", slow_delivery)
    assert sending._send_claimed(stalled, None, stalled.claim_token).status == "sent"
    monkeypatch.setattr(sending, "deliver_rendered", original)
    [second] = taken_over
    assert second is not None and second.claim_token != stalled.claim_token
    assert _reload(mail).status == OutboxMail.Status.SENT
    # B, about to send, finds it no longer holds the claim (the row is sent): one delivery.
    assert sending._send_claimed(second, None, second.claim_token).status == "lost"
    assert smtp_settings.count() == 1
    assert _reload(mail).status == OutboxMail.Status.SENT


def test_a_resend_after_a_failed_attempt_carries_the_stored_message_id(
    smtp_settings, settings, django_capture_on_commit_callbacks
):
    smtp_settings.reject = "451 4.3.0 try again later"
    mail = _queue()
    assert sending.mail_send(mail_id=mail.pk).status == "retrying"
    stored = _reload(mail).message_id
    assert stored == sending.message_id_for(mail), "stored before the first SMTP attempt"
    # Whatever would derive another one now (here: a new sender domain), the row's stays.
    settings.DEFAULT_FROM_EMAIL = "Werkstress <noreply@elders.example.nl>"
    assert sending.message_id_for(mail) != stored
    smtp_settings.reject = None
    with django_capture_on_commit_callbacks(execute=True):
        assert services.outbox_sweep(now=_reload(mail).next_attempt_at) == 1
    assert _reload(mail).status == OutboxMail.Status.SENT
    assert [str(m["Message-ID"]).strip() for m in smtp_settings.messages] == [stored]
    assert _reload(mail).message_id == stored


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("renewing", [True, False], ids=["lease-renewed", "control-no-renewal"])
def test_a_slow_smtp_conversation_keeps_its_lease(smtp_settings, monkeypatch, renewing):
    """One mail whose SMTP conversation outlasts the lease: the sending worker's lease keeper
    renews it, so the sweeper running meanwhile (and the task it queues) leaves it alone: one
    delivery. Control: without renewal the sweeper hands the row on and it arrives twice."""
    monkeypatch.setattr(sending, "CLAIM_LEASE", timedelta(seconds=1))
    monkeypatch.setattr(sending, "LEASE_RENEW_SECONDS", 0.2 if renewing else 3600.0)
    # A keeper thread of an earlier test sleeps on its old interval: start a fresh one.
    monkeypatch.setattr(sending, "_leases", sending._LeaseKeeper())
    # Separate SMTP connections, as in separate worker processes.
    monkeypatch.setattr(sending, "SMTP_BACKEND", "not-reused")
    smtp_settings.delay = 3.0
    registration = RegistrationFactory()
    # Created directly: mail_enqueue would already send it on commit (eager tasks in tests).
    mail = OutboxMail.objects.create(
        key="slow",
        template="booking_confirmed",
        to_email="slow@example.nl",
        context={"registration_id": registration.pk},
    )
    outcome = []

    def worker():
        try:
            outcome.append(sending.mail_send(mail_id=mail.pk).status)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    # The sweeper runs (beat) while the first worker is in DATA; its tasks run eagerly here.
    while thread.is_alive():
        services.outbox_sweep()
        time.sleep(0.1)
    thread.join()
    wait_for_count = time.monotonic() + 10
    while smtp_settings.count() < (1 if renewing else 2) and time.monotonic() < wait_for_count:
        time.sleep(0.1)
    assert outcome == ["sent"]
    assert _reload(mail).status == OutboxMail.Status.SENT
    if renewing:
        assert smtp_settings.count() == 1
    else:
        assert smtp_settings.count() == 2
