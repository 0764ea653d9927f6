"""Benchmark: the public status page and /api/v2/summary.json under a rush, against a bare Flask route.

Run from the repository root:

    python bench/bench_statuspage.py                                   # SQLite only
    python bench/bench_statuspage.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

For each database it seeds 50 components, 5 active incidents of 30 updates and 1,000 past
incidents, serves the console with gunicorn on 127.0.0.1, and drives it with wrk (loopback
only, bounded in time) next to a bare Flask "hello" app served the same way in the same run.
Then it publishes updates from another process and measures how long each takes to appear
on the page. See bench/README-statuspage.md for the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402

from console import migrate  # noqa: E402
from console.db import make_engine  # noqa: E402
from incidents import components, service  # noqa: E402
from incidents.actors import Actor  # noqa: E402
from incidents.lifecycle import Kind, Severity, Source, Status  # noqa: E402
from incidents.models import Incident, StatusUpdate  # noqa: E402
from incidents.public_models import ComponentStatus, IncidentComponent  # noqa: E402
from incidents.publicity import mark_public_change, refresh_statuses  # noqa: E402
from incidents.updates import publish_update, set_public_identity  # noqa: E402

ACTOR = Actor.system("bench")
ZONE = ZoneInfo("Asia/Shanghai")
BIN = Path(sys.executable).parent
HELLO_APP = "bench.hello_app:app"
SERVICES = ["下单", "支付", "物流查询", "APP", "客服热线", "在线客服", "退款", "会员", "优惠券", "搜索"]
GROUPS = ["交易", "履约", "客户服务", "账户", "营销"]


def seed(url: str, *, seed_value: int = 7) -> str:
    """Fill an empty, migrated database; returns the reference of an active incident."""
    rng = random.Random(seed_value)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with sa.orm.Session(engine) as session:
        component_ids = []
        for g, name in enumerate(GROUPS):
            group = components.save_group(session, data={"name": name, "name_en": f"Group {g}", "position": g},
                                          actor=ACTOR, now=now - timedelta(days=100))
            for k in range(10):
                component = components.save_component(session, data={
                    "name": f"{SERVICES[k]}·{name}", "name_en": f"Service {g}-{k}", "group_id": group.id,
                    "position": k, "description": "面向全国用户的服务"}, actor=ACTOR, now=now - timedelta(days=100))
                component_ids.append(component.id)
        session.commit()
        _past_incidents(session, rng, component_ids, now)
        active_ref = ""
        for n in range(5):
            start = now - timedelta(hours=5) + timedelta(minutes=n)
            incident = service.open_incident(session, kind="outage", severity="P2", title=f"内部标题 {n}",
                                             actor=ACTOR, now=start, zone=ZONE)
            set_public_identity(session, incident=incident, public_title=f"部分用户无法使用服务（{n + 1}）",
                                public_title_en=f"Some users cannot use the service ({n + 1})", actor=ACTOR, now=start)
            for u in range(30):
                publish_update(
                    session, incident=incident, body=f"第 {u + 1} 次进展：我们仍在处理，下一次更新在 10 分钟内。" * 2,
                    body_en=f"Update {u + 1}: still working on it; next update within 10 minutes.",
                    public_status=("investigating", "identified", "monitoring")[min(u // 10, 2)],
                    components={rng.choice(component_ids): rng.choice(["degraded_performance", "partial_outage"])},
                    actor=ACTOR, now=start + timedelta(minutes=10 * u), zone=ZONE)
            active_ref = incident.reference
        session.commit()
    engine.dispose()
    return active_ref


def _past_incidents(session: sa.orm.Session, rng: random.Random, component_ids: list[int], now: datetime) -> None:
    """1,000 resolved public incidents over the last 90 days, written in bulk (the domain path would
    take minutes and measures nothing here); component history rows go with them."""
    from incidents.public_models import ComponentStatusChange

    for n in range(1000):
        start = now - timedelta(days=90) + timedelta(minutes=rng.randint(0, 89 * 24 * 60))
        end = start + timedelta(minutes=rng.randint(20, 240))
        incident = Incident(
            reference=f"INC-PAST-{n:05d}", kind=Kind.OUTAGE, severity=Severity.P3, status=Status.CLOSED,
            title=f"内部 {n}", summary="", source=Source.MANUAL, opened_at=start, updated_at=end, closed_at=end,
            resolved_at=end, version=1, public_title=f"历史事件 {n}：部分功能异常", public_title_en=f"Past incident {n}")
        session.add(incident)
        session.flush()
        cid = rng.choice(component_ids)
        bad = rng.choice(["degraded_performance", "partial_outage", "major_outage"])
        session.add_all([
            StatusUpdate(incident_id=incident.id, public_status=Status.INVESTIGATING, body="我们正在排查。",
                         body_en="Investigating.", published_at=start, published_by_label="bench",
                         components=[{"id": cid, "status": bad, "old_status": "operational"}]),
            StatusUpdate(incident_id=incident.id, public_status=Status.RESOLVED, body="已恢复。", body_en="Resolved.",
                         published_at=end, published_by_label="bench",
                         components=[{"id": cid, "status": "operational", "old_status": bad}]),
            IncidentComponent(incident_id=incident.id, component_id=cid, status=ComponentStatus.OPERATIONAL,
                              updated_at=end),
            ComponentStatusChange(component_id=cid, at=start, status=ComponentStatus(bad)),
            ComponentStatusChange(component_id=cid, at=end, status=ComponentStatus.OPERATIONAL),
        ])
    refresh_statuses(session, now=now)
    mark_public_change(session, now=now)
    session.commit()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on a free loopback port, stopped on exit."""

    def __init__(self, app: str, env: dict[str, str], workers: int, options: tuple[str, ...] = ()):
        self.port = _free_port()
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(workers), *options, "-b", f"127.0.0.1:{self.port}", "--log-level",
             "warning", app],
            cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/", timeout=1).read()
                return
            except OSError as error:
                if getattr(error, "code", None):  # an HTTP error still means it is up
                    return
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{app} did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, *, duration: int, connections: int, threads: int) -> dict[str, float]:
    """Requests/s and latency percentiles from one bounded wrk run (loopback only)."""
    assert url.startswith("http://127.0.0.1:")
    # Browsers ask for gzip; the page cache keeps a compressed copy (hello's 5 bytes are sent as is).
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
                          "-H", "Accept-Encoding: gzip", url],
                         capture_output=True, text=True, check=True, timeout=duration + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": _ms(lat["50"]), "p99": _ms(lat["99"]), "non2xx": int(errors.group(1)) if errors else 0}


