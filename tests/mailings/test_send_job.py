"""Sending a mailing is a job: the request marks it sending and queues a task on commit; the
task queues the outbox in batches (one transaction each), records progress and marks the
mailing sent. A crash keeps the committed batches; a rerun or the sweeper finishes the rest."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from communications.models import OutboxMail
from mailings import selectors, services
from mailings.models import Mailing, Unsubscribe
from tests.factories import EventFactory

from .helpers import attendee, attendees_mailing

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_delivery(monkeypatch):
    # The mails' own send tasks stay off (delivery is tested in tests/mail).
    monkeypatch.setattr("communications.services._queue_send", lambda mail_ids: None)


@pytest.fixture
def five(organiser):
    event = EventFactory()
    for n in range(5):
        attendee(event, name=f"P{n}", email=f"p{n}@example.nl")
    return attendees_mailing(event, organiser)


@pytest.fixture
def batches(monkeypatch):
    """Batches of two; records each batch's size and the mailing's progress before it."""
    monkeypatch.setattr(services, "SEND_BATCH_SIZE", 2)
    seen: list[tuple[int, int]] = []
    original = services.mail_enqueue_many

    def recording(*, mails):
        mailing_id = int(mails[0]["key"].split(":")[1])
        seen.append((len(mails), Mailing.objects.get(pk=mailing_id).recipients_done))
        return original(mails=mails)

    monkeypatch.setattr(services, "mail_enqueue_many", recording)
    return seen


def outbox_keys(mailing) -> list[str]:
    return sorted(selectors.mailing_outbox(mailing=mailing).values_list("key", flat=True))


def test_the_request_queues_no_mail_and_the_job_runs_on_commit(
    five, organiser, batches, no_delivery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.mailing_send(mailing=five, user=organiser) == 5
    five.refresh_from_db()
    assert five.status == Mailing.Status.SENDING
    assert (five.recipients_count, five.recipients_done, five.sent_at) == (5, 0, None)
    assert not OutboxMail.objects.exists() and batches == []
    # The one thing the commit does: queue the job (eager in tests: it runs here).
    assert len(callbacks) == 1
    callbacks[0]()
    five.refresh_from_db()
    assert five.status == Mailing.Status.SENT and five.sent_at is not None
    assert (five.recipients_count, five.recipients_done, five.percent) == (5, 5, 100)
    # Three transactions of at most two recipients; progress recorded after each.
    assert batches == [(2, 0), (2, 2), (1, 4)]
    assert outbox_keys(five) == [f"mailing:{five.pk}:p{n}@example.nl" for n in range(5)]


def test_a_crash_halfway_keeps_committed_batches_and_a_rerun_finishes_without_duplicates(
    five, organiser, batches, monkeypatch, no_delivery
):
    services.mailing_send(mailing=five, user=organiser)
    recording = services.mail_enqueue_many

    def crash_on_second_batch(*, mails):
        if len(batches) == 1:
            raise ConnectionError("worker lost its database connection")
        return recording(mails=mails)

    monkeypatch.setattr(services, "mail_enqueue_many", crash_on_second_batch)
    with pytest.raises(ConnectionError):
        services.mailing_send_run(mailing_id=five.pk)
    five.refresh_from_db()
    assert (five.status, five.recipients_done, five.recipients_count) == ("sending", 2, 5)
    first = dict(selectors.mailing_outbox(mailing=five).values_list("key", "pk"))
    assert len(first) == 2

    # A rerun (the redelivered task) skips what is in the outbox and does the rest.
    monkeypatch.setattr(services, "mail_enqueue_many", recording)
    assert services.mailing_send_run(mailing_id=five.pk).status == Mailing.Status.SENT
    assert outbox_keys(five) == [f"mailing:{five.pk}:p{n}@example.nl" for n in range(5)]
    # The rows of the first run are the same rows, untouched; only three were added.
    assert {
        k: pk for k, pk in selectors.mailing_outbox(mailing=five).values_list("key", "pk")
    }.items() >= first.items()
    assert [size for size, _done in batches[1:]] == [2, 1]
    five.refresh_from_db()
    assert (five.recipients_done, five.recipients_count) == (5, 5)

    # And a run after it was sent adds nothing.
    assert services.mailing_send_run(mailing_id=five.pk).status == Mailing.Status.SENT
    assert OutboxMail.objects.count() == 5


def test_the_sweeper_resumes_a_stale_mailing_only(
    five, organiser, monkeypatch, no_delivery, django_capture_on_commit_callbacks
):
    services.mailing_send(mailing=five, user=organiser)  # its task is lost: never committed
    # A mailing that is making progress is left alone.
    assert services.mailings_resume() == 0
    later = timezone.now() + services.STALE_AFTER + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.mailings_resume(now=later) == 1
    five.refresh_from_db()
    assert five.status == Mailing.Status.SENT
    assert len(outbox_keys(five)) == 5
    # Nothing left to resume.
    assert services.mailings_resume(now=later + services.STALE_AFTER * 2) == 0


def test_the_job_leaves_out_who_unsubscribed_after_send_was_pressed(five, organiser):
    services.mailing_send(mailing=five, user=organiser)
    Unsubscribe.objects.create(email_hash=selectors.email_hash("p3@example.nl"), scope="all")
    services.mailing_send_run(mailing_id=five.pk)
    five.refresh_from_db()
    assert (five.recipients_count, five.excluded_count) == (4, 1)
    assert f"mailing:{five.pk}:p3@example.nl" not in outbox_keys(five)


def test_a_draft_is_not_sent_by_a_stray_task(five):
    assert services.mailing_send_run(mailing_id=five.pk).status == Mailing.Status.DRAFT
    assert not OutboxMail.objects.exists()


def test_progress_page_refreshes_while_sending_and_send_cannot_be_pressed_again(
    five, organiser, organiser_client, batches, monkeypatch, no_delivery
):
    services.mailing_send(mailing=five, user=organiser)
    recording = services.mail_enqueue_many

    def stop_after_first_batch(*, mails):
        if batches:
            raise ConnectionError("worker killed")
        return recording(mails=mails)

    monkeypatch.setattr(services, "mail_enqueue_many", stop_after_first_batch)
    with pytest.raises(ConnectionError):
        services.mailing_send_run(mailing_id=five.pk)

    with translation.override("en"):
        url = reverse("mailings:detail", args=[five.pk])
        send_url = reverse("mailings:send", args=[five.pk])
    page = organiser_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="3">' in html
    assert '<progress id="mailing-progress" max="5" value="2">40%</progress>' in html
    assert "2 of 5 recipients queued" in html
    assert f'href="{url}"' in html  # the reload link, for when the refresh is blocked
    assert send_url not in html

    # Pressing send again (an old tab) changes nothing.
    response = organiser_client.post(send_url, follow=True)
    assert "This mailing has already been sent." in response.content.decode()
    assert OutboxMail.objects.count() == 2

    monkeypatch.setattr(services, "mail_enqueue_many", recording)
    services.mailing_send_run(mailing_id=five.pk)
    html = organiser_client.get(url).content.decode()
    assert 'http-equiv="refresh"' not in html and "mailing-progress" not in html


def test_the_job_runs_on_the_default_queue_and_the_sweeper_is_scheduled(settings):
    from config.celery import app

    app.loader.import_default_modules()
    # Not the mail queue: the job only writes outbox rows, and ticket mails must not wait
    # behind it. Its mails' own send tasks go to the mail queue as usual.
    route = app.amqp.router.route({}, "mailings.tasks.send_mailing_task")
    assert route["queue"].name == "default"
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "mailings.tasks.resume_mailings_task" in tasks
