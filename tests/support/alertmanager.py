"""Debian's Prometheus Alertmanager, started on a free port of 127.0.0.1 for one test."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

BINARY = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def config(webhook_url: str, bearer_token: str) -> dict:
    """One route to one webhook receiver: quick grouping, recoveries sent."""
    return {
        "route": {"receiver": "console", "group_by": ["alertname"], "group_wait": "0s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{
            "name": "console",
            "webhook_configs": [{
                "url": webhook_url,
                "send_resolved": True,
                "http_config": {"authorization": {"type": "Bearer", "credentials": bearer_token}},
            }],
        }],
    }


@contextmanager
def running_alertmanager(directory: Path, webhook_url: str, bearer_token: str) -> Iterator[str]:
    """Alertmanager posting to `webhook_url`; yields its base URL, stops it on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config_file = directory / "alertmanager.yml"
    config_file.write_text(json.dumps(config(webhook_url, bearer_token)))  # JSON is YAML
    log = (directory / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [BINARY, f"--config.file={config_file}", f"--storage.path={directory / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", f"--web.external-url={url}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"alertmanager exited: {(directory / 'alertmanager.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("alertmanager did not become ready")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
