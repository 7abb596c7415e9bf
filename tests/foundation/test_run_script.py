"""scripts/run.sh, the body of `make run` (which starts servers, so only its text and --help are
exercised here; tests/foundation/test_embedded_default.py runs the worker it starts)."""

import re
import subprocess
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "scripts" / "run.sh").read_text()


def run_script(*args: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "scripts/run.sh", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_help_explains_and_starts_nothing(tmp_path):
    result = run_script("--help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout and "make run" in result.stdout
    # Nothing ran: the settings would have created VAR_DIR, migrate a database in it.
    assert not (tmp_path / "var").exists()


def test_an_unknown_argument_is_refused(tmp_path):
    result = run_script("--port=9000", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "--help" in result.stderr
    assert not (tmp_path / "var").exists()


def test_run_migrates_seeds_and_starts_a_worker_for_every_routed_queue():
    for step in ("migrate", "collectstatic", "compilemessages", "seed_demo", "runserver"):
        assert f"manage.py {step}" in SCRIPT, step
    queues = set(re.search(r"--queues ([\w,]+)", SCRIPT).group(1).split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert {settings.CELERY_TASK_DEFAULT_QUEUE, *routed} <= queues
    # It tells the newcomer where the site is and how to log in.
    assert "http://$HOST:$PORT/" in SCRIPT
    assert "organisator@werkstress.example.nl" in SCRIPT
