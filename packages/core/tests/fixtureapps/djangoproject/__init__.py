"""A minimal Django project, laid out as ``django-admin startproject`` lays one out
(settings, urls, wsgi), with its views beside them. Served as
``djangoproject.wsgi:application``; it answers the same paths as ``flaskapp``."""
