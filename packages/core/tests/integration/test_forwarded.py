"""Forwarding fields are honoured from --forwarded-allow-ips peers only, never half-applied."""

from __future__ import annotations

import socket

from corral_testing import Client

FORWARDED_HEAD = (
    b"GET /app/x HTTP/1.1\r\nHost: internal:8000\r\n"
    b"X-Forwarded-For: 203.0.113.9, 198.51.100.7\r\n"
    b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.example\r\n"
    b"X-Forwarded-Port: 443\r\nSCRIPT_NAME: /app\r\n\r\n"
)


def _ask(server, source: str) -> dict:
    sock = socket.socket()
    sock.settimeout(10)
    sock.bind((source, 0))
    sock.connect((server.host, server.port))
    with sock:
        client = Client(sock)
        client.send(FORWARDED_HEAD)
        return client.response().json()


def test_trusted_peer_sets_client_scheme_host_port_and_script_name(corral):
    server = corral("echo:app")  # default: 127.0.0.1 and ::1 are trusted
    doc = _ask(server, "127.0.0.1")
    assert doc["REMOTE_ADDR"] == "198.51.100.7"  # the rightmost untrusted hop
    assert doc["wsgi.url_scheme"] == "https"
    assert doc["SERVER_NAME"] == "shop.example" and doc["SERVER_PORT"] == "443"
    assert doc["SCRIPT_NAME"] == "/app" and doc["PATH_INFO"] == "/x"


def test_untrusted_peer_gets_none_of_it(corral):
    server = corral("echo:app")
    doc = _ask(server, "127.0.0.2")
    assert doc["REMOTE_ADDR"] == "127.0.0.2"
    assert doc["wsgi.url_scheme"] == "http"
    assert doc["SERVER_NAME"] == "internal" and doc["SERVER_PORT"] == "8000"
    assert doc["SCRIPT_NAME"] == "" and doc["PATH_INFO"] == "/app/x"


def test_allow_list_names_other_proxies(corral):
    server = corral("--forwarded-allow-ips", "127.0.0.2", "echo:app")
    assert _ask(server, "127.0.0.2")["REMOTE_ADDR"] == "198.51.100.7"
    assert _ask(server, "127.0.0.1")["REMOTE_ADDR"] == "127.0.0.1"


def test_star_trusts_everyone_and_says_so_loudly(corral):
    server = corral("--forwarded-allow-ips", "*", "echo:app")
    assert _ask(server, "127.0.0.2")["REMOTE_ADDR"] == "198.51.100.7"
    assert "forwarded-allow-ips" in server.log.lower()
