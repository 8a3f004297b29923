"""The cost model of a load test: server CPU per join, per answer and per frame.

The load generator announces phase boundaries (`@@phase name`) and run_bench.py
samples every watched process's CPU time at each one, so CPU can be split by
what the server was doing. No phase is pure, so each figure is a difference:

- **background**: the `idle` window (players connected, nothing happening) gives
  the server's CPU rate when idle (Engine.IO pings, timers). Every other window
  has `rate × its wall time` taken off: what is left is the work the phase caused.
- **per broadcast frame**: the calibration questions nobody answers; the window
  from the host's `next_question` until every player has `question_started`
  holds that command and N + 1 identical frames (the host gets one too); the
  median of the silent questions' windows.
- **per reveal frame**: the window from the host's `end_question` until every
  player has `your_result`, in the same silent questions: `question_ended` to
  N + 1 sockets and one `your_result` per player (2N + 1 frames, N of them
  encoded one by one); the median window.
- **per answer**: a workload question costs what a silent one costs (its
  broadcast and its reveal, median windows) plus what its answers add; so the play phase, less
  its background, less Q silent questions, divided by the answers acknowledged
  `ok`. Whatever an answer makes the server do later (scoring it at the reveal,
  `answer_count` to the host) counts as the answer's.
- **per answer, in its window** (a cross-check): each workload question from
  the moment every player has `question_started` to the moment every answer
  has its ack, over all the answers; low by the answers sent while the
  broadcast was still going, high by whatever else the server did meanwhile.
- **per answer, isolated** (the figure compared with the floor): the answered
  calibration questions, in which every player answers within the answer window of
  one signal given after the broadcast is over: the window from that signal to the
  last ack holds the answers (and `answer_count` to the host) and nothing else; plus
  what those answers add to their question's reveal (the answered reveal window less
  the silent one: scoring them). The median over the calibration questions. The
  subtraction above moves with every error in the silent windows it takes off (for
  the floor, whose frames are dear, by ±50 %); this one has nothing to take off but
  the background.
- **all-in per player-question**: the play phase less background, divided by
  N × Q: no attribution at all, the figure to compare with older runs.
- **per join**: the join phase less background, divided by the players joined
  (it includes `player_joined` to the host).

Everything here is a pure function of the marks and the generator's JSON.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# {"t": monotonic s, "cpu_exact": {pid: CPU s | None}} (run_bench.py's Sampler snapshots)
Mark = Mapping[str, Any]


def window_cpu(marks: Mapping[str, Mark], a: str, b: str, pids: Sequence[int]) -> float | None:
    """CPU seconds the processes used between marks a and b (None if either is missing)."""
    if a not in marks or b not in marks:
        return None
    total = 0.0
    for pid in pids:
        x, y = _cpu_of(marks[a], pid), _cpu_of(marks[b], pid)
        if x is None or y is None:
            return None
        total += y - x
    return total


def _cpu_of(mark: Mark, pid: int) -> float | None:
    """A process's CPU at a mark; pids are strings once the marks went through JSON."""
    cpu = mark["cpu_exact"]
    value = cpu.get(pid, cpu.get(str(pid)))
    return None if value is None else float(value)


def window_wall(marks: Mapping[str, Mark], a: str, b: str) -> float | None:
    if a not in marks or b not in marks:
        return None
    return float(marks[b]["t"] - marks[a]["t"])


