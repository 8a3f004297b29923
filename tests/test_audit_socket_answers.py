"""Audit finding 14: invisible characters in text answers (docs/security.md §9.14).

A text answer is shown to the whole room: its normalised form is a key of
`question_ended.distribution`, on every player's screen and the projector. The
nickname rule for invisible characters applies: bidi overrides, zero-width
characters, NUL and other controls make the answer `invalid_answer`, which
changes nothing (the player may still answer).
"""

from __future__ import annotations

import asyncio
import unicodedata
from typing import Any

import pytest

from classquiz.game.invisible import is_invisible
from classquiz.game.rules import InvalidAnswer, grade
from tests.support.live import SocketGroup, create_game
from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser

TEXT_QUESTION: dict[str, Any] = {"type": "text", "accepted_answers": ["Paris"]}
HIDDEN = [
    "\u202e",  # right-to-left override
    "\u202a",  # left-to-right embedding
    "\u2066",  # left-to-right isolate
    "\u200f",  # right-to-left mark
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte-order mark
    "\x00",  # NUL
    "\x07",  # bell
    "\x1b",  # escape
    "\x85",  # next line (C1 control)
    "\u3164",  # Hangul filler: renders blank
    "\ue000",  # private use
]


@pytest.mark.parametrize("hidden", HIDDEN, ids=[f"U+{ord(h):04X}" for h in HIDDEN])
def test_a_text_answer_with_an_invisible_character_is_invalid(hidden: str) -> None:
    for answer in (f"Paris{hidden}", f"{hidden}Paris", f"Pa{hidden}ris", f"{hidden}siraP"):
        with pytest.raises(InvalidAnswer, match="invisible or control"):
            grade(TEXT_QUESTION, answer)


def test_ordinary_text_answers_still_grade() -> None:
    assert grade(TEXT_QUESTION, "  paris ").correct is True
    assert grade(TEXT_QUESTION, "Paris\tFrance\n").buckets == ("paris france",)
    assert grade(TEXT_QUESTION, "Ｐａｒｉｓ").correct is True  # full width folds by NFKC
    assert grade(TEXT_QUESTION, "Zoë 😀").correct is False
    assert grade(TEXT_QUESTION, "باريس").correct is False  # right-to-left script is fine


async def test_hidden_characters_never_reach_question_ended(
    user: ApiUser, sockets: SocketGroup
) -> None:
    text_question = sample_quiz()["questions"][3]
    game = await create_game(user, [text_question], title="Text answers")
    host = await sockets.host(game)
    ada = await sockets.player(game, "Ada")
    bob = await sockets.player(game, "Bob")
    assert (await host.call("start_game"))["ok"] is True
    await ada.wait("question_started")
    for hidden in ("\u202e", "\u200b", "\x00"):
        ack = await ada.call("submit_answer", {"question_index": 0, "answer": f"Par{hidden}is"})
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_answer", ack
        await asyncio.sleep(0.12)  # under the per-socket event limit
    # the refusals changed nothing: Ada still answers, and so does Bob
    ack = await ada.call("submit_answer", {"question_index": 0, "answer": "Paris"})
    assert ack["ok"] is True, ack
    ack = await bob.call("submit_answer", {"question_index": 0, "answer": "Lyon"})
    assert ack["ok"] is True, ack
    ended = await bob.wait("question_ended")
    assert ended["distribution"] == {"paris": 1, "lyon": 1}, ended
    assert ended["answered"] == 2
    for key in ended["distribution"]:
        assert not any(is_invisible(ch) for ch in unicodedata.normalize("NFKC", key)), key
    result = await ada.wait("your_result")
    assert result["correct"] is True and result["answered"] is True, result
