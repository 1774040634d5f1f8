"""Settings of the fixture Django project: production-like (DEBUG off), no database."""

SECRET_KEY = "corral-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["t", "localhost", "127.0.0.1"]
ROOT_URLCONF = "djangoproject.urls"
WSGI_APPLICATION = "djangoproject.wsgi.application"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
TIME_ZONE = "UTC"  # Django sets the process TZ from it (the log times too)
# A view's exception reaches the WSGI server, which logs it and answers 500 (the error
# log is the server's, as under Gunicorn).
DEBUG_PROPAGATE_EXCEPTIONS = True
