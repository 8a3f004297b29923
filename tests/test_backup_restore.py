"""Backup and restore as docs/operations.md §8 tells an operator to do it (issue 14).

A real server process stores the results of a game played over real sockets in a
database of its own; the server stops; the machine's `pg_dump --format=custom`
saves that database; `pg_restore` loads the file into a brand-new, empty
database; a server started on the restored database (same `SECRET_KEY`) then
answers the results API exactly as before: the host's list, the game's
statistics, its players with their answers, the CSV export, and a player's own
results through the player token they got in the game. A dump made before
migration 0009 does not restore with `pg_restore` (see the migration); the way
round it that the docs give is checked as well.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from aiohttp import ClientSession

from classquiz.db.migrate import current_revision, upgrade_database
from tests.support.apps import admin_url
from tests.support.live import SocketGroup, create_game, paced, stored_results
from tests.support.processes import running_servers
from tests.support.quizzes import single_choice
from tests.support.users import ApiUser, register_user

PG_TOOLS = Path("/usr/lib/postgresql/15/bin")


def pg_tool(name: str) -> str:
    """The machine's PostgreSQL 15 client tool (the version of the server they dump)."""
    path = PG_TOOLS / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    assert found, f"{name} is not installed (apt-get install postgresql-client-15)"
    return found


