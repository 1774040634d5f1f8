"""The deploy/ recipes pass their programs' own configuration checks, without warnings:
`nginx -t` for both nginx sites, `haproxy -c` for haproxy.cfg (stunnel has no check mode;
its recipe is exercised by scenario 5). The files are rendered as the other scenarios
render them and checked in the proxies image, with the TLS files they name in place."""

from __future__ import annotations

import pytest
from harness.matrix import Figure
from harness.proxies import (
    HAPROXY_CFG,
    HAPROXY_LOG_TARGET,
    HAPROXY_PROXY_SERVER,
    HAPROXY_SERVER_1,
    HAPROXY_SERVER_2,
    NGINX_ASYNC_CONF,
    NGINX_CONF,
    NGINX_UPSTREAM,
    Proxies,
    Stack,
    render,
)


@pytest.mark.cell("0 recipe check: nginx -t {site}", proxy="nginx")
@pytest.mark.workers("sync")
@pytest.mark.parametrize("site", ["corral.conf", "corral-async.conf"])
def test_nginx_site_passes_nginx_t(
    worker: str, site: str, stack: Stack, proxies: Proxies, figure: Figure
) -> None:
    if site == "corral.conf":
        conf = render(NGINX_CONF, {NGINX_UPSTREAM: f"{stack.gateway}:8000"})
    else:
        conf = NGINX_ASYNC_CONF.read_text()  # its unix socket need not exist for -t
    box = proxies.idle(
        {
            f"/etc/nginx/conf.d/{site}": conf,
            "/etc/nginx/tls/corral.crt": stack.tls.crt,
            "/etc/nginx/tls/corral.key": stack.tls.key,
        }
    )
    code, out = box.exec("nginx", "-t")
    figure.set(f"exit {code}: {out.strip().splitlines()[-1] if out.strip() else ''}")
    assert code == 0, out
    assert "syntax is ok" in out and "test is successful" in out, out
    assert "[warn]" not in out and "[emerg]" not in out, out


@pytest.mark.cell("0 recipe check: haproxy -c", proxy="haproxy")
@pytest.mark.workers("sync")
def test_haproxy_cfg_passes_haproxy_c(
    worker: str, stack: Stack, proxies: Proxies, figure: Figure
) -> None:
    cfg = render(
        HAPROXY_CFG,
        {
            HAPROXY_LOG_TARGET: "log stdout format raw local0",
            HAPROXY_SERVER_1: f"{stack.gateway}:8000",
            HAPROXY_SERVER_2: f"{stack.gateway}:8001",
            HAPROXY_PROXY_SERVER: f"{stack.gateway}:8100",
        },
    )
    box = proxies.idle(
        {"/etc/haproxy/haproxy.cfg": cfg, "/etc/haproxy/certs/corral.pem": stack.tls.pem}
    )
    code, out = box.exec("haproxy", "-c", "-f", "/etc/haproxy/haproxy.cfg")
    figure.set(f"exit {code}: {out.strip().splitlines()[-1] if out.strip() else ''}")
    assert code == 0, out
    assert "Configuration file is valid" in out, out
    assert "[WARNING]" not in out and "[ALERT]" not in out, out
