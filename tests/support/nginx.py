"""The project's nginx configuration, made runnable in a temporary folder.

``deployment/nginx/queue-app.conf`` is written for a clinic's server (ports 80 and 443, the
clinic's certificate, processes on 5001 and 5002).  Tests use it as it is, changing only those
addresses: a self-signed certificate for ``queue.example-clinic.kr`` and 127.0.0.1, free ports,
and the ports of the servers they started.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .loopback import self_signed_certificate

PROJECT = Path(__file__).resolve().parents[2]
NGINX_CONF = PROJECT / "deployment" / "nginx" / "queue-app.conf"
SERVER_NAME = "queue.example-clinic.kr"
CERT_DIR = f"/etc/letsencrypt/live/{SERVER_NAME}"


def nginx_binary() -> str:
    """nginx, or a skip (a failure under CI=true, where .ci/run installs it)."""
    found = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("nginx is not installed, and CI must check the nginx configuration (.ci/run installs it)")
    pytest.skip("nginx is not installed (apt-get install nginx) to check deployment/nginx/queue-app.conf")


def runnable_config(
    folder: Path, http_port: int = 80, https_port: int = 443, upstreams: tuple[int, ...] = (5001, 5002)
) -> Path:
    """An nginx.conf in ``folder`` around the project's file, with the test's certificate and ports."""
    cert, key = self_signed_certificate(folder, (SERVER_NAME,))
    text = NGINX_CONF.read_text(encoding="utf-8")
    for needed in (f"{CERT_DIR}/fullchain.pem", f"{CERT_DIR}/privkey.pem", "listen 80;", "listen 443 ssl"):
        assert needed in text, f"{NGINX_CONF} no longer has {needed!r}; update tests/support/nginx.py"
    text = text.replace(f"{CERT_DIR}/fullchain.pem", str(cert)).replace(f"{CERT_DIR}/privkey.pem", str(key))
    # Only IPv4 loopback in tests: a machine without IPv6 could not bind [::].
    text = "\n".join(line for line in text.splitlines() if "listen [::]" not in line)
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    text = text.replace("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
    servers = "".join(f"    server 127.0.0.1:{port};\n" for port in upstreams)
    upstream = "    server 127.0.0.1:5001;\n    server 127.0.0.1:5002;\n"
    assert upstream in text, f"{NGINX_CONF} no longer lists the processes on 5001 and 5002"
    text = text.replace(upstream, servers)
    site = folder / "queue-app.conf"
    site.write_text(text, encoding="utf-8")
    main = folder / "nginx.conf"
    main.write_text(
        f"pid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} info;\n"
        "worker_processes 1;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  access_log {folder / 'access.log'};\n"
        f"  client_body_temp_path {folder / 'body'};\n"
        f"  proxy_temp_path {folder / 'proxy'};\n"
        f"  include {site};\n"
        "}\n",
        encoding="utf-8",
    )
    return main
