"""PostgreSQL restarted under a running console: clear 503s while it is away, and back by itself.

The web (`crisis serve --no-worker`: waitress) and a `crisis worker` run as processes against
a private cluster that the test stops and starts (tests/faults/private_postgres.py). While
it is down, people get a page in their language that says so and reloads itself, scripts
get JSON, /readyz says 503, and the status page already rendered is still served. When it is
back, the same processes, never restarted, answer again (same session cookie, same token)
and the worker takes the deadline step that fell due meanwhile, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from console import migrate
from console.db import make_engine
from console.i18n import LANGUAGE_COOKIE
from incidents import accounts
from incidents.actors import Actor
from incidents.models import Role
from incidents.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.faults.private_postgres import PrivateCluster
from tests.support.alertmanager import free_port
from tests.worker_support import (
    Processes, fresh, lock_connections, lock_holder, open_outage_due_at, outbox_rows, overdue_and_delivered, step_counts,
    wait_for, webhook,
)

pytestmark = pytest.mark.slow

ADMIN = Actor.system("test")


@pytest.fixture()
def cluster() -> Iterator[PrivateCluster]:
    made = PrivateCluster()
    try:
        made.start()
        yield made
    finally:
        made.remove()


@pytest.fixture()
def console(cluster: PrivateCluster, tmp_path: Path) -> Iterator[Processes]:
    started = Processes(cluster.url, tmp_path)
    yield started
    started.kill_all()


def _client() -> requests.Session:
    client = requests.Session()
    client.trust_env = False  # never through an environment proxy
    return client


def _status(client: requests.Session, url: str) -> int:
    try:
        return client.get(url, timeout=10).status_code
    except requests.ConnectionError:
        return 0


def _sign_in(http: requests.Session, base: str, username: str) -> None:
    """Through the real form, CSRF token and all."""
    form = http.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    answer = http.post(f"{base}/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                       allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text


def test_while_postgresql_restarts_the_console_answers_503_and_then_recovers_by_itself(
    cluster, console, receiver,  # noqa: ANN001
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    script = _client()  # a script with a token, or a reader of the status page: no session
    migrate.upgrade(cluster.url)
    web = console.start("serve", "--no-worker", "--port", str(port), "--no-create-admin")
    worker = console.start("worker")
    engine = make_engine(cluster.url)
    session = sa.orm.Session(engine, expire_on_commit=False)
    accounts.create_user(session, username="duty", password=PASSWORD, role=Role.DUTY_MANAGER.value,
                         display_name="值班主管", locale="zh_Hans_CN", actor=ADMIN, now=utcnow())
    _token, secret = accounts.create_token(session, name="faults", role=Role.DUTY_MANAGER.value, user_id=None,
                                           actor=ADMIN, now=utcnow())
    session.commit()
    webhook(session, "值班群", receiver.url("/team"), now=utcnow())
    bearer = {"Authorization": f"Bearer {secret}"}
    wait_for(lambda: _status(script, f"{base}/readyz") == 200, what=lambda: f"the web to answer\n{console.output()}")
    wait_for(lambda: lock_connections(engine).get(lock_holder(engine)) == worker.pid,
             what=lambda: f"the worker to be active\n{console.output()}")

    http = _client()
    _sign_in(http, base, "duty")
    board = http.get(f"{base}/", timeout=10)
    assert board.status_code == 200
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', board.text).group(1)
    assert script.get(f"{base}/api/v1/incidents", headers=bearer, timeout=10).status_code == 200
    status_page = script.get(f"{base}/status", timeout=10)
    assert status_page.status_code == 200
    # Falls due while the database is away.
    due_at = utcnow() + timedelta(seconds=2)
    open_outage_due_at(session, due_at)
    session.close()

    cluster.stop()

    page = http.get(f"{base}/", timeout=10)
    assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html"), console.output()
    assert "暂时无法使用" in page.text and "连不上数据库" in page.text
    assert int(page.headers["Retry-After"]) > 0 and 'http-equiv="refresh"' in page.text
    english = http.get(f"{base}/", cookies={LANGUAGE_COOKIE: "en"}, timeout=10)
    assert english.status_code == 503 and "Temporarily unavailable" in english.text
    # A form posted meanwhile: its text comes back, and the page never reloads itself into a GET.
    posted = http.post(f"{base}/incidents", data={"csrf_token": csrf, "title": "退款接口 & <超时>", "severity": "P2"},
                       timeout=10)
    assert posted.status_code == 503 and "退款接口 &amp; &lt;超时&gt;" in posted.text and "重新提交" in posted.text
    assert 'http-equiv="refresh"' not in posted.text
    fragment = http.get(f"{base}/", headers={"HX-Request": "true"}, timeout=10)
    assert fragment.status_code == 503
    api = script.get(f"{base}/api/v1/incidents", headers=bearer, timeout=10)
    assert api.status_code == 503 and api.json()["error"]["code"] == "database_unavailable"
    assert api.json()["error"]["message"]
    hook = script.post(f"{base}/hooks/generic", json={"title": "支付回调失败", "status": "firing"}, headers=bearer,
                         timeout=10)
    assert hook.status_code == 503 and hook.json()["error"]["code"] == "database_unavailable"
    assert _status(script, f"{base}/readyz") == 503 and _status(script, f"{base}/healthz") == 200
    # Nothing can be published while the database is away, so the page already rendered is current.
    assert script.get(f"{base}/status", timeout=10).text == status_page.text
    wait_for(lambda: utcnow() > due_at, what="the deadline to fall due")
    assert web.poll() is None and worker.poll() is None, console.output()

    cluster.start()

    wait_for(lambda: _status(script, f"{base}/readyz") == 200, what=lambda: f"the web to recover\n{console.output()}")
    board = http.get(f"{base}/", timeout=10)
    assert board.status_code == 200 and "暂时无法使用" not in board.text
    assert script.get(f"{base}/api/v1/incidents", headers=bearer, timeout=10).status_code == 200
    wait_for(lambda: lock_connections(engine).get(lock_holder(engine)) == worker.pid,
             what=lambda: f"the worker to be active again\n{console.output()}")
    session = sa.orm.Session(engine, expire_on_commit=False)
    open_outage_due_at(session, utcnow(), title="数据库恢复后到期")

    wait_for(lambda: fresh(session, overdue_and_delivered), what=lambda: f"the worker to resume\n{console.output()}")
    counts = step_counts(session)
    assert set(counts.values()) == {1}, counts
    assert receiver.keys("/team") == {row.idempotency_key for row in outbox_rows(session)}
    assert not receiver.duplicates
    session.close()
    engine.dispose()
    assert console.stop(worker) == 0 and console.stop(web) == 0, console.output()
