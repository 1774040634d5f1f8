"""The fixture project's views: the same paths and answers as ``flaskapp``."""

import hashlib
import json
import os

from django.http import (
    FileResponse,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
    StreamingHttpResponse,
)
from django.views.decorators.http import require_POST, require_safe
from framework_probe import CountedFile, server_fileno_calls, static_path


@require_safe
def index(request):
    return HttpResponse("hello from django", content_type="text/plain")


@require_safe
def hello(request):
    return HttpResponse(
        "hello from django", content_type="text/plain", headers={"X-Framework": "django"}
    )


@require_POST
def echo_json(request):
    return JsonResponse(
        {
            "received": json.loads(request.body),
            "remote": request.META["REMOTE_ADDR"],
            "scheme": request.scheme,
            "pid": os.getpid(),
        }
    )


@require_safe
def stream(request):
    return StreamingHttpResponse((f"part {i}\n" for i in range(3)), content_type="text/plain")


def upload(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    digest = hashlib.sha256()
    length = 0
    for block in request.FILES["file"].chunks():
        digest.update(block)
        length += len(block)
    return JsonResponse(
        {"sha256": digest.hexdigest(), "length": length, "name": request.POST["name"]}
    )


@require_safe
def static(request):
    return FileResponse(open(static_path(), "rb"), content_type="application/octet-stream")


@require_safe
def counted_static(request):
    return FileResponse(CountedFile(static_path()), content_type="application/octet-stream")


@require_safe
def fileno_calls(request):
    return HttpResponse(str(server_fileno_calls()), content_type="text/plain")


@require_safe
def pid(request):
    return HttpResponse(str(os.getpid()), content_type="text/plain")


@require_safe
def boom(request):
    raise RuntimeError("boom from a django view")
