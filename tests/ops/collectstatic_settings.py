"""Production settings with the manifest storage minus compression, into a temporary
STATIC_ROOT: lets a test prove the image's collectstatic step succeeds (every file a stylesheet
refers to exists) without the minutes that compressing every bundle takes."""

import os
from pathlib import Path

from config.settings.production import *  # noqa: F403

STATIC_ROOT = Path(os.environ["TEST_STATIC_ROOT"])
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