@pytest.fixture
def databases(storage: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Two new databases: the one backed up (migrated) and the empty one restored into."""
    admin = storage["admin_url"]
    names = [f"cqbak_{uuid.uuid4().hex[:10]}", f"cqres_{uuid.uuid4().hex[:10]}"]
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for name in names:
                cur.execute(f'CREATE DATABASE "{name}"')
        yield admin_url(admin, names[0]), admin_url(admin, names[1])
    finally:
        with conn.cursor() as cur:
            for name in names:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


async def play_a_game(owner: ApiUser, url: str) -> tuple[str, str]:
    """A two-question game with three players, played to its end over real sockets (Ada
    right twice, Cy once, Bob never, so the ranks do not hang on speed points);
    its id and the player token the winner's welcome carried."""
    game = await create_game(owner, [single_choice("First?"), single_choice("Second?")])
    async with SocketGroup(url) as room:
        host = await room.host(game)
        players = [await room.player(game, name) for name in ("Ada", "Bob", "Cy")]
        welcome = await players[0].wait("welcome")
        token = str(welcome["player"]["player_token"])
        assert (await paced(host, "start_game"))["ok"]
        for index, choices in enumerate([(0, 1, 0), (0, 1, 2)]):
            if index:
                assert (await paced(host, "next_question"))["ok"]
            await asyncio.gather(*(p.wait("question_started", count=index + 1) for p in players))
            acks = [
                await paced(player, "submit_answer", {"question_index": index, "answer": choice})
                for player, choice in zip(players, choices, strict=True)
            ]
            assert all(ack["ok"] for ack in acks), acks
            await host.wait("question_ended", count=index + 1)
        assert (await paced(host, "end_game"))["ok"]
    await stored_results(owner, game["game_id"])
    return str(game["game_id"]), token


async def results_as_the_api_gives_them(
    owner: ApiUser, game_id: str, player_token: str
) -> dict[str, Any]:
    """Everything the results API says about the game, to its host and to a player."""
    seen: dict[str, Any] = {}
    for name, path in {
        "list": "/api/v1/results",
        "stats": f"/api/v1/results/{game_id}",
        "players": f"/api/v1/results/{game_id}/players",
        "csv": f"/api/v1/results/{game_id}/export?format=csv",
    }.items():
        status, body = await owner.request("GET", path)
        assert status == 200, (path, body)
        seen[name] = body
    async with owner.http.get(
        f"/api/v1/results/{game_id}/me", headers={"Authorization": f"Bearer {player_token}"}
    ) as resp:
        assert resp.status == 200, await resp.text()
        seen["me"] = await resp.json()
    return seen


def run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


async def test_pg_dump_and_pg_restore_give_back_every_result(
    storage: dict[str, str], databases: tuple[str, str], tmp_path: Path
) -> None:
    source, restored = databases
    upgrade_database(source)
    revision = current_revision(source)

    # 1. A server on the source database; a host plays a game to its end.
    on_source = {**storage, "database_url": source, "redis_prefix": f"{storage['redis_prefix']}bk"}
    async with running_servers(on_source, tmp_path, "before") as (before,):
        async with ClientSession(before.url) as http:
            owner = await register_user(http)
            game_id, player_token = await play_a_game(owner, before.url)
            expected = await results_as_the_api_gives_them(owner, game_id, player_token)
    # (leaving the block stopped the server: nothing writes during the dump)
    assert [game["game_id"] for game in expected["list"]["items"]] == [game_id]
    assert [p["nickname"] for p in expected["players"]["items"]] == ["Ada", "Cy", "Bob"]
    assert expected["players"]["items"][0]["score"] > 0
    assert sum(len(p["answers"]) for p in expected["players"]["items"]) == 6
    assert expected["me"]["nickname"] == "Ada" and expected["me"]["rank"] == 1

    # 2. Back up with the machine's pg_dump, in the custom format.
    dump = tmp_path / "classquiz.dump"
    run([pg_tool("pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={source}"])
    assert dump.read_bytes()[:5] == b"PGDMP"  # the custom format's signature
    listing = run([pg_tool("pg_restore"), "--list", str(dump)])
    assert "TABLE DATA public game_answers" in listing

    # 3. Restore into a brand-new, empty database.
    run(
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={restored}",
            str(dump),
        ]
    )
    assert current_revision(restored) == revision
    upgrade_database(restored)  # what `serve` does on start: nothing left to migrate
    assert current_revision(restored) == revision

    # 4. A server on the restored database (another Redis prefix: nothing can come
    #    from the old one) answers the same, to the same access and player tokens.
    on_restored = {
        **storage,
        "database_url": restored,
        "redis_prefix": f"{storage['redis_prefix']}rs",
    }
    async with running_servers(on_restored, tmp_path, "after") as (after,):
        async with ClientSession(after.url) as http:
            owner_again = ApiUser(http, owner.username, owner.email, owner.password, owner.token)
            assert await results_as_the_api_gives_them(owner_again, game_id, player_token) == (
                expected
            )
            status, _ = await owner_again.request("GET", "/api/v1/users/me")
            assert status == 200


def psql_restore_with_public_search_path(dump: Path, database_url: str) -> None:
    """docs/operations.md's way to restore a dump made before migration 0009: the
    SQL pg_restore writes, with the `search_path` it sets changed to `public`."""
    script = run([pg_tool("pg_restore"), "--no-owner", "--file=-", str(dump)])
    empty_path = "set_config('search_path', '', false)"
    assert script.count(empty_path) == 1
    fixed = script.replace(empty_path, "set_config('search_path', 'public', false)")
    done = subprocess.run(
        [pg_tool("psql"), "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", database_url],
        input=fixed,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_a_dump_from_before_0009_restores_the_documented_way(
    databases: tuple[str, str], tmp_path: Path
) -> None:
    source, restored = databases
    upgrade_database(source, "0008")
    owner, quiz = str(uuid.uuid4()), str(uuid.uuid4())
    conn = psycopg2.connect(source)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO users (id, email, username, password_hash) VALUES (%s, %s, %s, %s)",
                (owner, "ada@example.org", "ada", "not a hash"),
            )
            cur.execute(
                "INSERT INTO quizzes (id, owner_id, title, tags, questions) "
                "VALUES (%s, %s, 'Capitals', '[\"Geo\"]', '[{\"text\": \"Paris?\"}]')",
                (quiz, owner),
            )
    finally:
        conn.close()
    dump = tmp_path / "old.dump"
    run([pg_tool("pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={source}"])

    plain = subprocess.run(
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={restored}",
            str(dump),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plain.returncode != 0
    assert "function classquiz_json_array(json) does not exist" in plain.stderr

    psql_restore_with_public_search_path(dump, restored)
    upgrade_database(restored)  # then 0009 and whatever follows
    conn = psycopg2.connect(restored)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT title, tag_keys, search_vector::text FROM quizzes")
            assert cur.fetchall() == [("Capitals", ["geo"], "'capitals':1A 'geo':2B 'paris':3C")]
    finally:
        conn.close()
