"""Server processes load the application, then put it out of the garbage collector's reach
(common.runtime; the latency effect is measured by bench/api_lists.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from common.runtime import GC_THRESHOLD

ROOT = Path(__file__).resolve().parents[2]


def test_the_wsgi_module_freezes_the_loaded_application(tmp_path):
    probe = (
        "import gc, json, sys\n"
        "import config.wsgi\n"
        "print(json.dumps({'frozen': gc.get_freeze_count(), 'threshold': gc.get_threshold(),"
        " 'views_loaded': 'api.views' in sys.modules}))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    state = json.loads(out.stdout.strip().splitlines()[-1])
    # Every view was imported before the freeze, so the frozen set is the whole application.
    assert state["views_loaded"]
    assert state["frozen"] > 100_000
    assert tuple(state["threshold"]) == GC_THRESHOLD
