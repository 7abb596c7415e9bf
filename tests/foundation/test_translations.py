"""Dutch is the first language: every user-facing string in the code has a Dutch translation."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", "var", "staticfiles", "__pycache__", "*.mo", "tests", "bench"
)


def test_every_message_in_the_source_has_a_dutch_translation(tmp_path):
    # Re-extract the messages from a copy of the current source, so a new string without a
    # translation fails here even if nobody ran `make messages` (the real catalogue is untouched).
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=NOT_SOURCE)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "VAR_DIR": str(tmp_path / "var"),
    }
    env.pop("LOCALE_DIR", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "nl", "--no-obsolete"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    po = polib.pofile(str(copy / "locale" / "nl" / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert untranslated == [], f"add Dutch translations (scripts/po_fill.py): {untranslated}"
    assert fuzzy == [], f"review fuzzy translations: {fuzzy}"
