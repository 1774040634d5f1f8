"""A small Flask application, as users bring them.

Every framework fixture app (this one and ``djangoproject``) answers the same paths, so
the integration tests ask both the same questions: ``/`` and ``/hello`` text, ``/json``
(POST, echoed with the worker's pid), ``/stream`` (a streamed response), ``/upload`` (a
multipart file: its length and SHA-256), ``/static`` and ``/counted-static`` (the file
``CORRAL_TESTING_STATIC`` names, through ``wsgi.file_wrapper``), ``/fileno-calls``,
``/pid`` and ``/boom`` (the view raises; the exception reaches the server).
"""

import hashlib
import os

from flask import Flask, Response, jsonify, request, send_file, stream_with_context
from framework_probe import CountedFile, count_server_calls, server_fileno_calls, static_path

app = Flask(__name__)
# Let a view's exception reach the WSGI server, which logs it and answers 500, as
# Gunicorn users set it to keep one error log.
app.config["PROPAGATE_EXCEPTIONS"] = True


@app.get("/")
def index():
    return "hello from flask"


@app.get("/hello")
def hello():
    return Response("hello from flask", mimetype="text/plain", headers={"X-Framework": "flask"})


@app.post("/json")
def echo_json():
    return jsonify(
        received=request.get_json(),
        remote=request.remote_addr,
        scheme=request.scheme,
        pid=os.getpid(),
    )


@app.get("/stream")
def stream():
    def gen():
        for i in range(3):
            yield f"part {i}\n"

    return Response(stream_with_context(gen()), mimetype="text/plain")


@app.post("/upload")
def upload():
    digest = hashlib.sha256()
    length = 0
    with request.files["file"].stream as f:
        while block := f.read(1 << 16):
            digest.update(block)
            length += len(block)
    return jsonify(sha256=digest.hexdigest(), length=length, name=request.form["name"])


@app.get("/static")
def static_blob():
    return send_file(static_path(), mimetype="application/octet-stream")


@app.get("/counted-static")
def counted_static_blob():
    return send_file(CountedFile(static_path()), mimetype="application/octet-stream")


@app.get("/fileno-calls")
def fileno_calls():
    return str(server_fileno_calls())


@app.get("/pid")
def pid():
    return str(os.getpid())


@app.get("/boom")
def boom():
    raise RuntimeError("boom from a flask view")


@app.get("/missing")
def missing():
    return "nope", 404


app.wsgi_app = count_server_calls(app.wsgi_app)  # WSGI middleware, the Flask way
