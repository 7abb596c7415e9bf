"""Test settings: the base settings plus speed-ups that do not change behaviour under test."""

from .base import *  # noqa: F403
from .base import VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = VAR_DIR / "test-media"
# Tasks run where they are queued unless a test starts a real worker on a real broker.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Most tests log organisers in with force_login and test something else; the two-factor
# tests (tests/permissions/) switch enforcement on with the settings fixture.
OTP_REQUIRED_FOR_ORGANISERS = False
# Failed-login lockouts (django-axes) stay on, as in production: a test that logs in with
# `client.login()` passes `request=HttpRequest()` (axes counts per request), or uses force_login.
