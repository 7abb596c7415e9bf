"""The send job on real parts: request -> Redis -> celery worker (send job, then the mails'
own send tasks) -> SMTP on loopback. The SMTP server sees every delivered message, so a mail
queued or delivered twice is visible."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Mailing
from tests.factories import EventFactory, UserFactory
from tests.mail.conftest import wait_for

from .helpers import attendee, attendees_mailing

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

N = 30


def test_a_worker_sends_a_mailing_and_resumes_one_that_crashed_halfway(
    redis_broker, smtp_server, start_worker, monkeypatch
):
    user = UserFactory(is_staff=True)
    event = EventFactory(title="Congres Werkdruk")
    for n in range(N):
        attendee(event, name=f"P{n:02}", email=f"p{n:02}@example.nl")
    sent = attendees_mailing(event, user, subject_nl="Eerste", subject_en="First")
    crashed = attendees_mailing(event, user, subject_nl="Tweede", subject_en="Second")

    # The first one as the organiser's request does it: the job is published on commit.
    assert services.mailing_send(mailing=sent, user=user) == N

    # The second one's task is lost, and a run stops after its first batch of 10 (whose mails
    # were committed and published).
    with monkeypatch.context() as m:
        m.setattr(services, "_queue_job", lambda mailing_id: None)
        services.mailing_send(mailing=crashed, user=user)
        m.setattr(services, "SEND_BATCH_SIZE", 10)
        original, calls = services.mail_enqueue_many, []

        def crash_on_second_batch(*, mails):
            calls.append(len(mails))
            if len(calls) == 2:
                raise ConnectionError("worker killed")
            return original(mails=mails)

        m.setattr(services, "mail_enqueue_many", crash_on_second_batch)
        with pytest.raises(ConnectionError):
            services.mailing_send_run(mailing_id=crashed.pk)
    crashed.refresh_from_db()
    assert (crashed.status, crashed.recipients_done) == (Mailing.Status.SENDING, 10)
    # The sweeper, once they look stale, publishes both jobs again: the crashed one's, and a
    # second job for the first mailing, whose job is still waiting for a worker. That one
    # must add nothing.
    later = timezone.now() + services.STALE_AFTER + timedelta(seconds=1)
    assert services.mailings_resume(now=later) == 2

    start_worker(broker_url=redis_broker)
    wait_for(
        lambda: Mailing.objects.filter(status=Mailing.Status.SENT).count() == 2,
        timeout=90,
        what="both mailings sent",
    )
    wait_for(lambda: smtp_server.count() == 2 * N, timeout=90, what=f"{2 * N} mails at SMTP")
    received = Counter(
        (m["To"].addresses[0].addr_spec, str(m["Subject"])) for m in smtp_server.messages
    )
    assert set(received.values()) == {1}
    assert {subject for _to, subject in received} == {"Eerste", "Tweede"}
    for mailing in (sent, crashed):
        mailing.refresh_from_db()
        assert (mailing.recipients_count, mailing.recipients_done) == (N, N)
