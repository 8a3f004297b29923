"""Markdown tables for bench/RESULTS.md from run_bench.py JSON files.

.venv/bin/python bench/summarize.py bench/results/*.json

A `--with-floor` file (`*-vs-floor.json`) counts as its two runs (the floor's
and ClassQuiz's) and adds the table of ratios.
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
    ("reveal_end_question", "reveal: end_question → your_result"),
    ("final_result", "final_result"),
]


def f(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def name(run: dict[str, Any]) -> str:
    cfg = run["loadgen"]["config"]
    workers = len(cfg["urls"])
    kind = " floor" if run.get("kind") == "floor" else ""
    return f"{cfg['players']:,} × {workers}p{kind}"


def latency_table(runs: list[dict[str, Any]]) -> list[str]:
    head = "| metric (ms) | " + " | ".join(name(r) + " p50 / p99" for r in runs) + " |"
    rows = [head, "|---|" + "---|" * len(runs)]
    for key, label in METRICS:
        cells = []
        for r in runs:
            m = r["loadgen"]["metrics"].get(key) or {"n": 0}  # older runs lack some
            cells.append(f"{f(m['p50'])} / **{f(m['p99'])}**" if m["n"] else "–")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def counts_table(runs: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| run | joined | join rate /s | answers ok | lost | doubled | stored w/o ack "
        "| disconnects | missed results | q open ms | end after last ack ms | server CPU s "
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


COSTS = [
    ("answer_ack_p99_ms", "answer ack p99, ms", 1),
    ("broadcast_p99_ms", "broadcast (question_started) p99, ms", 1),
    ("reveal_p99_ms", "reveal (end_question → your_result) p99, ms", 1),
    ("cpu_ms_per_answer", "CPU per answer, ms", 3),
    ("cpu_ms_per_answer_in_window", "CPU per answer in its window (cross-check), ms", 3),
    ("cpu_ms_per_broadcast_frame", "CPU per broadcast frame, ms", 3),
    ("cpu_ms_per_reveal_frame", "CPU per reveal frame, ms", 3),
    ("cpu_ms_per_join", "CPU per join, ms", 3),
    ("cpu_ms_all_in_per_player_question", "CPU all-in per player-question, ms", 3),
]


def floor_table(pairs: list[dict[str, Any]]) -> list[str]:
    """Floor, ClassQuiz and ratio for each --with-floor file."""
    head = "| figure | " + " | ".join(f"{p['players']:,}: floor | ClassQuiz | ratio" for p in pairs)
    rows = [head + " |", "|---|" + "---|---|---|" * len(pairs)]
    for key, label, digits in COSTS:
        cells = []
        for p in pairs:
            c = p["comparison"]
            cells.append(
                f"{f(c['floor'][key], digits)} | {f(c['classquiz'][key], digits)} | "
                f"**{f(c['ratio'][key], 2)}**"
            )
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    rows.append("| git head | " + " | ".join(f"| {p['git_head']} |" for p in pairs) + " |")
    return rows


def main(paths: list[str]) -> int:
    runs: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    for path in paths:
        data = json.loads(Path(path).read_text())
        if "comparison" in data:
            pairs.append(data)
            runs += [data["floor"], data["classquiz"]]
        else:
            runs.append(data)
    print("\n".join(latency_table(runs)))
    print()
    print("\n".join(counts_table(runs)))
    if pairs:
        print()
        print("\n".join(floor_table(pairs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
