"""The floor benchmark's parts: the floor speaks enough of the protocol for the
real load generator, and the cost model attributes CPU the way bench/README.md says.

Not speed tests: the floor runs a tiny game and only what arrives is checked.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiohttp import ClientError, ClientSession

from tests.support.loadgen import require_loadgen, run_loadgen

ROOT = Path(__file__).resolve().parent.parent
FLOOR = ROOT / "bench" / "floor" / "server.py"
PLAYERS = 20
QUESTIONS = 2


def _load_costmodel() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_costmodel", ROOT / "bench" / "costmodel.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


costmodel = _load_costmodel()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _get_json(url: str, proc: subprocess.Popen[bytes], tries: int = 150) -> Any:
    async with ClientSession() as http:
        for _ in range(tries):
            if proc.poll() is not None:
                raise RuntimeError("the floor exited")
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return await resp.json()
            except ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(url)


def _start_floor(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, str(FLOOR), "--port", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def test_the_load_generator_plays_a_whole_game_on_the_floor(tmp_path: Path) -> None:
    require_loadgen()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "floor.log"
    floor = _start_floor(port, log_path)
    try:
        await _get_json(f"{url}/readyz", floor)
        report = await run_loadgen(
            [
                "--url",
                url,
                "--players",
                str(PLAYERS),
                "--questions",
                str(QUESTIONS),
                "--calibrate",
                "1",
                "--calibrate-answers",
                "1",
                "--idle-ms",
                "100",
                "--pause-ms",
                "100",
                "--ramp",
                "0",
                "--seed",
                "3",
                "--db",
                "none",
            ],
            tmp_path / "loadgen.json",
        )
        stats = await _get_json(f"{url}/floor/stats", floor)
    finally:
        floor.send_signal(signal.SIGINT)
        try:
            floor.wait(timeout=20)
        except subprocess.TimeoutExpired:
            floor.kill()
    counts, metrics = report["counts"], report["metrics"]
    summary = json.dumps({"counts": counts, "stats": stats})
    assert counts["joined"] == PLAYERS and not counts["join_failed"], summary
    assert counts["host_saw_all_joined"], summary
    assert counts["answers_acked_ok"] == PLAYERS * QUESTIONS, summary
    assert counts["missed_question_started"] == 0 and counts["missed_your_result"] == 0, summary
    assert counts["final_results"] == PLAYERS and counts["finals_all_delivered"], summary
    # the floor acknowledged exactly the answers the players saw acknowledged
    # (the workload's answers and the answered calibration question's)
    assert [game["answers_acked"] for game in stats.values()] == [PLAYERS * (QUESTIONS + 1)], (
        summary
    )
    # the host ended every question once every answer had its ack
    assert report["config"]["end_mode"] == "acks"
    assert all(q["all_acked"] and q["all_results_delivered"] for q in report["questions"])
    assert metrics["reveal_end_question"]["n"] == PLAYERS * QUESTIONS
    # the silent question: everyone got question_started and your_result, nobody answered
    [calibration] = report["calibration"]
    assert calibration["all_started"] and calibration["all_results"], calibration
    assert calibration["broadcast"]["n"] == PLAYERS and calibration["reveal"]["n"] == PLAYERS
    # the answered calibration question: every player answered on the signal, all acked
    [answered] = report["answer_calibration"]
    assert answered["all_acked"] and answered["all_results"], answered
    assert answered["answers_acked_ok"] == answered["answer_ack"]["n"] == PLAYERS
    assert report["exactly_once"] == {"checked": False, "reason": "no --db / DATABASE_URL"}
    assert "Traceback" not in log_path.read_text(errors="replace")


def _mark(t: float, cpu: float) -> dict[str, Any]:
    return {"t": t, "cpu_exact": {1: cpu}}


def _loadgen(players: int, questions: int, calibrate: int, answers: int) -> dict[str, Any]:
    return {
        "config": {"questions": questions, "calibrate": calibrate},
        "counts": {"joined": players, "answers_acked_ok": answers},
    }


def test_the_cost_model_takes_the_background_and_the_silent_questions_off() -> None:
    # 100 players, 2 questions, 2 silent ones; the server idles at 2 % of a core.
    marks = {
        "join_start": _mark(0.0, 0.0),
        "join_end": _mark(1.0, 0.22),  # 0.22 s - 0.02 background = 0.2 s for 100 joins
        "idle_start": _mark(2.0, 0.30),
        "idle_end": _mark(4.0, 0.34),  # 0.04 s in 2 s: 2 %
        "play_start": _mark(5.0, 0.50),
        "q0_started": _mark(5.1, 0.51),
        "q0_acked": _mark(5.6, 0.60),  # 0.09 - 0.01 = 0.08 s
        "q1_started": _mark(8.0, 0.70),
        "q1_acked": _mark(8.5, 0.76),  # 0.06 - 0.01 = 0.05 s
        "play_end": _mark(15.0, 0.90),  # 0.4 s - 0.2 background = 0.2 s
        "cal0_bcast_start": _mark(16.0, 1.0),
        "cal0_bcast_end": _mark(16.5, 1.011),  # 0.011 - 0.010 = 0.001 s for 101 frames
        "cal0_reveal_start": _mark(17.0, 1.1),
        "cal0_reveal_end": _mark(17.5, 1.1301),  # 0.0301 - 0.01 = 0.0201 s for 201 frames
        "cal1_bcast_start": _mark(18.0, 1.2),
        "cal1_bcast_end": _mark(18.5, 1.213),  # 0.003 s
        "cal1_reveal_start": _mark(19.0, 1.3),
        "cal1_reveal_end": _mark(19.5, 1.3301),  # 0.0201 s
    }
    model = costmodel.cost_model(marks, [1], _loadgen(100, 2, 2, 180))
    assert model["background_cpu_pct"] == pytest.approx(2.0)
    assert model["cpu_ms_per_join"] == pytest.approx(2.0)  # 0.2 s / 100
    # the median of 0.001 and 0.003 s over 101 frames
    assert model["cpu_ms_per_broadcast_frame"] == pytest.approx(2 / 101, abs=1e-4)
    # 0.0201 s over 201 frames
    assert model["cpu_ms_per_reveal_frame"] == pytest.approx(0.1, abs=1e-4)
    # a silent question: 0.002 + 0.0201 s; answers: (0.2 - 2 × 0.0221) s / 180
    assert model["cpu_ms_per_silent_question"] == pytest.approx(22.1, abs=1e-3)
    assert model["cpu_ms_per_answer"] == pytest.approx(1000 * (0.2 - 0.0442) / 180, abs=1e-3)
    assert model["cpu_ms_per_answer_in_window"] == pytest.approx(1000 * 0.13 / 180, abs=1e-3)
    assert model["cpu_ms_all_in_per_player_question"] == pytest.approx(1.0)  # 0.2 s / 200


def test_the_isolated_answer_cost_is_its_window_plus_what_it_adds_to_the_reveal() -> None:
    # 100 players idling at 2 % of a core; two answered calibration questions of 100
    # answers each, whose windows cost 0.021 and 0.031 s (0.5 s wall: 0.01 s background),
    # and whose reveals cost 0.004 s more than the silent one's.
    marks = {
        "idle_start": _mark(0.0, 0.0),
        "idle_end": _mark(2.0, 0.04),
        "acal0_go": _mark(10.0, 1.0),
        "acal0_acked": _mark(10.5, 1.021),
        "acal0_reveal_start": _mark(11.0, 1.1),
        "acal0_reveal_end": _mark(11.5, 1.1341),
        "acal1_go": _mark(20.0, 2.0),
        "acal1_acked": _mark(20.5, 2.031),
        "acal1_reveal_start": _mark(21.0, 2.1),
        "acal1_reveal_end": _mark(21.5, 2.1341),
        "cal0_reveal_start": _mark(30.0, 3.0),
        "cal0_reveal_end": _mark(30.5, 3.0301),
        "cal0_bcast_start": _mark(29.0, 2.9),
        "cal0_bcast_end": _mark(29.5, 2.911),
    }
    loadgen = _loadgen(100, 0, 1, 0)
    loadgen["answer_calibration"] = [{"answers_acked_ok": 100}, {"answers_acked_ok": 100}]
    model = costmodel.cost_model(marks, [1], loadgen)
    # the median window: (0.011 + 0.021) / 2 s over 100 answers = 0.16 ms
    assert model["cpu_ms_per_answer_isolated_window_only"] == pytest.approx(0.16, abs=1e-4)
    # each reveal: 0.0241 - 0.0201 = 0.004 s over 100 answers
    assert model["cpu_ms_per_answer_isolated_reveal_share"] == pytest.approx(0.04, abs=1e-4)
    assert model["cpu_ms_per_answer_isolated"] == pytest.approx(0.2, abs=1e-4)
    assert model["windows"]["acal1_answers"] == {"wall_s": 0.5, "cpu_s": 0.031}


def test_the_cost_model_says_nothing_where_a_window_is_missing() -> None:
    marks = {"join_start": _mark(0.0, 0.0), "join_end": _mark(1.0, 0.1)}
    model = costmodel.cost_model(marks, [1], _loadgen(10, 5, 3, 50))
    assert model["cpu_ms_per_join"] == pytest.approx(10.0)  # no idle window: no background
    assert model["cpu_ms_per_answer"] is None
    assert model["cpu_ms_per_answer_in_window"] is None
    assert model["cpu_ms_per_answer_isolated"] is None
    assert model["cpu_ms_per_broadcast_frame"] is None
    assert model["calibration_questions"] == 0


def test_ratios_are_ours_over_the_floors_and_none_without_a_floor() -> None:
    ours = {"a": 0.3, "b": 10.0, "c": None, "d": 1.0}
    floor = {"a": 0.15, "b": 20.0, "c": 1.0, "d": 0.0}
    assert costmodel.ratios(ours, floor) == {"a": 2.0, "b": 0.5, "c": None, "d": None}


def test_one_silent_window_with_a_spike_does_not_set_the_frame_cost() -> None:
    # 3 silent questions of 1,000 players; the second broadcast window holds a 0.3 s
    # garbage collection: the figure is the typical window's, 0.05 ms a frame.
    marks: dict[str, Any] = {}
    for k, cpu in enumerate([0.05005, 0.35005, 0.05005]):
        marks[f"cal{k}_bcast_start"] = _mark(10.0 * k, 1.0 * k)
        marks[f"cal{k}_bcast_end"] = _mark(10.0 * k + 0.5, 1.0 * k + cpu)
    model = costmodel.cost_model(marks, [1], _loadgen(1000, 5, 3, 5000))
    assert model["cpu_ms_per_broadcast_frame"] == pytest.approx(0.05, abs=1e-6)
    assert model["windows"]["cal1_bcast"]["cpu_s"] == pytest.approx(0.35005)
