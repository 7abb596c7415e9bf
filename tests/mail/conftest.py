"""Real parts for the mail tests: an SMTP server on loopback, Redis, Celery worker processes."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


# --- SMTP ---------------------------------------------------------------------------------------


class SmtpSink:
    """aiosmtpd handler that keeps every accepted message; can be told to reject, or to take
    `delay` seconds over each DATA (a slow server: a mail is in flight for that long)."""

    def __init__(self) -> None:
        self.messages: list = []
        self.raw: list[bytes] = []  # the bytes as they came over the wire, per message
        self.rcpt_tos: list[list[str]] = []  # the envelope recipients, per message
        self.peers: list = []  # (host, port) of the client connection per accepted message
        self.reject: str | None = None  # e.g. "451 4.3.0 try later" or "550 5.1.1 no such user"
        self.delay = 0.0
        self.receiving: Counter = Counter()  # Message-IDs whose DATA is being taken right now
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        if self.reject:
            return self.reject
        message = message_from_bytes(envelope.content, policy=email_policy.default)
        message_id = str(message["Message-ID"]).strip()
        with self.lock:
            self.receiving[message_id] += 1
        try:
            if self.delay:
                # The message is here; the "250" comes later. A client killed meanwhile has
                # delivered it without knowing (the server keeps what it received).
                await asyncio.sleep(self.delay)
        finally:
            with self.lock:
                self.receiving[message_id] -= 1
                self.messages.append(message)
                self.raw.append(bytes(envelope.original_content or envelope.content))
                self.rcpt_tos.append(list(envelope.rcpt_tos))
                self.peers.append(session.peer)
        return "250 OK"

    def in_flight(self) -> set[str]:
        with self.lock:
            return {message_id for message_id, n in self.receiving.items() if n > 0}

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(str(m["Message-ID"]).strip() for m in self.messages)

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


class LoopbackController(Controller):
    """Binds port 0 (a free port chosen by the OS) and learns the port before the self-test."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp_server():
    sink = SmtpSink()
    controller = LoopbackController(sink, hostname="127.0.0.1", port=0)
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    """Send from this process (eager tasks) to the loopback SMTP server."""
    from communications import sending

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    sending.close_connections()
    yield smtp_server
    sending.close_connections()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- Redis and Celery ---------------------------------------------------------------------------


def _redis_ok(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture
def redis_broker():
    """This engineer's Redis database (CELERY_BROKER_URL), emptied; skip without Redis."""
    import redis

    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://") or not _redis_ok(url):
        pytest.skip("needs a Redis broker: set CELERY_BROKER_URL=redis://...")
    redis.Redis.from_url(url).flushdb()
    with real_broker(url):
        yield url
    redis.Redis.from_url(url).flushdb()


@contextlib.contextmanager
def real_broker(url: str):
    """Publish from this process to `url` for real (test settings run tasks eagerly)."""
    from config.celery import app

    saved = (app.conf.task_always_eager, app.conf.get("broker_write_url"))
    app.conf.task_always_eager = False
    _reset_pools(app, url)
    try:
        yield app
    finally:
        app.conf.task_always_eager = saved[0]
        _reset_pools(app, saved[1])


def _reset_pools(app, url: str) -> None:
    # The connection and producer pools are created lazily from broker_url and then cached
    # (kombu keeps one pool group per URL, so switching back reuses the earlier one).
    # Celery prefers the CELERY_BROKER_URL environment variable over conf.broker_url, but an
    # explicit broker_write_url wins for publishing.
    app.conf.broker_write_url = url
    app._pool = None
    app.amqp._producer_pool = None


class Worker:
    """A real `celery worker` process on this test's database, broker and SMTP server."""

    def __init__(
        self,
        *,
        broker_url: str,
        smtp_port: int,
        log: Path,
        concurrency: int = 2,
        beat: bool = False,
        visibility_timeout: int = 5,
    ):
        db = connection.settings_dict
        database_url = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "VAR_DIR": str(log.parent / "var"),
            "LOG_LEVEL": "INFO",
            # Unacknowledged messages of a killed worker come back quickly in tests, unless a
            # test asks for production's value (recovery must then not depend on them).
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "DB_CONN_MAX_AGE": "0",
        }
        self.log = log
        self.name = f"h4test-{uuid.uuid4().hex[:8]}@127.0.0.1"
        self._logfile = log.open("ab")
        self.process = subprocess.Popen(
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
                "prefork",
                "-n",
                self.name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
                # The periodic tasks (the outbox sweeper) on production's schedule.
                *(["--beat"] if beat else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches every child
        )

    def wait_ready(self, timeout: float = 60) -> None:
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited: {self.log.read_text()[-3000:]}")
            return b" ready." in self.log.read_bytes()

        wait_for(ready, timeout=timeout, what="celery worker ready")

    def kill(self) -> None:
        """SIGKILL the worker and all its pool processes at once: no cleanup, no acks."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._logfile.close()


@pytest.fixture
def start_worker(tmp_path, smtp_server):
    workers: list[Worker] = []

    def start(*, broker_url: str, concurrency: int = 2, **options) -> Worker:
        worker = Worker(
            broker_url=broker_url,
            smtp_port=smtp_server.port,
            log=tmp_path / f"worker-{len(workers)}.log",
            concurrency=concurrency,
            **options,
        )
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()
