"""What the run's PostgreSQL holds, read directly (not through the API under test)."""

from __future__ import annotations

import psycopg2


def stored_rows(database_url: str, game_id: str) -> tuple[int, int, int]:
    """How many rows game `game_id` has in games, game_players and game_answers."""
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            counts = []
            for sql in (
                "SELECT count(*) FROM games WHERE id = %s",
                "SELECT count(*) FROM game_players WHERE game_id = %s",
                "SELECT count(*) FROM game_answers WHERE game_id = %s",
            ):
                cur.execute(sql, (game_id,))
                counts.append(int(cur.fetchone()[0]))
        return counts[0], counts[1], counts[2]
    finally:
        conn.close()
