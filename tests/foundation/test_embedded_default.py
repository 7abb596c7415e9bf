"""The embedded default with no variables set: SQLite, Celery on the filesystem transport with
the worker `make run` starts, and mail written to files under var/. Real processes, as
`scripts/run.sh` starts them, so "asynchronous jobs that still run" is proven, not assumed."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Anything that would point the processes at a server instead of the embedded default.
SERVER_VARS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "EMAIL_HOST",
    "CELERY_TASK_ALWAYS_EAGER",
    "DJANGO_SETTINGS_MODULE",
)
ENQUEUE = """
from django.db import transaction
from communications.services import mail_enqueue
with transaction.atomic():
    mail_enqueue(key="embedded-default", template="magic_link", to_email="hr@example.nl",
                 context={"login_url": "https://werkstress.example.nl/l/embedded-default"})
"""
STATUS = """
from communications.models import OutboxMail
print(OutboxMail.objects.get(key="embedded-default").status)
"""


def wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_queued_mail_is_sent_by_the_worker_into_var_mail(tmp_path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in SERVER_VARS}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.base", VAR_DIR=str(var))

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    manage("migrate", "--noinput", "-v0")
    assert (var / "db.sqlite3").exists()

    log = tmp_path / "worker.log"
    with log.open("ab") as logfile:
        # The worker as scripts/run.sh starts it (all three queues), with the solo pool so the
        # test needs one process.
        worker = subprocess.Popen(
            [str(BIN / "celery"), "-A", "config", "worker", "-Q", "default,mail,documents"]
            + ["-P", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]
            + ["--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def ready() -> bool:
            assert worker.poll() is None, log.read_text()[-3000:]
            return b" ready." in log.read_bytes()

        wait_for(ready, timeout=90, what="the celery worker")
        assert "filesystem://" in log.read_text()

        manage("shell", "-c", ENQUEUE)

        def mail_file() -> bool:
            return any(
                "/l/embedded-default" in path.read_text(errors="replace")
                for path in (var / "mail").glob("*")
                if path.is_file()
            )

        wait_for(mail_file, timeout=90, what="the mail file under var/mail/")
        # The sender writes the file, then records the row as sent.
        wait_for(
            lambda: manage("shell", "-c", STATUS).split()[-1] == "sent", timeout=60, what="sent"
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
