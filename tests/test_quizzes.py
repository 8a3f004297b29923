"""Quiz CRUD over real HTTP against real PostgreSQL: ownership, visibility, validation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser, register_user

QUIZZES = "/api/v1/quizzes"


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
async def alice(base_url: str) -> AsyncIterator[ApiUser]:
    """A quiz owner shared by the tests of this module (Argon2 makes users slow to make)."""
    async with ClientSession(base_url) as session:
        yield await register_user(session)


@pytest.fixture(scope="module")
async def bob(base_url: str) -> AsyncIterator[ApiUser]:
    async with ClientSession(base_url) as session:
        yield await register_user(session)


@pytest.fixture
async def anonymous(base_url: str) -> AsyncIterator[ClientSession]:
    """A client with no credentials at all (no bearer, no cookie)."""
    async with ClientSession(base_url) as session:
        yield session


def assert_error(body: Any, code: str) -> dict[str, Any]:
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    if "details" in error:
        assert isinstance(error["details"], list) and error["details"], error
    return error


async def anon(session: ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with session.request(method, path, **kwargs) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.read()


async def create(user: ApiUser, **overrides: Any) -> dict[str, Any]:
    status, body = await user.request("POST", QUIZZES, json=sample_quiz(**overrides))
    assert status == 201, body
    return body


def assert_quiz_shape(body: dict[str, Any]) -> None:
    assert {
        "id",
        "owner_id",
        "author",
        "title",
        "description",
        "public",
        "language",
        "tags",
        "question_count",
        "questions",
        "created_at",
        "updated_at",
    } <= set(body)
    assert isinstance(body["questions"], list)
    assert all(isinstance(q, dict) for q in body["questions"])
    assert isinstance(body["tags"], list)
    assert all(isinstance(t, str) for t in body["tags"])
    assert body["question_count"] == len(body["questions"])


# ---------------------------------------------------------------- create


async def test_create(alice: ApiUser) -> None:
    data = sample_quiz(tags=["maths", "Maths", "science"])
    status, body = await alice.request("POST", QUIZZES, json=data)
    assert status == 201, body
    assert_quiz_shape(body)
    uuid.UUID(body["id"])
    assert body["title"] == data["title"]
    assert body["description"] == data["description"]
    assert body["public"] is False
    assert body["language"] == "en"
    assert body["tags"] == ["maths", "science"]
    assert body["question_count"] == 7
    assert body["author"] == alice.username
    types = [q["type"] for q in body["questions"]]
    assert types == ["single", "multiple", "true_false", "text", "slider", "order", "poll"]
    # defaults are filled in and `correct` on order items is dropped to false
    assert body["questions"][2]["points"] == 1
    assert [c["correct"] for c in body["questions"][5]["choices"]] == [False, False, False]
    assert body["questions"][4]["slider"] == {
        "min": 0,
        "max": 180,
        "step": 1,
        "correct": 90,
        "tolerance": 2,
    }


async def test_create_minimal(alice: ApiUser) -> None:
    status, body = await alice.request(
        "POST",
        QUIZZES,
        json={
            "title": "Tiny",
            "questions": [{"type": "text", "text": "Say hi", "accepted_answers": ["hi"]}],
        },
    )
    assert status == 201, body
    assert body["description"] == ""
    assert body["public"] is False
    assert body["language"] is None
    assert body["tags"] == []
    assert body["questions"][0]["time_limit_s"] == 20
    assert body["questions"][0]["points"] == 1


async def test_create_422_names_question_and_field(alice: ApiUser) -> None:
    data = sample_quiz()
    data["questions"][2]["choices"].append({"text": "Maybe"})  # true_false with 3 choices
    data["questions"][4]["slider"]["correct"] = 500  # slider correct outside
    status, body = await alice.request("POST", QUIZZES, json=data)
    assert status == 422, body
    error = assert_error(body, "validation_error")
    by_index = {item["question_index"]: item for item in error["details"]}
    assert set(by_index) == {2, 4}
    assert by_index[2]["field"] == "questions.2.choices"
    assert by_index[4]["field"] == "questions.4.slider.correct"
    for item in error["details"]:
        assert item["message"] and item["code"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "x", "questions": []}, "questions"),
        ({"questions": sample_quiz()["questions"]}, "title"),
        (sample_quiz(title="t" * 201), "title"),
        (sample_quiz(surprise=True), "surprise"),
        (sample_quiz(language="English!"), "language"),
        (sample_quiz(tags="maths"), "tags"),
        (sample_quiz(questions=[{"type": "poll", "text": "?"}]), "questions.0.choices"),
        (
            sample_quiz(
                questions=[
                    {
                        "type": "slider",
                        "text": "?",
                        "slider": {"min": "-Infinity", "max": 1, "correct": 0},
                    }
                ]
            ),
            "questions.0.slider.min",
        ),
    ],
)
async def test_create_validation_errors(alice: ApiUser, data: dict[str, Any], field: str) -> None:
    status, body = await alice.request("POST", QUIZZES, json=data)
    assert status == 422, body
    error = assert_error(body, "validation_error")
    assert field in {item["field"] for item in error["details"]}


@pytest.mark.parametrize("payload", [[], "quiz", 42, None])
async def test_create_body_not_an_object(alice: ApiUser, payload: Any) -> None:
    status, body = await alice.request("POST", QUIZZES, json=payload)
    assert status == 422, body
    assert_error(body, "validation_error")


async def test_create_empty_body(alice: ApiUser) -> None:
    status, body = await alice.request("POST", QUIZZES, data=b"")
    assert status == 422, body
    assert_error(body, "validation_error")


@pytest.mark.parametrize("raw", [b"{", b"{'title': 1}", b"nope", b'{"title": "x",}'])
async def test_invalid_json_is_400(alice: ApiUser, raw: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    status, body = await alice.request("POST", QUIZZES, data=raw, headers=headers)
    assert status == 400, body
    assert_error(body, "invalid_json")
    quiz = await create(alice)
    status, body = await alice.request("PUT", f"{QUIZZES}/{quiz['id']}", data=raw, headers=headers)
    assert status == 400, body
    assert_error(body, "invalid_json")


async def test_body_too_large_is_413(alice: ApiUser) -> None:
    raw = b'{"title": "' + b"x" * 1_100_000 + b'"}'
    status, body = await alice.request(
        "POST", QUIZZES, data=raw, headers={"Content-Type": "application/json"}
    )
    assert status == 413, body
    assert_error(body, "payload_too_large")


@pytest.mark.parametrize(
    "payload",
    [sample_quiz(), {"title": ""}, "not an object"],
    ids=["valid", "invalid", "not_object"],
)
async def test_create_needs_authentication_first(anonymous: ClientSession, payload: Any) -> None:
    status, body = await anon(anonymous, "POST", QUIZZES, json=payload)
    assert status == 401, body
    assert_error(body, "not_authenticated")


async def test_create_with_invalid_json_and_no_auth_is_401(anonymous: ClientSession) -> None:
    status, body = await anon(
        anonymous, "POST", QUIZZES, data=b"{", headers={"Content-Type": "application/json"}
    )
    assert status == 401, body
    assert_error(body, "not_authenticated")


async def test_create_with_bad_token_is_401(anonymous: ClientSession) -> None:
    status, body = await anon(
        anonymous,
        "POST",
        QUIZZES,
        json=sample_quiz(),
        headers={"Authorization": "Bearer garbage"},
    )
    assert status == 401
    assert_error(body, "invalid_token")


# ---------------------------------------------------------------- list


async def test_list_own_quizzes_paginated(http: ClientSession, bob: ApiUser) -> None:
    owner = await register_user(http)
    ids = [(await create(owner, title=f"Quiz {i}"))["id"] for i in range(3)]
    await create(bob, title="Not yours")

    status, page = await owner.request("GET", QUIZZES)
    assert status == 200, page
    assert page["total"] == 3
    assert page["limit"] == 20
    assert page["offset"] == 0
    assert [item["id"] for item in page["items"]] == ids[::-1]  # newest first
    item = page["items"][0]
    assert set(item) == {
        "id",
        "title",
        "description",
        "public",
        "language",
        "tags",
        "question_count",
        "created_at",
        "updated_at",
    }
    assert item["tags"] == ["sample"]
    assert item["question_count"] == 7

    status, page = await owner.request("GET", QUIZZES, params={"limit": 2})
    assert status == 200
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [item["id"] for item in page["items"]] == [ids[2], ids[1]]
    status, page = await owner.request("GET", QUIZZES, params={"limit": 2, "offset": 2})
    assert status == 200
    assert (page["total"], page["offset"]) == (3, 2)
    assert [item["id"] for item in page["items"]] == [ids[0]]
    status, page = await owner.request("GET", QUIZZES, params={"offset": 10})
    assert status == 200
    assert page["items"] == [] and page["total"] == 3

    # a change makes a quiz the newest
    status, _ = await owner.request(
        "PUT", f"{QUIZZES}/{ids[0]}", json=sample_quiz(title="Quiz 0, edited")
    )
    assert status == 200
    status, page = await owner.request("GET", QUIZZES, params={"limit": 100, "_": "cache"})
    assert status == 200
    assert [item["id"] for item in page["items"]] == [ids[0], ids[2], ids[1]]
    assert page["items"][0]["title"] == "Quiz 0, edited"

    # deleted quizzes leave the list
    status, _ = await owner.request("DELETE", f"{QUIZZES}/{ids[2]}")
    assert status == 204
    status, page = await owner.request("GET", QUIZZES)
    assert page["total"] == 2
    assert [item["id"] for item in page["items"]] == [ids[0], ids[1]]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": -1}, {"limit": "many"}, {"offset": -1}],
)
async def test_list_bounds(alice: ApiUser, params: dict[str, Any]) -> None:
    status, body = await alice.request("GET", QUIZZES, params=params)
    assert status == 422, body
    error = assert_error(body, "validation_error")
    assert {item["field"] for item in error["details"]} == set(params)


@pytest.mark.parametrize("limit", [1, 100])
async def test_list_limit_bounds_accepted(alice: ApiUser, limit: int) -> None:
    status, body = await alice.request("GET", QUIZZES, params={"limit": limit})
    assert status == 200, body
    assert body["limit"] == limit
    assert len(body["items"]) <= limit


async def test_list_needs_authentication(anonymous: ClientSession) -> None:
    status, body = await anon(anonymous, "GET", QUIZZES)
    assert status == 401
    assert_error(body, "not_authenticated")


# ---------------------------------------------------------------- read


async def test_read_own_private(alice: ApiUser) -> None:
    quiz = await create(alice)
    status, body = await alice.request("GET", f"{QUIZZES}/{quiz['id']}")
    assert status == 200, body
    assert_quiz_shape(body)
    assert body == quiz
    assert body["questions"][0]["choices"][1] == {"text": "4", "correct": True}
    assert body["questions"][3]["accepted_answers"] == ["Paris"]


async def test_private_quiz_is_hidden_from_others(
    alice: ApiUser, bob: ApiUser, anonymous: ClientSession
) -> None:
    quiz = await create(alice)
    status, body = await bob.request("GET", f"{QUIZZES}/{quiz['id']}")
    assert status == 404
    assert_error(body, "quiz_not_found")
    status, body = await anon(anonymous, "GET", f"{QUIZZES}/{quiz['id']}")
    assert status == 404
    assert_error(body, "quiz_not_found")


async def test_public_quiz_is_readable_by_anyone(
    alice: ApiUser, bob: ApiUser, anonymous: ClientSession
) -> None:
    quiz = await create(alice, public=True)
    for status, body in (
        await bob.request("GET", f"{QUIZZES}/{quiz['id']}"),
        await anon(anonymous, "GET", f"{QUIZZES}/{quiz['id']}"),
    ):
        assert status == 200, body
        assert_quiz_shape(body)
        assert body["id"] == quiz["id"]
        assert body["author"] == alice.username
        assert body["questions"] == quiz["questions"]


async def test_read_with_bad_credentials_is_401_even_when_public(
    alice: ApiUser, anonymous: ClientSession
) -> None:
    quiz = await create(alice, public=True)
    status, body = await anon(
        anonymous, "GET", f"{QUIZZES}/{quiz['id']}", headers={"Authorization": "Bearer nope"}
    )
    assert status == 401
    assert_error(body, "invalid_token")


async def test_read_accepts_any_uuid_spelling(alice: ApiUser) -> None:
    quiz = await create(alice)
    for spelling in (quiz["id"].upper(), quiz["id"].replace("-", "")):
        status, body = await alice.request("GET", f"{QUIZZES}/{spelling}")
        assert status == 200, (spelling, body)
        assert body["id"] == quiz["id"]


async def test_unknown_route_has_the_error_shape(alice: ApiUser) -> None:
    status, body = await alice.request("GET", "/api/v1/no-such-thing")
    assert status == 404
    assert_error(body, "not_found")
    status, body = await alice.request("PATCH", QUIZZES)
    assert status == 405
    assert_error(body, "method_not_allowed")


async def test_read_unknown(alice: ApiUser) -> None:
    status, body = await alice.request("GET", f"{QUIZZES}/{uuid.uuid4()}")
    assert status == 404
    assert_error(body, "quiz_not_found")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "' OR 1=1 --"])
async def test_malformed_id_is_404(alice: ApiUser, method: str, bad_id: str) -> None:
    kwargs: dict[str, Any] = {"json": sample_quiz()} if method == "PUT" else {}
    status, body = await alice.request(method, f"{QUIZZES}/{bad_id}", **kwargs)
    assert status == 404, body
    assert_error(body, "quiz_not_found")


# ---------------------------------------------------------------- update


async def test_update_by_owner(alice: ApiUser, anonymous: ClientSession) -> None:
    quiz = await create(alice)
    new = sample_quiz(
        title="Renamed",
        description="Now shorter",
        public=True,
        language="fr",
        tags=["géo"],
        questions=[
            {
                "type": "true_false",
                "text": "Paris is in France",
                "time_limit_s": 5,
                "points": 2,
                "choices": [{"text": "Vrai", "correct": True}, {"text": "Faux"}],
            }
        ],
    )
    status, body = await alice.request("PUT", f"{QUIZZES}/{quiz['id']}", json=new)
    assert status == 200, body
    assert_quiz_shape(body)
    assert body["id"] == quiz["id"]
    assert body["title"] == "Renamed"
    assert body["description"] == "Now shorter"
    assert body["public"] is True
    assert body["language"] == "fr"
    assert body["tags"] == ["géo"]
    assert body["question_count"] == 1
    assert body["questions"][0]["choices"][0]["text"] == "Vrai"
    assert body["created_at"] == quiz["created_at"]
    assert body["updated_at"] > quiz["updated_at"]

    # read back (now public, so anyone sees the change)
    status, again = await anon(anonymous, "GET", f"{QUIZZES}/{quiz['id']}")
    assert status == 200
    assert again == body
    assert isinstance(again["questions"], list) and isinstance(again["questions"][0], dict)
    assert isinstance(again["tags"], list)


async def test_update_invalid_body_is_422_and_changes_nothing(alice: ApiUser) -> None:
    quiz = await create(alice)
    bad = sample_quiz()
    bad["questions"][0]["choices"] = [{"text": "only one", "correct": True}]
    status, body = await alice.request("PUT", f"{QUIZZES}/{quiz['id']}", json=bad)
    assert status == 422
    error = assert_error(body, "validation_error")
    assert error["details"][0]["question_index"] == 0
    assert error["details"][0]["field"] == "questions.0.choices"
    status, body = await alice.request("GET", f"{QUIZZES}/{quiz['id']}")
    assert body == quiz


async def test_update_unknown_is_404(alice: ApiUser) -> None:
    status, body = await alice.request("PUT", f"{QUIZZES}/{uuid.uuid4()}", json=sample_quiz())
    assert status == 404
    assert_error(body, "quiz_not_found")


@pytest.mark.parametrize(("public", "expected"), [(True, 403), (False, 404)])
async def test_others_cannot_change_or_delete(
    alice: ApiUser, bob: ApiUser, public: bool, expected: int
) -> None:
    quiz = await create(alice, public=public)
    code = "forbidden" if expected == 403 else "quiz_not_found"
    status, body = await bob.request(
        "PUT", f"{QUIZZES}/{quiz['id']}", json=sample_quiz(title="Hijacked", public=True)
    )
    assert status == expected, body
    assert_error(body, code)
    status, body = await bob.request("DELETE", f"{QUIZZES}/{quiz['id']}")
    assert status == expected, body
    assert_error(body, code)
    status, body = await alice.request("GET", f"{QUIZZES}/{quiz['id']}")
    assert status == 200
    assert body == quiz


async def test_update_and_delete_need_authentication(
    alice: ApiUser, anonymous: ClientSession
) -> None:
    quiz = await create(alice, public=True)
    status, body = await anon(anonymous, "PUT", f"{QUIZZES}/{quiz['id']}", json=sample_quiz())
    assert status == 401
    assert_error(body, "not_authenticated")
    status, body = await anon(anonymous, "DELETE", f"{QUIZZES}/{quiz['id']}")
    assert status == 401
    assert_error(body, "not_authenticated")


# ---------------------------------------------------------------- delete


async def test_delete_by_owner(alice: ApiUser, bob: ApiUser) -> None:
    quiz = await create(alice, public=True)
    status, body = await alice.request("DELETE", f"{QUIZZES}/{quiz['id']}")
    assert status == 204, body
    assert body == b""
    for user in (alice, bob):
        status, body = await user.request("GET", f"{QUIZZES}/{quiz['id']}")
        assert status == 404
        assert_error(body, "quiz_not_found")
    status, body = await alice.request("DELETE", f"{QUIZZES}/{quiz['id']}")
    assert status == 404
    assert_error(body, "quiz_not_found")
    status, body = await alice.request("PUT", f"{QUIZZES}/{quiz['id']}", json=sample_quiz())
    assert status == 404
    assert_error(body, "quiz_not_found")


# ---------------------------------------------------------------- API keys work too


async def test_api_key_can_manage_quizzes(alice: ApiUser, http: ClientSession) -> None:
    status, created = await alice.request("POST", "/api/v1/users/api-keys", json={"name": "q"})
    assert status == 201
    headers = {"Authorization": f"Bearer {created['key']}"}
    async with http.post(QUIZZES, json=sample_quiz(), headers=headers) as resp:
        assert resp.status == 201
        quiz = await resp.json()
    status, body = await alice.request("GET", f"{QUIZZES}/{quiz['id']}")
    assert status == 200
    assert body["owner_id"] == quiz["owner_id"]
    async with http.delete(f"{QUIZZES}/{quiz['id']}", headers=headers) as resp:
        assert resp.status == 204
