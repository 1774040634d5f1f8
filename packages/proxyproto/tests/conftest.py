"""Fixtures that capture headers from really running HAProxy and stunnel.

Each capture runs the program once per test session (they take a fraction of
a second each); see ``_senders.py`` for how.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _senders import Capture, capture_haproxy, capture_stunnel, make_tls


@pytest.fixture(scope="session")
def haproxy_send_proxy(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    return capture_haproxy(tmp_path_factory.mktemp("hap-v1"), "send-proxy")


@pytest.fixture(scope="session")
def haproxy_send_proxy_v2(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    return capture_haproxy(tmp_path_factory.mktemp("hap-v2"), "send-proxy-v2")


@pytest.fixture(scope="session")
def haproxy_v2_unique_id_crc32c(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    return capture_haproxy(
        tmp_path_factory.mktemp("hap-v2-uid"),
        "send-proxy-v2 proxy-v2-options unique-id,crc32c",
        frontend_extra="    unique-id-format corral-%ci-%cp",
    )


@pytest.fixture(scope="session")
def haproxy_v2_ssl(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    tmp = tmp_path_factory.mktemp("hap-v2-ssl")
    return capture_haproxy(tmp, "send-proxy-v2-ssl", tls=make_tls(tmp))


@pytest.fixture(scope="session")
def haproxy_v2_ssl_cn(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    tmp = tmp_path_factory.mktemp("hap-v2-ssl-cn")
    return capture_haproxy(
        tmp,
        "send-proxy-v2-ssl-cn proxy-v2-options "
        "ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c",
        tls=make_tls(tmp),
    )


@pytest.fixture(scope="session")
def haproxy_check_v2(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    return capture_haproxy(
        tmp_path_factory.mktemp("hap-check-v2"),
        "check send-proxy-v2 inter 200ms",
        health_check=True,
    )


@pytest.fixture(scope="session")
def haproxy_check_v2_crc32c(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    return capture_haproxy(
        tmp_path_factory.mktemp("hap-check-v2-crc"),
        "check send-proxy-v2 proxy-v2-options crc32c inter 200ms",
        health_check=True,
    )


@pytest.fixture(scope="session")
def haproxy_check_send_proxy(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    return capture_haproxy(
        tmp_path_factory.mktemp("hap-check-v1"),
        "check check-send-proxy inter 200ms",
        health_check=True,
    )


@pytest.fixture(scope="session")
def stunnel_protocol_proxy(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    return capture_stunnel(tmp_path_factory.mktemp("stunnel"))
