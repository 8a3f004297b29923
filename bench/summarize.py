"""Markdown tables for bench/RESULTS.md from run_bench.py JSON files.

.venv/bin/python bench/summarize.py bench/results/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

METRICS = [
    ("join_welcome", "join → welcome"),
    ("broadcast", "question broadcast"),
    ("answer_ack", "answer ack"),
    ("question_ended", "question_ended (host → player)"),
    ("your_result", "reveal: question_ended → your_result"),
    ("final_result", "final_result"),
]


def f(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def name(run: dict[str, Any]) -> str:
    cfg = run["loadgen"]["config"]
    workers = len(cfg["urls"])
    return f"{cfg['players']:,} × {workers}p"


def latency_table(runs: list[dict[str, Any]]) -> list[str]:
    head = "| metric (ms) | " + " | ".join(name(r) + " p50 / p99" for r in runs) + " |"
    rows = [head, "|---|" + "---|" * len(runs)]
    for key, label in METRICS:
        cells = []
        for r in runs:
            m = r["loadgen"]["metrics"][key]
            cells.append(f"{f(m['p50'])} / **{f(m['p99'])}**" if m["n"] else "–")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def counts_table(runs: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| run | joined | join rate /s | answers ok | lost | doubled | stored w/o ack "
        "| disconnects | missed results | q open ms | auto-end ms | server CPU s "
        "(join / play / total) | peak RSS MiB | gen. CPU s (join / play) | other load (cores) |",
        "|---|" + "---|" * 14,
    ]
    for r in runs:
        lg = r["loadgen"]
        c = lg["counts"]
        x = lg["exactly_once"]
        qs = lg["questions"]
        workers = r["server"]["workers"]
        cpu = " + ".join(
            f"{f(w['cpu_s_join'], 1)} / {f(w['cpu_s_play'], 1)} / {f(w['cpu_s_total'], 1)}"
            for w in workers
        )
        rss = " + ".join(f(w["peak_rss_mb"]) for w in workers)
        g = lg["generator"]
        other = r["server"].get("other_load_cores", {})
        rows.append(
            f"| {name(r)} | {c['joined']:,} | {f(c['join_rate_per_s'])} | "
            f"{c['answers_acked_ok']:,} | {x.get('lost', '?')} | {x.get('doubled', '?')} | "
            f"{x.get('extra_unacked', '?')} | {c['disconnects']} | {c['missed_your_result']} | "
            f"{'/'.join(f(q['question_open_ms']) for q in qs)} | "
            f"{'/'.join(f(q['auto_end_after_last_ack_ms']) for q in qs)} | {cpu} | {rss} | "
            f"{f(g['cpu_s_join'], 1)} / {f(g['cpu_s_play'], 1)} | "
            f"{f(other.get('join'), 2)} / {f(other.get('play'), 2)} |"
        )
    return rows


def main(paths: list[str]) -> int:
    runs = [json.loads(Path(p).read_text()) for p in paths]
    print("\n".join(latency_table(runs)))
    print()
    print("\n".join(counts_table(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
