"""The project's WSGI entry point, as ``startproject`` writes it (plus the fileno probe)."""

import os

from django.core.wsgi import get_wsgi_application
from framework_probe import count_server_calls

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoproject.settings")

application = count_server_calls(get_wsgi_application())
