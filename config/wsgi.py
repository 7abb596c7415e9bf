import os

from django.core.wsgi import get_wsgi_application

from common.runtime import prepare_server_process

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_wsgi_application()
prepare_server_process()
