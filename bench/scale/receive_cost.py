"""What a process pays for another process's broadcasts without locality (issue 13).

    .venv/bin/python bench/scale/receive_cost.py --messages 20000 --rate 2000

Starts one `serve` process with the Redis manager and GAME_LOCALITY=false,
measures its idle CPU over a quiet window, then publishes `--messages` realistic
broadcasts of games it holds no socket of (`answer_count` and `question_started`
payloads, python-socketio's message format) on the shared Socket.IO channel at
`--rate` a second, and measures its CPU again over a window of the same length.
The difference over the count is the CPU one process spends per broadcast of a
game that is not its own: the figure behind docs/scaling.md's arithmetic (with
locality such a process hears nothing). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_bench import DEFAULT_DB, DEFAULT_REDIS, ensure_database, proc_cpu_s, wait_ready  # noqa: E402
from run_scale import OUT, SECRET, free_port, git_head, start_server  # noqa: E402

QUESTION = {
    "question_index": 2,
    "question": {
        "text": "Which planet is known as the red planet?",
        "type": "single",
        "choices": [{"id": i, "text": t} for i, t in enumerate(["Venus", "Mars", "Jupiter", "Io"])],
        "time_limit_s": 30,
    },
    "question_count": 5,
    "opens_at_ms": 1764270000000,
    "deadline_at_ms": 1764270030000,
}


def message(i: int) -> bytes:
    if i % 3:
        event, data, room = (
            "answer_count",
            {"question_index": 2, "answered": i % 50, "players_count": 50},
            "host",
        )
    else:
        event, data, room = "question_started", QUESTION, "game"
    return json.dumps(
        {
            "method": "emit",
            "event": event,
            "data": [data],
            "binary": False,
            "namespace": "/",
            "room": f"{room}:{100000 + i % 1000}",
            "skip_sid": None,
            "callback": None,
            "host_id": "another-process",
        }
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=2_000)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    args = parser.parse_args()
    from redis import Redis

    ensure_database(args.db)
    OUT.mkdir(parents=True, exist_ok=True)
    prefix = f"benchrecv-{time.strftime('%Y%m%d%H%M%S')}"
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": args.db,
            "REDIS_URL": args.redis,
            "REDIS_PREFIX": prefix,
            "SECRET_KEY": SECRET,
            "SOCKETIO_REDIS_MANAGER": "true",
            "GAME_LOCALITY": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    port = free_port()
    server = start_server(port, env, OUT / f"{prefix}.log")
    client = Redis.from_url(args.redis)
    try:
        wait_ready([port])
        # python-socketio subscribes on the first Socket.IO connection; open one.
        import urllib.request

        urllib.request.urlopen(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling").read()
        time.sleep(2)
        window = args.messages / args.rate
        idle0 = proc_cpu_s(server.pid) or 0.0
        time.sleep(window)
        idle = (proc_cpu_s(server.pid) or 0.0) - idle0
        payloads = [message(i) for i in range(args.messages)]
        channel = f"{prefix}:socketio"
        busy0 = proc_cpu_s(server.pid) or 0.0
        start = time.monotonic()
        for i in range(0, args.messages, 100):
            pipe = client.pipeline(transaction=False)
            for payload in payloads[i : i + 100]:
                pipe.publish(channel, payload)
            receivers = pipe.execute()
            assert all(r == 1 for r in receivers), receivers[:3]
            lag = start + (i + 100) / args.rate - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        time.sleep(max(0.0, start + window - time.monotonic()) + 0.5)
        busy = (proc_cpu_s(server.pid) or 0.0) - busy0
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=15)
    per_message_us = (busy - idle) / args.messages * 1e6
    result = {
        "git_head": git_head(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "messages": args.messages,
        "rate_per_s": args.rate,
        "window_s": round(window, 2),
        "idle_cpu_s": round(idle, 3),
        "busy_cpu_s": round(busy, 3),
        "cpu_us_per_foreign_broadcast": round(per_message_us, 1),
        "loadavg": os.getloadavg(),
    }
    (OUT / f"receive-cost-{result['date']}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
