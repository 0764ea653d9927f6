"""Benchmark: a team in a crisis and a rush of readers, against gunicorn + PostgreSQL on 127.0.0.1.

Run from the repository root (needs wrk: `apt-get install wrk`):

    python bench/bench_load.py                                  # 60 s, 200 users, 20 acting
    python bench/bench_load.py --seconds 10 --users 20 --actors 4   # a smoke run

`--users` console users sign in and keep the board open: each polls the board fragment and
the bell every CRISIS_BOARD_POLL_SECONDS (5 s) with `HX-Request` and `If-None-Match`, as
htmx in the browser does. `--actors` of them act through /api/v1 with their own tokens
(open incidents, post notes, move status, publish public updates). Meanwhile wrk plays a
rush of anonymous readers, in interleaved slots, on a bare Flask route (bench/hello_app.py,
served by the same gunicorn settings), /status and /api/v2/summary.json, so the ratio of
the status page to the bare route is measured under the same background load. See
bench/README-load.md for the method and how the generator was checked.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bench.bench_statuspage import HELLO_APP, Server, seed as seed_status_page  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from console import migrate  # noqa: E402
from console.db import make_engine  # noqa: E402
from incidents import accounts, service  # noqa: E402
from incidents.actors import Actor  # noqa: E402
from incidents.models import Role, User  # noqa: E402

ACTOR = Actor.system("bench")
ZONE = ZoneInfo("Asia/Shanghai")
PASSWORD = "bench-load-password"
# wrk prints one JSON line at the end: counts and latency percentiles in microseconds.
WRK_SCRIPT = """
wrk.headers["Accept-Encoding"] = "gzip"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "duration_us": %d, "non2xx": %d, "errors": %d, '
    .. '"p50": %d, "p95": %d, "p99": %d}\\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""
# How an actor spends its turns: (action, weight).
ACTIONS = (("note", 4), ("transition", 3), ("publish", 2), ("open", 1))
CYCLE = {"investigating": "identified", "identified": "monitoring", "monitoring": "investigating"}


