"""Settings are read from the environment; each case runs in a fresh interpreter."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'name': str(settings.DATABASES['default']['NAME']), 'broker': settings.CELERY_BROKER_URL, "
    "'email': settings.EMAIL_BACKEND, 'email_host': getattr(settings, 'EMAIL_HOST', ''), "
    "'email_port': settings.EMAIL_PORT, 'email_user': settings.EMAIL_HOST_USER, "
    "'email_password': settings.EMAIL_HOST_PASSWORD, 'email_tls': settings.EMAIL_USE_TLS, "
    "'email_ssl': settings.EMAIL_USE_SSL, "
    "'lang': settings.LANGUAGE_CODE, 'tz': settings.TIME_ZONE, 'use_tz': settings.USE_TZ, "
    "'languages': [c for c, _ in settings.LANGUAGES]}))"
)
CONFIG_VARS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "DJANGO_SETTINGS_MODULE",
    "LANGUAGE_CODE",
)


def run(env_extra: dict[str, str], *args: str, settings: str = "config.settings.base"):
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update({"DJANGO_SETTINGS_MODULE": settings, **env_extra})
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def probe(env_extra: dict[str, str]) -> dict:
    result = run(env_extra, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_default_needs_no_server(tmp_path):
    conf = probe({"VAR_DIR": str(tmp_path)})
    assert conf["engine"] == "django.db.backends.sqlite3"
    assert conf["name"].startswith(str(tmp_path))
    assert conf["broker"] == "filesystem://"
    assert conf["email"] == "django.core.mail.backends.filebased.EmailBackend"
    assert (conf["lang"], conf["tz"], conf["use_tz"]) == ("nl", "Europe/Amsterdam", True)
    assert conf["languages"] == ["nl", "en"]
    assert (tmp_path / "mail").is_dir()


def test_environment_switches_to_postgres_redis_and_smtp(tmp_path):
    conf = probe(
        {
            "VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://app@db.internal:5432/werkstress",
            "CELERY_BROKER_URL": "redis://cache.internal:6379/1",
            "EMAIL_URL": "smtp+tls://mailer:pw@smtp.internal:587",
        }
    )
    assert conf["engine"] == "django.db.backends.postgresql"
    assert conf["name"] == "werkstress"
    assert conf["broker"] == "redis://cache.internal:6379/1"
    assert conf["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert conf["email_host"] == "smtp.internal"


def test_smtp_settings_without_an_email_url_switch_to_smtp(tmp_path):
    conf = probe(
        {
            "VAR_DIR": str(tmp_path),
            "EMAIL_HOST": "smtp.internal",
            "EMAIL_HOST_USER": "mailer",
            # Characters that would need escaping in an EMAIL_URL pass through unchanged.
            "EMAIL_HOST_PASSWORD": "p@ss:w/rd#1",
            "EMAIL_USE_TLS": "true",
        }
    )
    assert conf["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (conf["email_host"], conf["email_port"]) == ("smtp.internal", 587)
    assert (conf["email_user"], conf["email_password"]) == ("mailer", "p@ss:w/rd#1")
    assert (conf["email_tls"], conf["email_ssl"]) == (True, False)

    implicit_tls = probe(
        {"VAR_DIR": str(tmp_path), "EMAIL_HOST": "smtp.internal", "EMAIL_USE_SSL": "1"}
    )
    assert (implicit_tls["email_port"], implicit_tls["email_ssl"]) == (465, True)
    explicit_port = probe(
        {"VAR_DIR": str(tmp_path), "EMAIL_HOST": "smtp.internal", "EMAIL_PORT": "2525"}
    )
    assert (explicit_port["email_port"], explicit_port["email_tls"]) == (2525, False)
    # .env.example lists the settings empty: an empty port or flag means "not set".
    empty = probe(
        {
            "VAR_DIR": str(tmp_path),
            "EMAIL_HOST": "smtp.internal",
            "EMAIL_PORT": "",
            "EMAIL_USE_TLS": "true",
            "EMAIL_USE_SSL": "",
        }
    )
    assert (empty["email_port"], empty["email_tls"], empty["email_ssl"]) == (587, True, False)


def test_email_url_wins_over_smtp_settings(tmp_path):
    conf = probe(
        {
            "VAR_DIR": str(tmp_path),
            "EMAIL_URL": "smtp+tls://mailer:pw@smtp.from-url:587",
            "EMAIL_HOST": "smtp.from-settings",
        }
    )
    assert conf["email_host"] == "smtp.from-url"


def production_env(tmp_path) -> dict[str, str]:
    return {
        "VAR_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "events.example.nl",
        "DATABASE_URL": f"sqlite:///{tmp_path}/prod.sqlite3",
    }


def test_production_settings_pass_check_deploy(tmp_path):
    result = run(
        production_env(tmp_path),
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        settings="config.settings.production",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_the_development_secret(tmp_path):
    env = production_env(tmp_path)
    env["DJANGO_SECRET_KEY"] = (
        "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
    )
    result = run(env, "manage.py", "check", settings="config.settings.production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_refuse_to_run_without_a_database_url(tmp_path):
    env = production_env(tmp_path)
    del env["DATABASE_URL"]
    result = run(env, "manage.py", "check", settings="config.settings.production")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()
