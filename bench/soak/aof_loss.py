"""What a Redis crash costs acknowledged writes, measured (docs/operations.md, section 9).

The server says `ok` to an answer only after Redis replied to the answer script;
whether that answer survives a crash of Redis depends on the append-only file. This
runs a private redis-server (tests/support/redis_server.py) with the compose file's
`appendonly yes` and the chosen `appendfsync`, lets W writers each record answers
one after another as fast as Redis replies (`HSETNX`, the answer script's
first-answer-wins write), SIGKILLs Redis in the middle, starts it again on the same
AOF and counts the replied writes that are missing. Repeated R times; also
reports the write rate, so `always` and `everysec` can be compared.

    python bench/soak/aof_loss.py --rounds 10 --appendfsync everysec
    python bench/soak/aof_loss.py --rounds 10 --appendfsync always

SIGKILL is a crash of the Redis process (OOM killer, `docker kill`, a bug): the
kernel keeps what Redis had written to the file. A crash of the whole machine (or a
power cut) also loses what the kernel had not yet flushed to disk, which with
`everysec` is up to the last second of writes; that cannot be measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.redis_server import PrivateRedis  # noqa: E402


async def one_round(server: PrivateRedis, writers: int, run_s: float, key: str) -> dict[str, float]:
    acked: list[str] = []
    stop = asyncio.Event()

    async def writer(w: int) -> None:
        client = aioredis.Redis(host="127.0.0.1", port=server.port, socket_timeout=2)
        i = 0
        try:
            while not stop.is_set():
                field = f"{w}:{i}"
                try:
                    await client.hsetnx(key, field, "1")
                except Exception:
                    return  # Redis is gone: this write was not acknowledged
                acked.append(field)
                i += 1
        finally:
            await client.aclose()

    tasks = [asyncio.create_task(writer(w)) for w in range(writers)]
    await asyncio.sleep(run_s)
    started_kill = time.monotonic()
    server.crash()
    stop.set()
    await asyncio.gather(*tasks)
    server.start()
    client = aioredis.Redis(host="127.0.0.1", port=server.port)
    kept = set(f.decode() for f in await client.hkeys(key))
    await client.delete(key)
    await client.aclose()
    lost = [f for f in acked if f not in kept]
    return {
        "acked": len(acked),
        "lost": len(lost),
        "rate_per_s": round(len(acked) / run_s),
        "kill_s": round(time.monotonic() - started_kill, 2),
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--run-s", type=float, default=2.5)
    parser.add_argument("--appendfsync", default="everysec", choices=["everysec", "always", "no"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cq-aof-") as tmp:
        server = PrivateRedis(Path(tmp), appendfsync=args.appendfsync)
        server.start()
        try:
            rounds = [
                await one_round(server, args.writers, args.run_s, f"answers:{r}")
                for r in range(args.rounds)
            ]
        finally:
            server.stop()
    result = {
        "appendfsync": args.appendfsync,
        "writers": args.writers,
        "rounds": rounds,
        "acked": sum(r["acked"] for r in rounds),
        "lost": sum(r["lost"] for r in rounds),
        "median_rate_per_s": sorted(r["rate_per_s"] for r in rounds)[len(rounds) // 2],
    }
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
