"""Benchmark: 500 sources every 60 s, polled by the real poller from a local feed server.

    python bench/bench_polling.py                 # 500 sources, 60 s interval, 200 s run, SQLite
    python bench/bench_polling.py --sources 100 --duration 90
    python bench/bench_polling.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

What runs: a feed server in a separate process on 127.0.0.1 (its own interpreter, so it
does not share our GIL) serves one RSSHub-like feed per source (20 posts naming one
brand, ETag + 304 for half the feeds, plain 200 for the other half); new neutral posts
appear in every feed each minute, and a critical post (brand + 12315/媒体) appears once in
every tenth feed at a known time. The console's side is what the worker runs: every tick
(1 s) `monitors.polling.poll_due` claims what is due, fetches on its thread pool, stores,
matches 1,000 rules and raises incidents, on a migrated database (SQLite by default).

First every source is polled once (the backfill: 20 posts each, timed apart, as it happens
once in a source's life); then the sources are spread over one interval again and the
measured run starts. Reported: lag = poll finished − poll due (p50/p90/p99/max, over the
run and over its last interval); the poll rate needed (sources/interval) against the rate
achieved while busy (polls / seconds spent in ticks); the CPU one poll costs (this process,
all threads) and the rate that allows on one free core; and the latency from a critical
post appearing in its feed to its incident being committed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BRAND = "品牌{:04d}"
NEUTRAL = ["{b}今天上新了，价格还行", "在{b}买的东西到了，包装不错", "{b}的客服回复挺快", "有人用过{b}吗？求推荐",
           "{b}门店排队的人好多", "{b}会员日活动攻略"]
NEGATIVE = ["{b}退款三天没到账", "{b}的差评太多了", "被{b}的客服气到了，投诉", "{b}发错货还不给退款"]
CRITICAL = "{b}卖的东西吃坏了肚子，已经打了12315，准备找媒体曝光"
ITEMS = 20


def critical_at(index: int, run_start: float) -> float | None:
    """When a critical post appears in feed `index` (every tenth feed, 30–110 s into the measured run)."""
    if index % 10 or not run_start:
        return None
    return run_start + 30 + (index * 7919) % 80


def feed_body(index: int, now: float, start: float, run_start: float = 0.0) -> tuple[bytes, str]:
    """Feed `index` as it stands at `now`: 20 newest posts; a new one each minute; the critical one once due."""
    brand = BRAND.format(index)
    minute = int((now - start) // 60)
    posts = []
    for n in range(minute + ITEMS, minute, -1):
        template = (NEGATIVE + NEUTRAL)[(index + n) % 10] if n % 3 == 0 else NEUTRAL[(index + n) % len(NEUTRAL)]
        at = start + (n - ITEMS) * 60
        posts.append((f"p{index}-{n}", template.format(b=brand), at))
    appears = critical_at(index, run_start)
    if appears is not None and now >= appears:
        posts.insert(0, (f"p{index}-critical", CRITICAL.format(b=brand), appears))
    items = "".join(
        f"<item><title><![CDATA[{text}]]></title><description><![CDATA[<p>{text}</p>]]></description>"
        f"<guid isPermaLink=\"false\">https://weibo.example.invalid/{guid}</guid>"
        f"<link>https://weibo.example.invalid/{guid}</link><author>用户{guid}</author>"
        f"<pubDate>{format_datetime(datetime.fromtimestamp(at, UTC), usegmt=True)}</pubDate></item>"
        for guid, text, at in posts[:ITEMS + 1])
    body = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{brand} 的微博搜索</title>'
            f"<link>https://s.weibo.example.invalid/</link><description>bench</description>{items}</channel></rss>")
    data = body.encode("utf-8")
    return data, '"' + hashlib.sha1(data).hexdigest()[:16] + '"'


def serve(port_queue: multiprocessing.Queue, start: float, run_start: Any) -> None:
    """The feed server process."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            index = int(self.path.rsplit("/", 1)[1])
            body, etag = feed_body(index, time.time(), start, run_start.value)
            if index % 2 == 0 and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if index % 2 == 0:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever(poll_interval=0.1)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": round(ordered[-1], 3),
            "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--duration", type=float, default=200.0)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--tick", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args()

    from sqlalchemy.orm import sessionmaker

    from console import migrate
    from console.db import make_engine
    from incidents.actors import Actor
    from incidents.models import Incident
    from incidents.monitor_models import MonitorSource
    from incidents.netguard import parse_networks
    from monitors import rulebook, sources
    from monitors.polling import PollSettings, poll_due
    from monitors.rulebook import CompiledRules
    import sqlalchemy as sa

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-polling-')}/crisis.db"
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    actor = Actor.system("bench")
    networks = tuple(parse_networks(["127.0.0.1/32"]))

    start = time.time()  # the feeds' clock: a new post per feed each minute from here
    run_start = multiprocessing.Value("d", 0.0)  # set once the backfill is done: critical posts follow it
    port_queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(port_queue, start, run_start), daemon=True)
    server.start()
    port = port_queue.get(timeout=10)

    setup_now = datetime.now(UTC)
    with factory() as session:
        for i in range(args.rules):
            rulebook.create_rule(session, {"name": f"rule-{i:04d}", "brand": BRAND.format(i),
                                           "negative_terms": rulebook.DEFAULT_NEGATIVE_TERMS,
                                           "critical_terms": ["12315", "媒体", "律师"], "severity": "P2",
                                           "volume_floor": 1000},  # volume checks run, never fire
                                 actor=actor, now=setup_now)
        for i in range(args.sources):
            sources.create_source(session, {"name": f"weibo-{i:04d}", "url": f"http://127.0.0.1:{port}/feed/{i}",
                                            "interval_s": args.interval}, allowed_networks=networks, actor=actor,
                                  now=setup_now)
        session.commit()

    settings = PollSettings(allowed_networks=networks, zone=ZoneInfo("Asia/Shanghai"), fetch_threads=args.threads)
    rules = CompiledRules()
    # Backfill: the first poll of every source stores its 20 posts (10,000 for 500 sources).
    # It happens once in a source's life, so it is timed apart from the steady run.
    backfill_started = time.time()
    with factory() as session:
        session.execute(sa.update(MonitorSource).values(next_poll_at=datetime.now(UTC)))
        session.commit()
    backfilled = 0
    while batch := poll_due(factory, now=datetime.now(UTC), settings=settings, rules=rules):
        backfilled += len(batch)
    backfill_s = time.time() - backfill_started
    start = time.time() + 2
    run_start.value = start
    with factory() as session:  # spread the sources over one interval again, as new sources are
        for source in session.scalars(sa.select(MonitorSource)):
            source.next_poll_at = sources.first_poll_at(source.name, now=datetime.fromtimestamp(start, UTC),
                                                        interval_s=args.interval)
        session.commit()
    lags: list[tuple[float, float]] = []  # (seconds since start, lag)
    raised_done: dict[int, float] = {}
    polls = 0
    busy = 0.0
    statuses: dict[str, int] = {}
    while time.time() < start:
        time.sleep(0.05)
    load_start = os.getloadavg()
    cpu_start = time.process_time()
    while time.time() < start + args.duration:
        tick_started = time.time()
        outcomes = poll_due(factory, now=datetime.fromtimestamp(tick_started, UTC), settings=settings, rules=rules)
        done = time.time()
        busy += done - tick_started
        polls += len(outcomes)
        for outcome in outcomes:
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
            lags.append((tick_started - start, done - outcome.scheduled_at.timestamp()))
            if outcome.raised:
                raised_done[outcome.source_id] = done
        time.sleep(max(0.0, args.tick - (time.time() - tick_started)))
    cpu_used = time.process_time() - cpu_start
    load_end = os.getloadavg()
    server.terminate()

    with factory() as session:
        names = {row[0]: row[1] for row in session.execute(sa.select(MonitorSource.id, MonitorSource.name))}
        incidents = session.scalar(sa.select(sa.func.count(Incident.id)))
    latencies = []
    missing = []
    for source_id, name in names.items():
        index = int(name.split("-")[1])
        appears = critical_at(index, start)
        if appears is None or appears + args.interval + 5 > start + args.duration:
            continue
        if source_id in raised_done:
            latencies.append(raised_done[source_id] - appears)
        else:
            missing.append(name)
    needed = args.sources / args.interval
    achieved = polls / busy if busy else 0.0
    figures = {
        "backfill": {"polls": backfilled, "seconds": round(backfill_s, 1)},
        "sources": args.sources, "interval_s": args.interval, "rules": args.rules, "duration_s": args.duration,
        "database": engine.dialect.name, "fetch_threads": args.threads, "polls": polls, "statuses": statuses,
        "lag_s_all": percentiles([lag for _, lag in lags]),
        "lag_s_last_interval": percentiles([lag for at, lag in lags if at >= args.duration - args.interval]),
        "polls_per_s_needed": round(needed, 2), "polls_per_s_achieved_while_busy": round(achieved, 2),
        "needed_over_achieved": round(needed / achieved, 3) if achieved else None,
        "busy_fraction": round(busy / args.duration, 3),
        # CPU of this process (all threads) per poll: what a poll costs whatever else runs on the machine.
        "cpu_s_per_poll": round(cpu_used / polls, 4) if polls else None,
        "polls_per_s_on_one_free_core": round(polls / cpu_used, 1) if cpu_used else None,
        "loadavg_start_end": [round(load_start[0], 2), round(load_end[0], 2)], "cores": os.cpu_count(),
        "entry_to_incident_s": percentiles(latencies), "incidents": incidents, "critical_posts_missed": missing,
        "bound_s": args.interval + 2,
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    # Keeping up: no poll later than a tenth of the interval (lag includes waiting for the
    # 1 s tick and the whole tick's work), spare capacity, every critical post within the bound.
    keeps_up = figures["lag_s_all"].get("max", 1e9) < args.interval / 10 and needed < achieved
    in_bound = not missing and all(v <= args.interval + 2 for v in latencies)
    print("verdict:", "keeps up" if keeps_up else "FALLS BEHIND", "/",
          f"entry to incident within {args.interval + 2} s" if in_bound else "entry to incident OVER the bound")


if __name__ == "__main__":
    main()
