from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("hello", views.hello),
    path("json", views.echo_json),
    path("stream", views.stream),
    path("upload", views.upload),
    path("static", views.static),
    path("counted-static", views.counted_static),
    path("fileno-calls", views.fileno_calls),
    path("pid", views.pid),
    path("boom", views.boom),
]
