"""Mail pipeline benchmark: confirmation mails through Celery + Redis to an SMTP server.

Real parts only: outbox rows in PostgreSQL, its own redis-server on a free port, `celery worker`
processes (prefork) and an aiosmtpd server on loopback that counts Message-IDs, so a mail
delivered twice shows up as a duplicate. Variants:

* `prerendered`: the real flow after a batch of bookings is confirmed. The ticket PDFs are
  rendered in bulk on the documents queue (`render_ticket_pdfs_task`, chunks of 100, timed on
  its own: `bulk ticket PDFs/s`), then the `ticket_confirmed` mails go out attaching the stored
  PDF and a freshly generated .ics (`mails/s`);
* `attachments`: the same mails with nothing stored, so every mail renders its own PDF (the
  fallback path);
* `plain`: `ticket_confirmed` body only (no attachments): the pipeline itself (claim, render,
  SMTP, record).

Publishing: `batch` (default) queues the mails the way the outbox does for rows committed
together (`communications.services.outbox_queue`: `send_mails_task`, SEND_BATCH_SIZE rows per
task, one SMTP connection per batch); `single` publishes one `send_mail_task` per mail (what a
stream of one-attendee bookings produces, each committing on its own).

Options (or environment): --mails / BENCH_MAILS (2000), --concurrency / BENCH_CONCURRENCY
(worker processes, 4), --pool / BENCH_POOL (prefork), --variants / BENCH_VARIANTS
("prerendered,plain"), --publish / BENCH_PUBLISH (batch). DATABASE_URL: PostgreSQL (default a
`werkstress_bench_mails` database on 127.0.0.1, created when missing). Prints `mails/s: N` and
`duplicates: N` per run, plus the worker processes' CPU per mail (steadier than wall clock on
a shared machine) and the load average.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/werkstress_bench_mails"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


class Sink:
    """Counts Message-IDs of accepted messages; parsing stays minimal (the sink shares the CPU)."""

    pattern = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)

    def __init__(self) -> None:
        self.ids: Counter = Counter()
        self.attachments = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        match = self.pattern.search(envelope.content)
        with self.lock:
            self.ids[match.group(1) if match else b"?"] += 1
            self.attachments += envelope.content.count(b"Content-Disposition: attachment")
        return "250 OK"


def start_smtp(sink: Sink):
    import logging

    from aiosmtpd.controller import Controller

    # aiosmtpd logs every SMTP command at INFO: thousands of lines on the CPU being measured.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    class LoopbackController(Controller):
        def _trigger_server(self):
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    controller = LoopbackController(sink, hostname="127.0.0.1", port=0)
    controller.start()
    return controller


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    for _ in range(100):
        try:
            if redis.Redis.from_url(url).ping():
                return process, url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def start_worker(*, env: dict, concurrency: int, log: Path, pool: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            "mail,documents,default",
            "-c",
            str(concurrency),
            "-P",
            pool,
            "-n",
            f"bench-{uuid.uuid4().hex[:6]}@127.0.0.1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its children (the prefork pool), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    by_parent: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After "(comm)": state, ppid, ... utime and stime are fields 14 and 15 of the line.
        by_parent.setdefault(int(fields[1]), []).append(int(entry))
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(by_parent.get(pid, []))
    return total


def make_rows(n: int, *, attachments: bool, run: str) -> list[int]:
    from datetime import timedelta

    from django.utils import timezone

    from communications.models import OutboxMail
    from events.models import Campaign, Event, TicketType
    from participants.models import Person, Registration, Ticket

    campaign, _ = Campaign.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    start = timezone.now() + timedelta(days=30)
    event = Event.objects.create(
        campaign=campaign,
        kind=Event.Kind.CONGRESS,
        title=f"Benchcongres {run}",
        slug=f"bench-{run}",
        starts_at=start,
        ends_at=start + timedelta(hours=7),
        venue_name="Jaarbeurs",
        venue_address="Jaarbeursplein 6, Utrecht",
        status=Event.Status.PUBLISHED,
    )
    ticket_type = TicketType.objects.create(event=event, name="Deelnemer")
    booker = Person.objects.create(name="Boeker Bench", email="booker@bench.example.nl")
    registration = Registration.objects.create(event=event, booker=booker)
    people = Person.objects.bulk_create(
        Person(name=f"Deelnemer {i}", email=f"p{i}@bench.example.nl") for i in range(n)
    )
    tickets = Ticket.objects.bulk_create(
        Ticket(registration=registration, event=event, ticket_type=ticket_type, person=p)
        for p in people
    )
    far = timezone.now() + timedelta(days=1)  # keep any sweeper out of the measurement
    mails = OutboxMail.objects.bulk_create(
        OutboxMail(
            key=f"bench:{run}:{t.pk}",
            template="ticket_confirmed",
            to_email=p.email,
            to_name=p.name,
            context={"ticket_id": t.pk},
            event=event,
            next_attempt_at=far,
            attachments=[
                {"type": "ticket_pdf", "ticket_id": t.pk},
                {"type": "ics", "event_id": event.pk, "method": "REQUEST", "ticket_id": t.pk},
            ]
            if attachments
            else [],
        )
        for t, p in zip(tickets, people, strict=True)
    )
    return [m.pk for m in mails]


def prerender(ids: list[int], *, timeout: float = 1800) -> float:
    """Bulk-render the ticket PDFs of these mails on the documents queue, as a confirmed batch
    does (communications.documents.ticket_pdfs_queue); returns the seconds until all are stored."""
    from django.core.files.storage import default_storage

    from communications.documents import TICKET_CHUNK_SIZE, ticket_doc, ticket_pdf_name
    from communications.models import OutboxMail
    from communications.tasks import render_ticket_pdfs_task
    from participants.models import Ticket

    ticket_ids = [m.context["ticket_id"] for m in OutboxMail.objects.filter(pk__in=ids)]
    started = time.perf_counter()
    for start in range(0, len(ticket_ids), TICKET_CHUNK_SIZE):
        render_ticket_pdfs_task.delay(ticket_ids[start : start + TICKET_CHUNK_SIZE])
    tickets = Ticket.objects.select_related("event", "person", "ticket_type", "registration")
    names = [ticket_pdf_name(ticket_doc(t)) for t in tickets.filter(pk__in=ticket_ids)]
    _wait(lambda: all(default_storage.exists(name) for name in names), timeout=timeout)
    return time.perf_counter() - started


def run_variant(
    *,
    name: str,
    attachments: bool,
    n: int,
    concurrency: int,
    db_url: str,
    workdir: Path,
    pool: str = "prefork",
    publish: str = "batch",
) -> None:
    from django.conf import settings

    from communications.models import OutboxMail
    from communications.tasks import send_mail_task
    from config.celery import app

    def publish_all(mail_ids: list[int]) -> None:
        if publish == "single":
            for pk in mail_ids:
                send_mail_task.delay(pk)
        else:
            from communications.services import outbox_queue

            outbox_queue(mail_ids=mail_ids)

    sink = Sink()
    smtp = start_smtp(sink)
    redis_process, broker_url = start_redis(workdir)
    app.conf.broker_write_url = broker_url
    app.conf.task_always_eager = False
    app._pool = None
    app.amqp._producer_pool = None
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "VAR_DIR": str(workdir / "var"),
        # The benchmark checks for stored ticket PDFs where the worker writes them.
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOG_LEVEL": "WARNING",
    }
    run = uuid.uuid4().hex[:8]
    ids = make_rows(n, attachments=attachments, run=run)
    worker = start_worker(
        env=env, concurrency=concurrency, log=workdir / f"worker-{name}.log", pool=pool
    )
    try:
        # Warm up: the worker processes import Django and (for PDFs) load fonts first.
        warm = make_rows(concurrency * 2, attachments=attachments, run=run + "w")
        for pk in warm:
            # One task per mail, so every worker process warms up.
            send_mail_task.delay(pk)
        _wait(
            lambda: OutboxMail.objects.filter(pk__in=warm, status="sent").count() == len(warm),
            timeout=120,
        )
        warm_ids = set(sink.ids)

        render_seconds = prerender(ids) if name == "prerendered" else 0.0
        load_before = os.getloadavg()[0]
        worker_cpu = tree_cpu_seconds(worker.pid)
        started = time.perf_counter()
        harness_cpu = time.process_time()  # this process: the SMTP sink thread + polling
        publish_all(ids)

        def all_sent() -> bool:
            # The sink's count is free; the database is asked only once it can be true.
            if len(sink.ids) - len(warm_ids) < n:
                return False
            return OutboxMail.objects.filter(pk__in=ids, status="sent").count() == n

        _wait(all_sent, timeout=1800, interval=0.02)
        elapsed = time.perf_counter() - started
        harness_cpu = time.process_time() - harness_cpu
        worker_cpu = tree_cpu_seconds(worker.pid) - worker_cpu
        failed = OutboxMail.objects.filter(pk__in=ids).exclude(status="sent").count()
        time.sleep(0.5)  # let the SMTP server finish logging the last messages
        counted = Counter({k: v for k, v in sink.ids.items() if k not in warm_ids})
        duplicates = sum(v - 1 for v in counted.values())
        print(
            f"variant: {name} ({n} x ticket_confirmed"
            f"{', ticket PDF + .ics' if attachments else ', no attachments'}), "
            f"celery -P {pool} -c {concurrency}, publish {publish}"
            + (f" ({_batch_size()} per task)" if publish == "batch" else " (1 per task)")
        )
        if render_seconds:
            print(f"bulk ticket PDFs/s: {n / render_seconds:.1f} ({render_seconds:.1f} s)")
            print(f"mails/s including the bulk render: {n / (render_seconds + elapsed):.1f}")
        print(f"mails/s: {n / elapsed:.1f}")
        print(f"duplicates: {duplicates}")
        print(f"worker CPU per mail: {1000 * worker_cpu / n:.1f} ms (celery processes)")
        print(f"harness CPU (SMTP sink + polling): {harness_cpu:.1f} s of {elapsed:.1f} s")
        print(f"load average (1 min) before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
        print(f"distinct Message-IDs received: {len(counted)} of {n}; not sent: {failed}")
        sys.stdout.flush()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        redis_process.terminate()
        redis_process.wait(timeout=10)
        smtp.stop()


def _batch_size() -> int:
    from communications import services

    return services.SEND_BATCH_SIZE


def _wait(predicate, *, timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError("benchmark did not finish in time")


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mails", type=int, default=int(env("BENCH_MAILS", "2000")))
    parser.add_argument("--concurrency", type=int, default=int(env("BENCH_CONCURRENCY", "4")))
    parser.add_argument("--pool", default=env("BENCH_POOL", "prefork"))
    parser.add_argument(
        "--variants",
        default=env("BENCH_VARIANTS", "prerendered,plain"),
        help="comma-separated: prerendered, attachments, plain",
    )
    parser.add_argument(
        "--publish", choices=("batch", "single"), default=env("BENCH_PUBLISH", "batch")
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if not shutil.which("redis-server"):
        print("skipped: redis-server is not installed")
        return 0
    db_url = os.environ.get("DATABASE_URL", "")
    if not db_url.startswith("postgres"):
        db_url = DEFAULT_DB
    ensure_database(db_url)
    os.environ["DATABASE_URL"] = db_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    workdir = Path(tempfile.mkdtemp(prefix="bench-mails-"))
    os.environ.setdefault("VAR_DIR", str(workdir / "var"))

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        for variant in args.variants.split(","):
            run_variant(
                name=variant,
                attachments=variant in ("attachments", "prerendered"),
                n=args.mails,
                concurrency=args.concurrency,
                db_url=db_url,
                workdir=workdir,
                pool=args.pool,
                publish=args.publish,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
