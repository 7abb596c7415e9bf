"""The embedded default (SQLite): FOR UPDATE is a no-op there, so bookings serialise on the
IMMEDIATE transaction mode of the settings. A real file database, real threads."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _rush(tmp_path, *args):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "WARNING",
    }
    out = subprocess.run(
        [sys.executable, "-m", "tests.participants._sqlite_rush", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_sqlite_immediate_mode_serialises_bookings(tmp_path):
    result = _rush(tmp_path)
    assert result["booked"] == result["held"] == 30
    assert result["codes"] == ["sold_out"], result


@pytest.mark.slow
def test_control_sqlite_deferred_mode_fails_bookings(tmp_path):
    """Without IMMEDIATE, transactions that read first and then write collide: SQLite refuses
    the upgrade with "database is locked" and bookings fail with a database error."""
    result = _rush(tmp_path, "DEFERRED")
    assert result["held"] <= 30
    assert "OperationalError" in result["codes"], result
