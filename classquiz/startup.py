"""What `serve` tells the person who started it once it is ready: where to go.

The last line of a start-up names the web app's and the API docs' URLs, built
from what the server really binds. It says nothing about TLS or public names:
a proxy in front (Caddy) may add both, and the server cannot know. A wildcard
bind (`0.0.0.0`, `::`) is reachable from this machine as `localhost`; other
devices in the class need the machine's own address, so the line names it
when the machine has one, and `PUBLIC_URL` when the operator set it.

With `--workers N` the workers stay silent about it (each would say it once)
and the supervisor says it once, when every worker answers `/healthz`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

log = logging.getLogger("classquiz")

# Set in a supervised worker's environment: the supervisor announces readiness, not it.
SUPERVISED_ENV = "CLASSQUIZ_SUPERVISED_WORKER"
WILDCARD_HOSTS = ("", "0.0.0.0", "::")


@dataclass(frozen=True)
class Addresses:
    """The URLs the ready line names."""

    web_app: str
    api_docs: str
    network: str | None  # the web app from other devices, for a wildcard bind
    bound: str  # what the socket listens on, as `host:port`


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def addresses(host: str, port: int, lan_address: str | None) -> Addresses:
    """The URLs of a server bound to `host:port` (pure: the LAN address is given)."""
    wildcard = host in WILDCARD_HOSTS
    local = "localhost" if wildcard else _url_host(host)
    base = f"http://{local}:{port}"
    network = (
        f"http://{_url_host(lan_address)}:{port}/"
        if wildcard and lan_address and not lan_address.startswith("127.")
        else None
    )
    return Addresses(
        web_app=f"{base}/",
        api_docs=f"{base}/api/docs",
        network=network,
        bound=f"{_url_host(host or '0.0.0.0')}:{port}",
    )


def ready_message(
    found: Addresses,
    worker_ports: tuple[int, int] | None = None,
    public_url: str | None = None,
) -> str:
    """The one line that ends start-up; `public_url` only when the operator set PUBLIC_URL
    (behind a proxy the bound address is not where people go)."""
    web_app = f"web app at {found.web_app}"
    if found.network:
        web_app += f" (other devices: {found.network})"
    if public_url:
        web_app += f" (public address, PUBLIC_URL: {public_url})"
    listening = f"listening on {found.bound}"
    if worker_ports:
        first, last = worker_ports
        listening += (
            f"-{last} ({last - first + 1} workers: put a sticky balancer in front, "
            "see docs/operations.md section 9)"
        )
    return f"ready: {web_app}, API docs at {found.api_docs}; {listening}, plain HTTP"


def lan_address() -> str | None:
    """This machine's address on its default route, or None (no packet is sent:
    connecting a UDP socket only picks the route and source address)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            return str(probe.getsockname()[0])
    except OSError:
        return None


def announce_ready(host: str, port: int, public_url: str | None = None) -> None:
    """Log the ready line of a single server process (not of a supervised worker)."""
    if os.environ.get(SUPERVISED_ENV):
        return
    log.info(ready_message(addresses(host, port, lan_address()), public_url=public_url))


def _probe_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def announce_when_workers_ready(
    host: str, port: int, count: int, public_url: str | None = None, timeout_s: float = 120.0
) -> threading.Thread:
    """Log the ready line once every worker answers `/healthz` (a daemon thread)."""
    probe = _url_host(_probe_host(host))
    urls = [f"http://{probe}:{port + i}/healthz" for i in range(count)]

    def wait_then_announce() -> None:
        deadline = time.monotonic() + timeout_s
        pending = list(urls)
        while pending and time.monotonic() < deadline:
            pending = [url for url in pending if not _answers(url)]
            if pending:
                time.sleep(0.5)
        if pending:
            log.warning("workers not answering after %.0f s: %s", timeout_s, ", ".join(pending))
            return
        found = addresses(host, port, lan_address())
        log.info(ready_message(found, (port, port + count - 1), public_url))

    thread = threading.Thread(target=wait_then_announce, name="ready-announcer", daemon=True)
    thread.start()
    return thread
