"""Stored results keep each question's choice texts, so the results page can label its
charts after the quiz was edited or deleted: a real game, the real tables, the real API."""

from __future__ import annotations

import uuid

from classquiz.db.engine import database
from classquiz.db.models import Game
from classquiz.services.results_store import fetch_game
from tests.support.users import ApiUser
from tests.web.results_support import play_sample_game


async def test_choice_texts_survive_the_quiz(user: ApiUser, base_url: str) -> None:
    played = await play_sample_game(user, base_url)
    status, _ = await user.request("DELETE", f"/api/v1/quizzes/{played.quiz_id}")
    assert status == 204  # the quiz is gone; its texts must still be in the results

    status, stats = await user.request("GET", f"/api/v1/results/{played.game_id}")
    assert status == 200, stats
    by_type = {q["type"]: q for q in stats["questions"]}
    assert by_type["single"]["choices"] == [
        {"id": 0, "text": "3"}, {"id": 1, "text": "4"}, {"id": 2, "text": "5"}
    ]  # fmt: skip
    assert [c["text"] for c in by_type["poll"]["choices"]] == ["Red", "Blue"]
    assert by_type["poll"]["distribution"] == {"0": 1, "1": 2}
    assert [c["text"] for c in by_type["order"]["choices"]] == ["1", "2", "3"]
    assert by_type["text"]["choices"] == [] and by_type["slider"]["choices"] == []
    assert by_type["single"]["correct"] == [1]
    assert by_type["slider"]["correct"] == {"correct": 90, "tolerance": 2}

    # Read back from PostgreSQL, both ways the code base reads it: the JSON is a list of
    # objects, never a string (the Ormar JSON trap of docs/architecture.md).
    row = await fetch_game(database, uuid.UUID(played.game_id))
    assert row is not None
    assert isinstance(row.questions, list) and isinstance(row.questions[0]["choices"], list)
    game = await Game.objects.get(id=played.game_id)
    assert isinstance(game.questions, list)
    assert game.questions[0]["choices"] == [
        {"id": 0, "text": "3"}, {"id": 1, "text": "4"}, {"id": 2, "text": "5"}
    ]  # fmt: skip
