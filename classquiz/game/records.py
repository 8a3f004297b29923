"""The records a live game keeps in Redis, typed, with their one encoder and decoder.

The game hash (`cq:game:{pin}`) is a Redis hash of text fields; its moving part
(id, status, qi, opens_at, deadline_at, active, locked, written by the state-move
scripts) is read as a `GameState`.

Player and answer records are small JSON objects with one-letter keys (a game of
thousands keeps thousands of them, and `submit_answer.lua` builds the answer
record by string concatenation on the hot path). Python reads and writes them only
through this module; the two scripts that write them (`lua/submit_answer.lua`,
`lua/reroll_nickname.lua`) name the same letters, listed here once:

player (`…:players`, player id → record)  n nickname · k its uniqueness key ·
    j joined at (ms) · r nickname rerolls used (absent: 0)
answer (`…:a:<i>`, player id → record)    a the answer as stored · c correct
    (1, 0, or -1 for a poll) · p points · e elapsed ms · t received at (ms, Redis'
    clock) · s the streak before this answer
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeGuard, get_args

import orjson

GoneReason = Literal["left", "kicked", "banned"]  # `…:gone`: why a player is gone


def gone_reason(raw: str) -> GoneReason:
    """A `…:gone` value as written by remove_player.lua (one of GoneReason)."""
    if not _is_gone_reason(raw):
        raise ValueError(f"not a reason a player is gone: {raw!r}")
    return raw


def _is_gone_reason(raw: str) -> TypeGuard[GoneReason]:
    return raw in get_args(GoneReason)


# The game hash fields a GameState is read from, in this order (one HMGET).
STATE_FIELDS = ("id", "status", "qi", "opens_at", "deadline_at", "active", "locked")


@dataclass(frozen=True, slots=True)
class GameState:
    """Where a game is now: the moving part of its hash (cheaper to read than all of it,
    which also carries the settings and the quiz's facts)."""

    game_id: str
    status: str  # lobby, question, reveal, finished
    question_index: int  # -1 in the lobby
    opens_at_ms: int | None  # of the current question, once one was opened
    deadline_at_ms: int | None
    active: int  # players in the game (not gone)
    locked: bool

    @classmethod
    def decode(cls, values: list[Any]) -> GameState | None:
        """From the STATE_FIELDS values of one HMGET; None when the hash is gone."""
        raw = dict(zip(STATE_FIELDS, values, strict=True))
        if raw["id"] is None:
            return None

        def field(name: str) -> str | None:
            value = raw[name]
            return value.decode() if isinstance(value, bytes) else value

        def number(name: str) -> int | None:
            value = field(name)
            return int(value) if value is not None else None

        qi = number("qi")
        return cls(
            game_id=field("id") or "",
            status=field("status") or "lobby",
            question_index=-1 if qi is None else qi,
            opens_at_ms=number("opens_at"),
            deadline_at_ms=number("deadline_at"),
            active=number("active") or 0,
            locked=field("locked") == "1",
        )


@dataclass(frozen=True, slots=True)
class PlayerRecord:
    nickname: str
    nickname_key: str
    joined_at_ms: int = 0
    rerolls: int = 0

    def encode(self) -> bytes:
        record: dict[str, Any] = {"n": self.nickname, "k": self.nickname_key}
        record["j"] = self.joined_at_ms
        if self.rerolls:
            record["r"] = self.rerolls
        return orjson.dumps(record)

    @classmethod
    def decode(cls, raw: bytes | str) -> PlayerRecord:
        record = orjson.loads(raw)
        return cls(
            nickname=record["n"],
            nickname_key=record["k"],
            joined_at_ms=int(record.get("j", 0)),
            rerolls=int(record.get("r", 0)),
        )


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    answer: Any
    correct: bool | None  # None: a poll, nothing is right or wrong
    points: int
    elapsed_ms: int
    received_at_ms: int
    streak_before: int

    @classmethod
    def decode(cls, raw: bytes | str) -> AnswerRecord:
        record = orjson.loads(raw)
        flag = int(record["c"])
        return cls(
            answer=record["a"],
            correct=None if flag == -1 else flag == 1,
            points=int(record["p"]),
            elapsed_ms=int(record["e"]),
            received_at_ms=int(record.get("t", 0)),
            streak_before=int(record.get("s", 0)),
        )


def correct_flag(correct: bool | None) -> int:
    """How `submit_answer.lua` takes (and the answer record stores) correctness."""
    return -1 if correct is None else int(correct)


@dataclass(frozen=True, slots=True)
class Standing:
    """One player's place after a question (or at the end): what `your_result`,
    `final_result` and a reconnecting player's welcome are built from."""

    player_id: str
    answer: AnswerRecord | None  # to the question asked about; None: not answered
    streak: int
    score: int
    rank: int  # 1 + how many scores are higher (equal scores share a rank)
    gap_to_next: int | None  # points behind the next higher score; None at rank 1
    correct_count: int = 0


@dataclass(frozen=True, slots=True)
class FinalState:
    """Everything a finished game's record is built from, read in one round trip."""

    players: dict[str, PlayerRecord]  # everyone who joined and was not forgotten
    gone: dict[str, GoneReason]  # player id → why they are gone
    correct: dict[str, int]  # player id → correct answers
    answers: list[dict[str, AnswerRecord]]  # per question: player id → answer
    distributions: list[dict[str, int]]  # per question: bucket → count
