#!/usr/bin/env bash
# Installs the Debian packages the product and its tests need, only when one is missing.
# WeasyPrint needs Pango/HarfBuzz and a font; compilemessages needs gettext.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core gettext)
if [ "${1:-}" = "--with-browser" ]; then
  # Debian's Chromium for the Playwright browser tests (tests/browser/); `playwright install`
  # is never used, it downloads a browser build from outside the package registries.
  packages+=(chromium)
fi
# `make` creates .venv with Python 3.11 (pyproject's requires-python), the same interpreter the
# Makefile picks. Debian ships a Python's venv/ensurepip in a separate package that a fresh
# machine lacks, and a minimal one may lack the interpreter too.
python=$(command -v python3.11 || command -v python3 || true)
if [ -z "$python" ]; then
  packages+=(python3.11 python3.11-venv)
elif ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  packages+=("python$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv")
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-deps: not a Debian-like system; install these yourself: ${packages[*]}" >&2
  exit 0
fi
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "system-deps: installing ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
