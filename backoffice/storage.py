"""Private storage for export files: outside MEDIA_ROOT, served only by the download view."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible


@deconstructible
class ExportStorage(FileSystemStorage):
    # Read the setting on every use (not once at import) so a worker and tests that point
    # EXPORT_ROOT elsewhere agree on where the files are.
    @property
    def base_location(self):
        return str(settings.EXPORT_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


export_storage = ExportStorage()
