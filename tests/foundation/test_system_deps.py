"""scripts/system-deps.sh on a fresh Debian machine, with dpkg-query, apt-get and the Python
interpreter replaced by stand-ins on PATH: nothing is really installed, the apt-get call is
recorded."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEASYPRINT_AND_GETTEXT = ["libpango-1.0-0", "libharfbuzz0b", "fonts-dejavu-core", "gettext"]


def script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


@pytest.fixture
def fresh_machine(tmp_path):
    """A PATH with only the tools the script needs; every Debian package reported missing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("grep", "id"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    script(bin_dir / "dpkg-query", "exit 1")
    calls = tmp_path / "apt-get.calls"
    script(bin_dir / "apt-get", f'echo "$*" >> {calls}')
    script(bin_dir / "sudo", 'exec "$@"')

    def run(*args: str) -> list[str]:
        result = subprocess.run(
            [shutil.which("bash"), "scripts/system-deps.sh", *args],
            cwd=ROOT,
            env={"PATH": str(bin_dir)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        installs = [line for line in calls.read_text().splitlines() if "install" in line]
        assert len(installs) == 1
        return installs[0].split()

    run.bin_dir = bin_dir
    return run


def test_python_without_venv_support_gets_its_venv_package(fresh_machine):
    # Debian's python3.11 without python3.11-venv: `import ensurepip` fails.
    script(
        fresh_machine.bin_dir / "python3.11",
        'case "$2" in *ensurepip*) exit 1;; *) echo 3.11;; esac',
    )
    installed = fresh_machine()
    assert "python3.11-venv" in installed
    assert "python3.11" not in installed
    assert set(WEASYPRINT_AND_GETTEXT) <= set(installed)


def test_machine_without_python_gets_python_311_and_venv(fresh_machine):
    installed = fresh_machine()
    assert {"python3.11", "python3.11-venv"} <= set(installed)


def test_python_with_venv_support_needs_nothing_extra(fresh_machine):
    script(fresh_machine.bin_dir / "python3.11", "exit 0")
    installed = fresh_machine("--with-browser")
    assert not [p for p in installed if p.startswith("python")]
    assert "chromium" in installed
