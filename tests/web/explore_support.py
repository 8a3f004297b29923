"""Seeding and waiting for the Explore tests: public and private quizzes made through the
REST API, with words of their own, so tests running side by side on one database never
find each other's quizzes."""

from __future__ import annotations

import asyncio
import random
import string
import time
from typing import Any

from aiohttp import ClientSession

from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser


def unique_word(length: int = 6) -> str:
    """A made-up lowercase word no other test uses (random letters)."""
    return "".join(random.choices(string.ascii_lowercase, k=length))


def with_typo(word: str) -> str:
    """`word` with one letter in the middle replaced: one substitution, which the
    search forgives in a word of 5+ letters (docs/search.md), never the first letter."""
    middle = len(word) // 2
    replacement = "z" if word[middle] != "z" else "y"
    return word[:middle] + replacement + word[middle + 1 :]


async def make_quiz(author: ApiUser, **fields: Any) -> dict[str, Any]:
    status, body = await author.request("POST", "/api/v1/quizzes", json=sample_quiz(**fields))
    assert status == 201, body
    return body


async def wait_until_found(
    http: ClientSession, query: str, count: int, timeout_s: float = 15
) -> None:
    """Wait until `GET /search?q=query` finds `count` quizzes: the typo look-up reads
    the word list the indexer fills just after each save commits."""
    deadline = time.monotonic() + timeout_s
    total = -1
    while time.monotonic() < deadline:
        async with http.get("/api/v1/search", params={"q": query}) as resp:
            assert resp.status == 200, await resp.text()
            total = (await resp.json())["total"]
        if total == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"search for {query!r} found {total}, not {count}")
