"""A small Flask application, as users bring them."""

from flask import Flask, Response, jsonify, request, stream_with_context

app = Flask(__name__)


@app.get("/")
def index():
    return "hello from flask"


@app.post("/json")
def echo_json():
    return jsonify(received=request.get_json(), remote=request.remote_addr, scheme=request.scheme)


@app.get("/stream")
def stream():
    def gen():
        for i in range(3):
            yield f"part {i}\n"

    return Response(stream_with_context(gen()), mimetype="text/plain")


@app.get("/missing")
def missing():
    return "nope", 404
