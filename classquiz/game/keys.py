"""Redis key names of a live game, all under one hash tag so a Cluster keeps them together.

On one Redis (`buckets` 1) a game's keys carry the tag `{pin}` and the indexes shared
by all games (deadlines, unparked results, PIN reservations, an owner's games) are
single keys. On a Redis Cluster every script must stay within one hash slot, and the
scripts that move a game also write those indexes, so there games are grouped in
`buckets` (the PIN modulo their number): a game's keys and its bucket's indexes all
carry the tag `{b<bucket>}`, and a new game's PIN is drawn in its owner's bucket, so
the owner's games (the live-games quota) share that slot as well. Readers of an index
go over every bucket. See docs/scaling.md.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass


def pin_bucket(pin: str, buckets: int) -> int:
    return int(pin) % buckets if pin.isdigit() else zlib.crc32(pin.encode()) % buckets


def owner_bucket(owner_id: str, buckets: int) -> int:
    """The bucket of an account's games: its PINs are drawn in it."""
    return zlib.crc32(owner_id.encode()) % buckets


def bucket_tag(bucket: int) -> str:
    return f"{{b{bucket}}}"


@dataclass(frozen=True)
class GameKeys:
    prefix: str
    pin: str
    buckets: int = 1

    @property
    def base(self) -> str:
        if self.buckets == 1:
            return f"{self.prefix}:game:{{{self.pin}}}"
        return f"{self.prefix}:game:{bucket_tag(pin_bucket(self.pin, self.buckets))}:{self.pin}"

    @property
    def game(self) -> str:
        return self.base

    @property
    def quiz(self) -> str:
        return f"{self.base}:quiz"

    @property
    def players(self) -> str:
        return f"{self.base}:players"

    @property
    def nicks(self) -> str:
        return f"{self.base}:nicks"

    @property
    def scores(self) -> str:
        return f"{self.base}:scores"

    @property
    def streaks(self) -> str:
        return f"{self.base}:streaks"

    @property
    def correct(self) -> str:
        return f"{self.base}:correct"

    @property
    def online(self) -> str:
        return f"{self.base}:online"

    @property
    def gone(self) -> str:
        return f"{self.base}:gone"

    @property
    def banned(self) -> str:
        return f"{self.base}:banned"

    def answers(self, index: int) -> str:
        return f"{self.base}:a:{index}"

    def dist(self, index: int) -> str:
        return f"{self.base}:d:{index}"

    @property
    def revealed(self) -> str:
        return f"{self.base}:revealed"

    @property
    def procs(self) -> str:
        return f"{self.base}:procs"

    def fixed(self) -> list[str]:
        return [self.game, *(f"{self.base}:{suffix}" for suffix in _SUFFIXES)]

    def all(self, question_count: int) -> list[str]:
        per_question = [k for i in range(question_count) for k in (self.answers(i), self.dist(i))]
        return [*self.fixed(), *per_question]


# quiz: snapshot (string); players: pid -> JSON; nicks: normalised -> pid; scores: zset;
# streaks / correct: pid -> int; online: pid -> sid; gone: pid -> reason; banned: nicknames;
# revealed: the last `question_ended` payload (JSON), for a presenter that reloads;
# procs: the ids of the server processes holding a socket of the game (services/placement.py).
# Every key a game keeps under its tag for as long as it lives must be listed here or in
# `all`: that list is what touch.lua refreshes, what the end shortens and what
# create_game.lua clears. (Short-lived marks with their own TTL need not be.)
_SUFFIXES = (
    "quiz",
    "players",
    "nicks",
    "scores",
    "streaks",
    "correct",
    "online",
    "gone",
    "banned",
    "revealed",
    "procs",
)


def pin_key(prefix: str, pin: str, buckets: int = 1) -> str:
    """Reservation of a PIN among live games (SET NX)."""
    if buckets == 1:
        return f"{prefix}:pin:{pin}"
    return f"{prefix}:pin:{bucket_tag(pin_bucket(pin, buckets))}:{pin}"


def owner_games_key(prefix: str, owner_id: str, buckets: int = 1) -> str:
    """An account's live games, for its quota: a sorted set of `game_member`s."""
    if buckets == 1:
        return f"{prefix}:owner:{owner_id}:games"
    return f"{prefix}:owner:{bucket_tag(owner_bucket(owner_id, buckets))}:{owner_id}:games"


def game_member(pin: str, game_id: str) -> str:
    """One game in a set of games: its PIN (where its keys are) and its id (which game
    on that PIN it was)."""
    return f"{pin}:{game_id}"


def deadlines_key(prefix: str, bucket: int | None = None) -> str:
    """Due instants of open questions (a sorted set of `pin:qi`); one per bucket on a
    Redis Cluster, one in all otherwise (`bucket` None)."""
    if bucket is None:
        return f"{prefix}:deadlines"
    return f"{prefix}:deadlines:{bucket_tag(bucket)}"


def fanout_channel(prefix: str, process_id: str) -> str:
    """One process's fan-out channel: reveals and ends of the games it shares."""
    return f"{prefix}:fanout:{process_id}"


def emit_channel(prefix: str, process_id: str) -> str:
    """One process's Socket.IO channel: broadcasts of the games it shares."""
    return f"{prefix}:socketio:{process_id}"


def unparked_key(prefix: str, bucket: int | None = None) -> str:
    """Games finished whose results are not parked yet: a sorted set of `pin:game_id`
    by finish instant. `finish_game.lua` adds, parking removes, the sweeper reads it.
    One per bucket on a Redis Cluster (`bucket` None: the one of a single Redis)."""
    if bucket is None:
        return f"{prefix}:results:unparked"
    return f"{prefix}:results:unparked:{bucket_tag(bucket)}"


def bucket_of(pin: str, buckets: int) -> int | None:
    """The index bucket of game `pin`: None on a single Redis (one index for all)."""
    return None if buckets == 1 else pin_bucket(pin, buckets)


def all_buckets(buckets: int) -> list[int | None]:
    """Every index bucket, for readers that go over all of them."""
    return [None] if buckets == 1 else list(range(buckets))


def unparked_member(pin: str, game_id: str) -> str:
    return game_member(pin, game_id)


def auto_finish_key(prefix: str) -> str:
    """Abandoned-game timers: a sorted set of `pin:game_id:reason` by due instant."""
    return f"{prefix}:auto-finish"