def cost_model(
    marks: Mapping[str, Mark], pids: Sequence[int], loadgen: Mapping[str, Any]
) -> dict[str, Any]:
    """CPU per join, answer and frame (ms) for the processes `pids`; see the module's doc."""
    config = loadgen["config"]
    counts = loadgen["counts"]
    players = int(counts["joined"])
    questions = int(config["questions"])
    calibrate = int(config.get("calibrate") or 0)
    answers = int(counts["answers_acked_ok"])

    idle_cpu = window_cpu(marks, "idle_start", "idle_end", pids)
    idle_wall = window_wall(marks, "idle_start", "idle_end")
    rate = idle_cpu / idle_wall if idle_cpu is not None and idle_wall else 0.0

    def net(a: str, b: str) -> float | None:
        cpu, wall = window_cpu(marks, a, b, pids), window_wall(marks, a, b)
        return None if cpu is None or wall is None else cpu - rate * wall

    def per(total: float | None, n: int) -> float | None:
        return None if total is None or n <= 0 else round(1000 * total / n, 4)

    bcast = [net(f"cal{k}_bcast_start", f"cal{k}_bcast_end") for k in range(calibrate)]
    reveal = [net(f"cal{k}_reveal_start", f"cal{k}_reveal_end") for k in range(calibrate)]
    bcast_ok = [x for x in bcast if x is not None]
    reveal_ok = [x for x in reveal if x is not None]
    # The median window: one window in which a garbage collection or a burst of
    # pings happened must not set the figure (on a busy machine the windows of the
    # same work were seen to differ threefold).
    bcast_mid = statistics.median(bcast_ok) if bcast_ok else None
    reveal_mid = statistics.median(reveal_ok) if reveal_ok else None
    silent_question = (
        bcast_mid + reveal_mid if bcast_mid is not None and reveal_mid is not None else None
    )
    play = net("play_start", "play_end")
    answers_part = (
        None if play is None or silent_question is None else play - questions * silent_question
    )
    join = net("join_start", "join_end")
    answer_windows = [net(f"q{q}_started", f"q{q}_acked") for q in range(questions)]
    isolated, reveal_share = _isolated_answer_cost(
        net, loadgen.get("answer_calibration") or [], reveal_mid
    )
    in_windows = (
        sum(x for x in answer_windows if x is not None)
        if answer_windows and None not in answer_windows
        else None
    )
    spans = [("idle", "idle_start", "idle_end"), ("join", "join_start", "join_end")]
    spans += [("play", "play_start", "play_end")]
    for k in range(len(loadgen.get("answer_calibration") or [])):
        spans += [(f"acal{k}_answers", f"acal{k}_go", f"acal{k}_acked")]
        spans += [(f"acal{k}_reveal", f"acal{k}_reveal_start", f"acal{k}_reveal_end")]
    for k in range(calibrate):
        spans += [(f"cal{k}_bcast", f"cal{k}_bcast_start", f"cal{k}_bcast_end")]
        spans += [(f"cal{k}_reveal", f"cal{k}_reveal_start", f"cal{k}_reveal_end")]
    windows = {}
    for name, a, b in spans:
        cpu, wall = window_cpu(marks, a, b, pids), window_wall(marks, a, b)
        if cpu is not None and wall is not None:
            windows[name] = {"wall_s": round(wall, 4), "cpu_s": round(cpu, 5)}
    return {
        "pids": list(pids),
        "background_cpu_pct": round(100 * rate, 2),
        "cpu_ms_per_join": per(join, players),
        "cpu_ms_per_answer": per(answers_part, answers),
        "cpu_ms_per_answer_in_window": per(in_windows, answers),
        "cpu_ms_per_answer_isolated": _sum_or_none(isolated, reveal_share),
        "cpu_ms_per_answer_isolated_window_only": isolated,
        "cpu_ms_per_answer_isolated_reveal_share": reveal_share,
        "cpu_ms_per_broadcast_frame": per(bcast_mid, players + 1),
        "cpu_ms_per_reveal_frame": per(reveal_mid, 2 * players + 1),
        "cpu_ms_per_silent_question": per(silent_question, 1),
        "cpu_ms_all_in_per_player_question": per(play, players * questions),
        "play_cpu_s_less_background": None if play is None else round(play, 4),
        "join_cpu_s_less_background": None if join is None else round(join, 4),
        "answers": answers,
        "players": players,
        "questions": questions,
        "calibration_questions": len(bcast_ok),
        "windows": windows,  # the raw CPU and wall time of each window, before background
    }


def _isolated_answer_cost(
    net: Callable[[str, str], float | None],
    calibration: Sequence[Mapping[str, Any]],
    silent_reveal: float | None,
) -> tuple[float | None, float | None]:
    """(ms per answer in the answered calibration windows, ms per answer its reveal adds),
    each the median over the answered calibration questions (see the module's doc)."""
    windows, reveals = [], []
    for k, question in enumerate(calibration):
        answers = int(question.get("answers_acked_ok") or 0)
        if answers <= 0:
            continue
        window = net(f"acal{k}_go", f"acal{k}_acked")
        if window is not None:
            windows.append(1000 * window / answers)
        reveal = net(f"acal{k}_reveal_start", f"acal{k}_reveal_end")
        if reveal is not None and silent_reveal is not None:
            reveals.append(1000 * (reveal - silent_reveal) / answers)
    window_ms = round(statistics.median(windows), 4) if windows else None
    reveal_ms = round(statistics.median(reveals), 4) if reveals else None
    return window_ms, reveal_ms


def _sum_or_none(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a + b, 4)


def headline(result: Mapping[str, Any]) -> dict[str, float | None]:
    """The figures compared with the floor: latencies (ms) and CPU (ms of the server)."""
    metrics = result["loadgen"]["metrics"]
    model = result["cost_model"]["server"]
    reveal = metrics.get("reveal_end_question") or {}
    if not reveal.get("n"):
        reveal = metrics["your_result"]  # auto-end: from the host's question_ended
    return {
        "answer_ack_p99_ms": metrics["answer_ack"]["p99"],
        "broadcast_p99_ms": metrics["broadcast"]["p99"],
        "reveal_p99_ms": reveal["p99"],
        "cpu_ms_per_answer": model["cpu_ms_per_answer"],
        "cpu_ms_per_answer_in_window": model["cpu_ms_per_answer_in_window"],
        "cpu_ms_per_answer_isolated": model.get("cpu_ms_per_answer_isolated"),
        "cpu_ms_per_broadcast_frame": model["cpu_ms_per_broadcast_frame"],
        "cpu_ms_per_reveal_frame": model["cpu_ms_per_reveal_frame"],
        "cpu_ms_per_join": model["cpu_ms_per_join"],
        "cpu_ms_all_in_per_player_question": model["cpu_ms_all_in_per_player_question"],
    }


def ratios(ours: Mapping[str, float | None], floor: Mapping[str, float | None]) -> dict[str, Any]:
    """ours / floor for every headline figure (None where either is missing or zero)."""
    out: dict[str, Any] = {}
    for key, value in ours.items():
        base = floor.get(key)
        out[key] = None if value is None or not base else round(value / base, 2)
    return out
