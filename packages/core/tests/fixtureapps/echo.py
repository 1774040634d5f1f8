"""Echo app: answers with the request as the application saw it, as JSON."""

import json
import os

_KEYS = (
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "RAW_URI",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "SERVER_SOFTWARE",
    "wsgi.url_scheme",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
    "wsgi.input_terminated",
    "wsgi.version",
)


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    doc = {key: environ[key] for key in _KEYS if key in environ}
    doc["headers"] = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
    doc["body"] = body.decode("latin-1")
    doc["pid"] = os.getpid()
    doc["has_file_wrapper"] = callable(environ.get("wsgi.file_wrapper"))
    doc["errors_writable"] = callable(getattr(environ.get("wsgi.errors"), "write", None))
    proxy = environ.get("corral.proxy_protocol")
    if proxy is not None:
        doc["proxy"] = {k: v for k, v in proxy.items() if k != "header"}
        doc["PROXY_PROTOCOL"] = environ.get("PROXY_PROTOCOL")
    out = json.dumps(doc, default=str).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
    )
    return [out]
