"""Behind a real nginx on 127.0.0.1, `crisis serve` (waitress) and gunicorn believe the proxy alike.

With CRISIS_TRUSTED_PROXIES=1 the client's own address (the test connects from 127.0.0.2)
reaches the audit log, a request that nginx says came over https gets Secure cookies, and
/metrics is refused to anything that came through the proxy while a direct scrape still works.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
import sqlalchemy as sa

from incidents.models import AuditRecord, Role
from tests.conftest import PASSWORD
from tests.support.alertmanager import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CLIENT = "127.0.0.2"  # another loopback address: what the console must see instead of nginx's

pytestmark = pytest.mark.skipif(not Path(NGINX).exists() and os.environ.get("CI", "") != "true",
                                reason="nginx is not installed (.ci/run installs it)")

NGINX_CONF = """
worker_processes 1;
daemon off;
user root root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;  # as if TLS ended here
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Port 443;
        }}
    }}
}}
"""


def _wait_until_answering(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(240):  # a minute on a busy machine
        if process.poll() is not None:
            raise AssertionError(f"{url}: the process ended with {process.returncode}")
        try:
            if requests.get(url, timeout=5).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} never answered")


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(params=["crisis serve", "gunicorn"])
def behind_nginx(request: pytest.FixtureRequest, database_url: str, tmp_path: Path,
                 engine: sa.Engine) -> Iterator[tuple[str, str, str]]:
    """(the proxy's address, the server's direct URL, which server) for each of the two servers."""
    from tests.conftest import empty_tables
    empty_tables(engine)
    upstream, port = free_port(), free_port()
    env = {**os.environ, "CRISIS_DATABASE_URL": database_url, "CRISIS_SECRET_KEY": "proxy-test",
           "CRISIS_TRUSTED_PROXIES": "1"}
    env.pop("CRISIS_PUBLIC_URL", None)
    bin_dir = Path(sys.executable).parent
    if request.param == "gunicorn":
        command = [str(bin_dir / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{upstream}", "--log-level", "warning",
                   "console:create_app()"]
    else:
        command = [str(bin_dir / "crisis"), "serve", "--host", "127.0.0.1", "--port", str(upstream),
                   "--threads", "2", "--no-worker", "--no-create-admin"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=prefix, port=port, upstream=upstream))
    proxy = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                             start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        _wait_until_answering(f"http://127.0.0.1:{upstream}/healthz", server)
        _wait_until_answering(f"http://127.0.0.1:{port}/healthz", proxy)
        yield f"127.0.0.1:{port}", f"http://127.0.0.1:{upstream}", request.param
    finally:
        _stop(proxy, signal.SIGQUIT)
        _stop(server, signal.SIGQUIT if request.param == "gunicorn" else signal.SIGTERM)


def _from_client(proxy: str, method: str, path: str, body: str | None = None,
                 cookie: str = "") -> tuple[http.client.HTTPResponse, str]:
    """One request through the proxy from CLIENT's address: the response and its text."""
    host, port = proxy.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(CLIENT, 0))
    # The page as the browser knew it: https on the proxy's host name (nginx passes $host, port 443).
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
               "Referer": f"https://{host}/login"}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response, text


def _sign_in_from_client(proxy: str, username: str) -> http.client.HTTPResponse:
    form, html = _from_client(proxy, "GET", "/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    cookie = "; ".join(value.split(";")[0] for name, value in form.getheaders() if name.lower() == "set-cookie")
    body = urlencode({"csrf_token": token, "username": username, "password": PASSWORD})
    return _from_client(proxy, "POST", "/login", body, cookie)[0]


def test_the_client_address_secure_cookies_and_metrics_through_nginx(behind_nginx, make_user, engine) -> None:  # noqa: ANN001
    proxy, direct, server = behind_nginx
    user = make_user(Role.DUTY_MANAGER, "zhouqing")
    signed_in = _sign_in_from_client(proxy, user.username)
    assert signed_in.status == 303
    cookies = [value for name, value in signed_in.getheaders() if name.lower() == "set-cookie"]
    assert cookies and all("Secure" in cookie for cookie in cookies)
    with engine.connect() as connection:
        ips = connection.scalars(sa.select(AuditRecord.ip).where(AuditRecord.action == "user.signed_in")).all()
    assert ips == [CLIENT]

    through = requests.get(f"http://{proxy}/metrics", timeout=30)
    assert through.status_code == 403 and through.json()["error"]["code"] == "forbidden"
    assert requests.get(f"{direct}/metrics", timeout=30).status_code == 200
    if server == "crisis serve":  # without CRISIS_PUBLIC_URL, links name the address it listens on
        page = requests.get(f"{direct}/api/v2/summary.json", timeout=30).json()["page"]
        assert page["url"] == f"{direct}/status"