def publish_latency(url: str, base: str, reference: str, rounds: int) -> tuple[list[float], list[float]]:
    """Publish from this process (as another web process would), poll /status until it shows.

    Every other publish also moves a component, which redraws the components and their bars.
    Returns (text-only latencies, latencies of publishes that moved a component).
    """
    engine = make_engine(url)
    results: tuple[list[float], list[float]] = ([], [])
    try:
        for n in range(rounds):
            marker = f"bench-marker-{uuid.uuid4().hex[:12]}"
            with sa.orm.Session(engine) as session:
                incident = service.get_incident(session, reference)
                moves = {1: ("major_outage", "partial_outage")[n // 2 % 2]} if n % 2 else None
                publish_update(session, incident=incident, body=f"进展 {marker}", public_status="monitoring",
                               components=moves, actor=ACTOR, now=datetime.now(UTC), zone=ZONE)
                session.commit()
            published = time.monotonic()
            while marker not in urllib.request.urlopen(base + "/status", timeout=5).read().decode():
                if time.monotonic() - published > 10:
                    raise RuntimeError("a publish did not show within 10 s")
                time.sleep(0.02)
            results[n % 2].append(time.monotonic() - published)
            time.sleep(0.3 + 0.1 * n)  # land at different points of the processes' check interval
    finally:
        engine.dispose()
    return results


def run(label: str, url: str, args: argparse.Namespace) -> list[str]:
    migrate.upgrade(url)
    started = time.monotonic()
    reference = seed(url)
    lines = [f"### {label}", f"seeded in {time.monotonic() - started:.1f} s"]
    env = {"CRISIS_DATABASE_URL": url, "CRISIS_SECRET_KEY": "bench-secret-key", "CRISIS_TIMEZONE": "Asia/Shanghai"}
    load_before = f"{os.getloadavg()[0]:.1f}"
    hello = Server(HELLO_APP, env, args.workers)
    console = Server("console:create_app()", env, args.workers)
    try:
        targets = {"hello": hello.url + "/", "/status": console.url + "/status",
                   "/api/v2/summary.json": console.url + "/api/v2/summary.json"}
        for target in targets.values():
            urllib.request.urlopen(target).read()  # render once, as the first reader after a change does
            wrk(target, duration=2, connections=args.connections, threads=args.threads)  # warm-up
        # Rounds interleave the routes, so a neighbour's load on the machine hits all of them alike.
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        ratios: dict[str, list[float]] = {name: [] for name in targets}
        for _round in range(args.rounds):
            for name, target in targets.items():
                rounds[name].append(wrk(target, duration=args.duration, connections=args.connections,
                                        threads=args.threads))
            for name in targets:
                ratios[name].append(rounds[name][-1]["rps"] / rounds["hello"][-1]["rps"])
        lines.append(f"load average before: {load_before}, after: {os.getloadavg()[0]:.1f} (1 min)")
        lines.append("| route | requests/s (median) | vs hello (median of rounds) | p50 ms | p99 ms (median) | "
                     "p99 ms (worst round) | non-2xx |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for name, runs in rounds.items():
            lines.append(
                f"| {name} | {_median([r['rps'] for r in runs]):.0f} | {_median(ratios[name]):.0%} | "
                f"{_median([r['p50'] for r in runs]):.1f} | {_median([r['p99'] for r in runs]):.1f} | "
                f"{max(r['p99'] for r in runs):.1f} | {sum(r['non2xx'] for r in runs):.0f} |")
        text_only, moving = publish_latency(url, console.url, reference, args.publishes)
        for label, latencies in (("text only", text_only), ("moving a component", moving)):
            lines.append(f"publish ({label}) → visible on /status, {len(latencies)} publishes: "
                         f"max {max(latencies) * 1000:.0f} ms, median {_median(latencies) * 1000:.0f} ms")
        plain = len(urllib.request.urlopen(console.url + "/status").read())
        packed = len(urllib.request.urlopen(urllib.request.Request(
            console.url + "/status", headers={"Accept-Encoding": "gzip"})).read())
        lines.append(f"/status is {plain / 1024:.0f} KiB ({packed / 1024:.0f} KiB gzipped)")
    finally:
        hello.stop()
        console.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL whose server may create a scratch database")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over the three routes")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers, the same for both apps")
    parser.add_argument("--publishes", type=int, default=10)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (apt-get install wrk)")
    print(f"# status page benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s × {args.rounds} rounds; "
          f"gunicorn -w {args.workers} (sync)")
    with tempfile.TemporaryDirectory() as folder:
        print("\n".join(run("SQLite", f"sqlite:///{folder}/bench.db", args)))
    if args.postgres:
        with scratch_database(args.postgres, "crisis_bench") as url:
            print("\n".join(run("PostgreSQL", url, args)))


if __name__ == "__main__":
    main()
