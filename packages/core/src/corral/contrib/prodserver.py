"""A django-prodserver backend that serves the Django project with corral.

In ``settings.py``, where the Gunicorn backend was configured, only ``BACKEND`` changes::

    PRODUCTION_PROCESSES = {
        "web": {
            "BACKEND": "corral.contrib.prodserver.CorralServer",
            "ARGS": {"bind": "0.0.0.0:8000", "workers": "4", "preload": None},
        },
    }

then ``python manage.py server web``. As with django-prodserver's Gunicorn backend, each
``ARGS`` entry becomes the long flag of the same name (``"workers": "4"`` is
``--workers=4``, ``"preload": None`` is ``--preload``), and the application is the one
``WSGI_APPLICATION`` names. Everything else is the ``corral`` command's: the config file
(``./corral.conf.py`` or ``./gunicorn.conf.py``), ``CORRAL_CMD_ARGS`` and
``GUNICORN_CMD_ARGS``, and its errors: a key that is no corral flag, or a bad value, is one
line on stderr and exit code 2.

Install with ``pip install 'corral[django]'``.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.utils import wsgi_app_name

from corral.cli import main

__all__ = ["CorralServer"]


class CorralServer(BaseServerBackend):
    """Runs ``corral ARGS... MODULE:VARIABLE`` (``WSGI_APPLICATION``) in this process."""

    def start_server(self, *args: str) -> None:
        if not getattr(settings, "WSGI_APPLICATION", None):
            sys.stderr.write(
                "corral: error: the Django setting WSGI_APPLICATION names no application "
                "(for example 'mysite.wsgi.application')\n"
            )
            sys.exit(2)
        sys.exit(main([*args, wsgi_app_name()]))
