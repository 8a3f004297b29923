"""Loading the server's Lua scripts: every script lives in its own file in `lua/`.

Game scripts get `_follow_game.lua` prepended (the rule that a key a script writes
takes the game hash's lifetime, see that file); the others (leases, pacing marks,
TOTP steps) are loaded as they are. Each file starts with a comment naming its
KEYS, ARGV and return value, so a script can be read without its caller.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

LUA_DIR = Path(__file__).parent / "lua"
PRELUDE = "_follow_game.lua"


@cache
def _source(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text()


def game_script(redis: Redis, name: str) -> AsyncScript:
    """`lua/<name>.lua` with the game prelude: KEYS[1] must be the game hash."""
    return redis.register_script(_source(PRELUDE.removesuffix(".lua")) + _source(name))


def plain_script(redis: Redis, name: str) -> AsyncScript:
    """`lua/<name>.lua` as it is (a script that touches no game's keys, or only marks
    with a lifetime of their own)."""
    return redis.register_script(_source(name))