def seed(url: str, *, users: int, actors: int) -> list[tuple[str, str | None]]:
    """The status page's data (bench_statuspage's seed), `users` people sharing one password hash
    (hashing each would only time scrypt) and 20 open incidents; returns (username, token) per
    person, a token only for the actors."""
    seed_status_page(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    people: list[tuple[str, str | None]] = []
    with sa.orm.Session(engine) as session:
        digest = accounts.hash_password(PASSWORD)
        for n in range(users):
            role = Role.DUTY_MANAGER if n < actors else Role.AGENT
            session.add(User(username=f"user{n:03d}", display_name=f"坐席{n:03d}", password_hash=digest, role=role,
                             locale="zh_Hans_CN", active=True, created_at=now))
        session.flush()
        for n in range(users):
            secret = None
            if n < actors:
                user_id = session.scalar(sa.select(User.id).where(User.username == f"user{n:03d}"))
                _token, secret = accounts.create_token(session, name=f"bench-actor-{n}", role=Role.DUTY_MANAGER.value,
                                                       user_id=user_id, actor=ACTOR, now=now)
            people.append((f"user{n:03d}", secret))
        for n in range(20):
            service.open_incident(session, kind=("outage", "public_opinion", "complaint")[n % 3],
                                  severity=f"P{n % 4 + 1}", title=f"背景事件 {n}：用户反馈异常", actor=ACTOR,
                                  now=now - timedelta(minutes=3 * n), zone=ZONE)
        session.commit()
    engine.dispose()
    return people


@dataclass
class Record:
    """What the load generator saw: latencies (ms), each with the reader slot running when it was
    sent, and statuses per route, and its own lateness."""

    samples: dict[str, list[tuple[str, float]]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    lag: list[float] = field(default_factory=list)
    overruns: int = 0
    phase: str = "before the rush"  # the reader slot running now
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, response: requests.Response | None, started: float, phase: str) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.samples[route].append((phase, elapsed))
            self.statuses[route][response.status_code if response is not None else 0] += 1

    def latency(self, route: str, phase: str | None = None) -> list[float]:
        """The route's latencies (ms), all of them or those sent during one reader slot."""
        return [ms for sent_in, ms in self.samples.get(route, []) if phase in (None, sent_in)]


def _timed(record: Record, route: str, send: Callable[[], requests.Response]) -> requests.Response | None:
    started, phase = time.perf_counter(), record.phase
    try:
        response = send()
    except requests.RequestException:
        response = None
    record.add(route, response, started, phase)
    return response


def sign_in(base: str, username: str, record: Record) -> requests.Session:
    """A browser-like session signed in through the real login form, landing on the board."""
    client = requests.Session()
    page = client.get(base + "/login", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(base + "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf},
                         allow_redirects=False, timeout=60)
    if answer.status_code != 303:
        raise RuntimeError(f"{username} could not sign in: {answer.status_code}")
    _timed(record, "board page", lambda: client.get(urljoin(base, answer.headers["Location"]), timeout=30))
    return client


def board_user(base: str, client: requests.Session, record: Record, *, poll: float, stop: threading.Event,
               rng: random.Random) -> None:
    """Poll the open board's fragment and the bell every `poll` seconds with ETags."""
    etags: dict[str, str] = {}
    hx = {"HX-Request": "true", "HX-Current-URL": base + "/"}
    polls = (("board fragment", "/", {**hx, "HX-Target": "board"}),
             ("bell", "/notifications/bell", {**hx, "HX-Target": "bell"}))
    due = time.monotonic() + rng.uniform(0, poll)  # open boards are spread over the interval
    while True:
        idle = due - time.monotonic()
        if stop.wait(max(0.0, idle)):
            return
        with record.lock:
            if idle > 0:  # the generator's own lateness: woken after the time it was asked for
                record.lag.append((time.monotonic() - due) * 1000)
            else:  # the previous poll's answers took longer than the interval: the server's lateness
                record.overruns += 1
        for route, path, headers in polls:
            conditional = {**headers, **({"If-None-Match": etags[route]} if route in etags else {})}
            response = _timed(record, route, lambda: client.get(base + path, headers=conditional, timeout=30))
            if response is not None and response.headers.get("ETag"):
                etags[route] = response.headers["ETag"]
        due += poll


def actor(base: str, token: str, record: Record, *, think: float, stop: threading.Event, rng: random.Random) -> None:
    """Act through /api/v1 with this person's token: open, note, move status, publish."""
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    mine: dict[str, str] = {}  # reference -> status
    actions, weights = zip(*ACTIONS)
    while not stop.wait(rng.uniform(0.5 * think, 1.5 * think)):
        action = "open" if not mine else rng.choices(actions, weights)[0]
        if action == "open":
            response = _timed(record, "api open incident", lambda: api.post(base + "/api/v1/incidents", json={
                "kind": "outage", "severity": "P2", "title": f"支付回调超时 {uuid.uuid4().hex[:6]}",
                "summary": "部分用户支付后订单未更新"}, timeout=30))
            if response is not None and response.status_code == 201:
                opened = response.json()
                mine[opened["reference"]] = opened["status"]
                _timed(record, "api public identity", lambda: api.put(
                    f"{base}/api/v1/incidents/{opened['reference']}/public",
                    json={"public_title": "部分用户支付后订单状态未更新"}, timeout=30))
            continue
        reference = rng.choice(list(mine))
        if action == "note":
            _timed(record, "api note", lambda: api.post(f"{base}/api/v1/incidents/{reference}/notes",
                                                        json={"body": "已联系支付渠道，等待回复。"}, timeout=30))
        elif action == "transition":
            target = CYCLE.get(mine[reference], "investigating")
            response = _timed(record, "api transition", lambda: api.post(
                f"{base}/api/v1/incidents/{reference}/transitions", json={"to": target}, timeout=30))
            if response is not None and response.status_code == 200:
                mine[reference] = response.json()["status"]
        else:
            _timed(record, "api publish update", lambda: api.post(
                f"{base}/api/v1/incidents/{reference}/updates",
                json={"body": "我们已定位原因，正在修复，下一次更新在 10 分钟内。", "public_status": "identified"}, timeout=30))


def run_wrk(url: str, *, seconds: int, connections: int, threads: int, script: Path) -> dict[str, float]:
    """One bounded wrk run on loopback: requests/s and p50/p95/p99 in ms."""
    assert url.startswith("http://127.0.0.1:")
    # A 10 s timeout: a slow answer counts in the latencies instead of as an error (wrk's default is 2 s).
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s",
                          str(script), url],
                         capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    found = json.loads(out[out.index("WRK ") + 4:].splitlines()[0])
    return {"rps": found["requests"] / (found["duration_us"] / 1e6), "p50": found["p50"] / 1000,
            "p95": found["p95"] / 1000, "p99": found["p99"] / 1000, "bad": found["non2xx"] + found["errors"]}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def server_p95(metrics_text: str, endpoint: str) -> tuple[float, int]:
    """The server's own view: p95 (upper bucket bound, ms) and count from the latency histogram."""
    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "crisis_http_request_duration_seconds_bucket" and sample.labels["endpoint"] == endpoint:
                buckets.append((float(sample.labels["le"]), sample.value))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    for bound, count in buckets:
        if total and count >= 0.95 * total:
            return bound * 1000, int(total)
    return float("nan"), int(total)


def run(url: str, args: argparse.Namespace) -> list[str]:
    migrate.upgrade(url)
    started = time.monotonic()
    people = seed(url, users=args.users, actors=args.actors)
    lines = [f"seeded in {time.monotonic() - started:.1f} s: status page data, {args.users} users, "
             f"{args.actors} API tokens, 20 open incidents"]
    metrics_dir = tempfile.mkdtemp(prefix="crisis-bench-metrics-")
    env = {"CRISIS_DATABASE_URL": url, "CRISIS_SECRET_KEY": "bench-secret-key", "CRISIS_TIMEZONE": "Asia/Shanghai",
           "CRISIS_BOARD_POLL_SECONDS": str(args.poll), "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    script = Path(metrics_dir) / "report.lua"
    script.write_text(WRK_SCRIPT)
    record, stop, threads, servers = Record(), threading.Event(), [], []
    try:
        # Each is stopped at the end even when the other fails to start (a busy machine).
        options = ("--worker-class", args.worker_class, "--threads", str(args.threads))
        hello = Server(HELLO_APP, env, args.workers, options)
        servers.append(hello)
        console = Server("console:create_app()", env, args.workers, options)
        servers.append(console)
        signing_started = time.monotonic()
        clients = _sign_in_all(console.url, [name for name, _token in people], record)
        lines.append(f"{len(clients)} users signed in through the login form in {time.monotonic() - signing_started:.1f} s")
        for target in (console.url + "/status", console.url + "/api/v2/summary.json", hello.url + "/"):
            requests.get(target, timeout=30)  # rendered once, as the first reader after a change does
        rng = random.Random(11)
        for client in clients:
            threads.append(threading.Thread(target=board_user, args=(console.url, client, record),
                                            kwargs={"poll": args.poll, "stop": stop, "rng": random.Random(rng.random())},
                                            daemon=True))
        for _name, token in people[:args.actors]:
            threads.append(threading.Thread(target=actor, args=(console.url, token, record),
                                            kwargs={"think": args.think, "stop": stop,
                                                    "rng": random.Random(rng.random())}, daemon=True))
        load_before = os.getloadavg()[0]
        cpu_before, wall_before = time.process_time(), time.monotonic()
        for thread in threads:
            thread.start()
        readers = {"hello": hello.url + "/", "/status": console.url + "/status",
                   "/api/v2/summary.json": console.url + "/api/v2/summary.json"}
        slot = max(2, args.seconds // (len(readers) * args.rounds))
        rush: dict[str, list[dict[str, float]]] = {name: [] for name in readers}
        for round_ in range(args.rounds):
            for name, target in readers.items():
                record.phase = f"{name}, round {round_ + 1}"
                rush[name].append(run_wrk(target, seconds=slot, connections=args.readers, threads=args.wrk_threads,
                                          script=script))
        record.phase = "after"
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
        wall = time.monotonic() - wall_before
        generator_cpu = (time.process_time() - cpu_before) / wall
        scraped = requests.get(console.url + "/metrics", timeout=30).text
        lines.append(f"load average (1 min) before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f}; "
                     f"ran {wall:.0f} s")
        lines += _user_table(record, wall, scraped)
        lines += _reader_table(rush)
        lines += _board_by_slot(record)
        lines += _verdicts(record, rush)
        lines.append(f"generator: wake-up lateness p50 {median(record.lag):.1f} ms, p99 {percentile(record.lag, 0.99):.1f} ms, "
                     f"max {max(record.lag or [0]):.1f} ms over {len(record.lag)} polls; the Python generator used "
                     f"{generator_cpu:.0%} of one core; wrk threads are C")
        lines.append(f"server overruns: {record.overruns} polls started late because the previous poll's answers "
                     f"took longer than {args.poll} s")
    finally:
        stop.set()
        for server in servers:
            _stop(server)
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return lines


def _stop(server: Server) -> None:
    """Stop gunicorn; kill its process group when it does not stop in time."""
    try:
        server.stop()
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()


def _sign_in_all(base: str, usernames: list[str], record: Record) -> list[requests.Session]:
    """Sign everyone in, 8 at a time (each login checks a scrypt hash on the server); each lands
    on the board, so the boards are open, at different moments, before the measured run."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda name: sign_in(base, name, record), usernames))


SERVER_ENDPOINTS = {"board page": "board.index", "board fragment": "board.index", "bell": "notifications.bell",
                    "api note": "api.add_note", "api transition": "api.transition_incident",
                    "api publish update": "api.publish_update", "api open incident": "api.create_incident"}


def _user_table(record: Record, wall: float, scraped: str) -> list[str]:
    lines = ["", "| console route (users, actors) | requests | req/s | p50 ms | p95 ms | p99 ms | 304 | errors | "
                 "server p95 ≤ ms (endpoint, all requests) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for route in sorted(record.samples):
        values, statuses = record.latency(route), record.statuses[route]
        errors = sum(count for status, count in statuses.items() if status == 0 or status >= 400)
        endpoint = SERVER_ENDPOINTS.get(route)
        bound, _count = server_p95(scraped, endpoint) if endpoint else (float("nan"), 0)
        lines.append(f"| {route} | {len(values)} | {len(values) / wall:.1f} | {median(values):.1f} | "
                     f"{percentile(values, 0.95):.1f} | {percentile(values, 0.99):.1f} | {statuses.get(304, 0)} | "
                     f"{errors} | {bound:g} ({endpoint or '-'}) |")
    return lines


def _reader_table(rush: dict[str, list[dict[str, float]]]) -> list[str]:
    lines = ["", "| reader rush (wrk) | req/s (median of rounds) | vs hello (median of rounds) | p50 ms | p95 ms | "
                 "p99 ms | non-2xx/errors |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, runs in rush.items():
        ratios = [run["rps"] / hello["rps"] for run, hello in zip(runs, rush["hello"])]
        lines.append(f"| {name} | {median([r['rps'] for r in runs]):.0f} | {median(ratios):.0%} | "
                     f"{median([r['p50'] for r in runs]):.1f} | {median([r['p95'] for r in runs]):.1f} | "
                     f"{median([r['p99'] for r in runs]):.1f} | {sum(r['bad'] for r in runs):.0f} |")
    return lines


def _board_by_slot(record: Record) -> list[str]:
    """The board fragment's latency while each reader rush was on: where its slow answers came from."""
    lines = ["", "| board fragment while the rush was on | polls | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    for name in dict.fromkeys(phase for phase, _ms in record.samples.get("board fragment", [])):
        values = record.latency("board fragment", name)
        lines.append(f"| {name} | {len(values)} | {median(values):.1f} | {percentile(values, 0.95):.1f} | "
                     f"{percentile(values, 0.99):.1f} |")
    return lines


def _verdicts(record: Record, rush: dict[str, list[dict[str, float]]]) -> list[str]:
    board_p95 = percentile(record.latency("board fragment"), 0.95)
    ratio = median([run["rps"] / hello["rps"] for run, hello in zip(rush["/status"], rush["hello"])])
    return ["", f"target board fragment p95 < 100 ms: {board_p95:.1f} ms, {'met' if board_p95 < 100 else 'NOT met'}",
            f"target /status ≥ 80 % of the bare route's requests/s: {ratio:.0%}, {'met' if ratio >= 0.8 else 'NOT met'}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL whose server may create a scratch database")
    parser.add_argument("--seconds", type=int, default=60, help="how long the load runs")
    parser.add_argument("--users", type=int, default=200, help="console users with the board open")
    parser.add_argument("--actors", type=int, default=20, help="of those, how many act through the API")
    parser.add_argument("--think", type=float, default=3.0, help="seconds an actor waits between actions (mean)")
    parser.add_argument("--poll", type=int, default=5, help="the board's poll interval, CRISIS_BOARD_POLL_SECONDS")
    parser.add_argument("--readers", type=int, default=32, help="wrk connections of the reader rush")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved hello / status / summary slots")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="gunicorn workers, the same for both apps (default: one per core)")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"), help="gunicorn's worker class")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    args = parser.parse_args()
    if args.actors > args.users:
        parser.error("--actors cannot exceed --users")
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (apt-get install wrk)")
    print(f"# load benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{args.users} users polling every {args.poll} s, {args.actors} acting (think {args.think} s), "
          f"reader rush wrk -t{args.wrk_threads} -c{args.readers} in {args.rounds} rounds; gunicorn -w {args.workers} "
          f"({args.worker_class}, {args.threads} thread(s) each) for both apps; {args.seconds} s")
    with scratch_database(args.postgres, "crisis_load") as url:
        print("\n".join(run(url, args)))


if __name__ == "__main__":
    main()
