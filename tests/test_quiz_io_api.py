"""The teacher's workspace over HTTP against the real server: export and import of quiz
documents, question tables (CSV/XLSX) with row-by-row errors, the template downloads,
and the "My quizzes" list features (search, copy, public/private toggle)."""

from __future__ import annotations

import io
import uuid
from typing import Any

import openpyxl
import orjson
from aiohttp import ClientSession, FormData

from classquiz.contracts.quizzes import QuizIn
from classquiz.db.models import Quiz
from classquiz.services import quiz_io
from tests.support.quizzes import sample_quiz
from tests.support.users import ApiUser

QUIZZES = "/api/v1/quizzes"
ALL_TYPES = ["single", "multiple", "true_false", "text", "slider", "order", "poll"]
# What a quiz is, apart from who owns it and when: compared across copies and imports.
CONTENT = ("title", "description", "language", "tags", "questions", "question_count")


async def create(user: ApiUser, **overrides: Any) -> dict[str, Any]:
    status, quiz = await user.request("POST", QUIZZES, json=sample_quiz(**overrides))
    assert status == 201, quiz
    return quiz


async def total(user: ApiUser, query: str = "") -> int:
    status, page = await user.request("GET", f"{QUIZZES}{query}")
    assert status == 200, page
    return page["total"]


def content(quiz: dict[str, Any]) -> dict[str, Any]:
    return {key: quiz[key] for key in CONTENT}


async def upload(
    user: ApiUser, data: bytes, filename: str, title: str | None = None
) -> tuple[int, Any]:
    form = FormData()
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    if title is not None:
        form.add_field("title", title)
    return await user.request("POST", f"{QUIZZES}/import/table", data=form)


# ---------------------------------------------------------------- the JSON document


async def test_export_then_import_round_trips_all_seven_types(user: ApiUser) -> None:
    quiz = await create(user, public=True)
    async with user.http.get(f"{QUIZZES}/{quiz['id']}/export", headers=user.headers) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert resp.headers["Content-Disposition"].startswith(
            'attachment; filename="sample-quiz.classquiz.json"'
        )
        document = orjson.loads(await resp.read())
    assert document["format"] == "classquiz-quiz" and document["version"] == 1
    assert [q["type"] for q in document["quiz"]["questions"]] == ALL_TYPES

    status, imported = await user.request("POST", f"{QUIZZES}/import", json=document)
    assert status == 201, imported
    assert imported["id"] != quiz["id"]
    assert content(imported) == content(quiz)
    assert imported["public"] is False  # an imported quiz starts private


async def test_export_follows_read_rights(
    user: ApiUser, other_user: ApiUser, base_url: str
) -> None:
    private = await create(user)
    public = await create(user, public=True, title="Shared")
    status, body = await other_user.request("GET", f"{QUIZZES}/{private['id']}/export")
    assert status == 404 and body["error"]["code"] == "quiz_not_found"
    status, document = await other_user.request("GET", f"{QUIZZES}/{public['id']}/export")
    assert status == 200 and document["quiz"]["title"] == "Shared"
    async with ClientSession(base_url) as anonymous:
        async with anonymous.get(f"{QUIZZES}/{public['id']}/export") as resp:
            assert resp.status == 200
        async with anonymous.get(f"{QUIZZES}/{private['id']}/export") as resp:
            assert resp.status == 404


async def test_a_quiz_saved_under_older_rules_still_exports_and_copies(user: ApiUser) -> None:
    """Export and copy take the stored quiz as it is; only an import applies today's rules."""
    quiz = await create(user)
    stored = await Quiz.objects.get(id=quiz["id"])
    questions = list(stored.questions)
    questions[0] = {**questions[0], "time_limit_s": 600}  # over today's 240 s
    await stored.update(_columns=["questions"], questions=questions)

    status, document = await user.request("GET", f"{QUIZZES}/{quiz['id']}/export")
    assert status == 200 and document["quiz"]["questions"][0]["time_limit_s"] == 600
    status, copy = await user.request("POST", f"{QUIZZES}/{quiz['id']}/duplicate")
    assert status == 201 and copy["questions"][0]["time_limit_s"] == 600
    status, body = await user.request("POST", f"{QUIZZES}/import", json=document)
    assert status == 422
    assert body["error"]["details"][0]["field"] == "quiz.questions.0.time_limit_s"


async def test_import_refuses_bad_documents_and_creates_nothing(user: ApiUser) -> None:
    before = await total(user)
    good = quiz_io.export_document(QuizIn.model_validate(sample_quiz()).model_dump(mode="json"))
    newer = {**good, "version": 2}
    status, body = await user.request("POST", f"{QUIZZES}/import", json=newer)
    assert status == 422 and body["error"]["code"] == "unsupported_version"
    assert "version 2" in body["error"]["message"]
    broken = orjson.loads(orjson.dumps(good))
    broken["quiz"]["questions"][4]["slider"]["correct"] = 999
    status, body = await user.request("POST", f"{QUIZZES}/import", json=broken)
    assert status == 422 and body["error"]["code"] == "validation_error"
    assert body["error"]["details"][0]["field"] == "quiz.questions.4.slider.correct"
    status, body = await user.request("POST", f"{QUIZZES}/import", json={**good, "format": "x"})
    assert status == 422 and body["error"]["details"][0]["field"] == "format"
    status, _ = await user.request(
        "POST", f"{QUIZZES}/import", data=orjson.dumps(good), headers={"Content-Type": "text/plain"}
    )
    assert status == 415
    assert await total(user) == before
    async with user.http.post(f"{QUIZZES}/import", json=good) as resp:
        assert resp.status == 401


# ---------------------------------------------------------------- question tables


async def test_templates_download_and_import_back(user: ApiUser) -> None:
    for extension in ("csv", "xlsx"):
        async with user.http.get(f"{QUIZZES}/import/template.{extension}") as resp:
            assert resp.status == 200
            assert (
                f'filename="classquiz-questions-template.{extension}"'
                in (resp.headers["Content-Disposition"])
            )
            data = await resp.read()
        status, quiz = await upload(user, data, f"template.{extension}", "From the template")
        assert status == 201, quiz
        assert quiz["title"] == "From the template" and quiz["public"] is False
        assert [q["type"] for q in quiz["questions"]] == ALL_TYPES
    async with user.http.get(f"{QUIZZES}/import/template.pdf") as resp:
        assert resp.status == 404


async def test_xlsx_upload_titled_by_file_name(user: ApiUser) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Type", "Question", "Choice 1", "Choice 2", "Correct"])
    sheet.append(["single", "Is this a workbook?", "Yes", "No", 1])
    buffer = io.BytesIO()
    book.save(buffer)
    status, quiz = await upload(user, buffer.getvalue(), "Unit 3 revision.xlsx")
    assert status == 201, quiz
    assert quiz["title"] == "Unit 3 revision"
    assert quiz["questions"][0]["choices"] == [
        {"text": "Yes", "correct": True},
        {"text": "No", "correct": False},
    ]
    status, page = await user.request("GET", f"{QUIZZES}?q=unit 3")
    assert [q["id"] for q in page["items"]] == [quiz["id"]]


async def test_table_errors_row_by_row_and_nothing_created(user: ApiUser) -> None:
    before = await total(user)
    data = (
        b"type;question;choice_1;choice_2;correct\n"
        b"single;Fine;a;b;1\n"
        b"single;;a;b;1\n"
        b"single;No correct one;a;b;\n"
    )
    status, body = await upload(user, data, "quiz.csv", "Broken")
    assert status == 422
    assert body["error"]["code"] == "invalid_table"
    assert body["error"]["message"].startswith("row 3, column question:")
    assert body["error"]["details"] == [
        {"row": 3, "column": "question", "message": "String should have at least 1 character"},
        {"row": 4, "column": "correct", "message": "at least one choice must be correct"},
    ]
    assert await total(user) == before


async def test_table_upload_limits(user: ApiUser) -> None:
    before = await total(user)
    status, body = await upload(user, b"type,question\n" + b"x" * quiz_io.MAX_TABLE_BYTES, "a.csv")
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    form = FormData()
    form.add_field("title", "No file", content_type="text/plain")  # makes it multipart
    status, body = await user.request("POST", f"{QUIZZES}/import/table", data=form)
    assert status == 422 and body["error"]["details"][0]["field"] == "file"
    status, body = await user.request("POST", f"{QUIZZES}/import/table", json={"file": "x"})
    assert status == 415
    status, body = await upload(user, b"type,question,answers\ntext,x,y\n", "q.csv", "t" * 201)
    assert status == 422 and body["error"]["details"][0]["column"] == "title"
    status, body = await upload(user, b"type,question,answers\ntext,x,y\n", "q.csv", "a\x00b")
    assert status == 422 and body["error"]["details"][0]["code"] == "nul_character"
    status, body = await upload(user, b"type,question,answers\ntext,x,y\n", "q.csv", "t" * 900)
    assert status == 413 and "title" in body["error"]["message"]
    form = FormData()
    form.add_field("file", b"type,question,answers\ntext,x,y\n", filename="q.csv")
    form.add_field("junk", b"x" * 100_000, filename="junk.bin")
    status, body = await user.request("POST", f"{QUIZZES}/import/table", data=form)
    assert status == 422 and body["error"]["details"][0]["field"] == "junk"
    status, body = await user.request(
        "POST",
        f"{QUIZZES}/import/table",
        data=b"--xx\r\nContent-Disposition: form-data; name=file\r\n\r\ncut short",
        headers={"Content-Type": "multipart/form-data; boundary=xx"},
    )
    assert status == 400 and body["error"]["code"] == "invalid_form"
    assert await total(user) == before


# ---------------------------------------------------------------- my quizzes


async def test_search_in_own_list(user: ApiUser, other_user: ApiUser) -> None:
    tag = uuid.uuid4().hex[:8]
    fractions = await create(user, title=f"Fractions {tag}")
    await create(user, title="Volcanoes", description=f"Lava and ash, FRACTIONS-{tag} free")
    await create(other_user, title=f"Fractions {tag}")  # not in my list
    status, page = await user.request("GET", f"{QUIZZES}?q=fractions {tag}")
    assert status == 200
    assert [q["id"] for q in page["items"]] == [fractions["id"]] and page["total"] == 1
    status, page = await user.request("GET", f"{QUIZZES}?q={tag.upper()}")
    assert page["total"] == 2
    status, page = await user.request("GET", f"{QUIZZES}?q=%25")  # a literal %, not a wildcard
    assert page["total"] == 0
    status, page = await user.request("GET", f"{QUIZZES}?q=")
    assert page["total"] == await total(user)


async def test_duplicate_own_public_and_hidden(user: ApiUser, other_user: ApiUser) -> None:
    mine = await create(user, public=True)
    status, copy = await user.request("POST", f"{QUIZZES}/{mine['id']}/duplicate")
    assert status == 201, copy
    assert copy["id"] != mine["id"] and copy["title"] == "Sample quiz (copy)"
    assert copy["public"] is False
    assert {**content(copy), "title": mine["title"]} == content(mine)

    status, theirs = await other_user.request("POST", f"{QUIZZES}/{mine['id']}/duplicate")
    assert status == 201 and theirs["owner_id"] != mine["owner_id"]
    status, page = await other_user.request("GET", QUIZZES)
    assert theirs["id"] in [q["id"] for q in page["items"]]

    private = await create(user)
    before = await total(other_user)
    status, body = await other_user.request("POST", f"{QUIZZES}/{private['id']}/duplicate")
    assert status == 404 and body["error"]["code"] == "quiz_not_found"
    assert await total(other_user) == before

    long_title = await create(user, title="x" * 200)
    status, copy = await user.request("POST", f"{QUIZZES}/{long_title['id']}/duplicate")
    assert status == 201 and len(copy["title"]) == 200 and copy["title"].endswith(" (copy)")


async def test_toggle_public_with_patch(user: ApiUser, other_user: ApiUser) -> None:
    quiz = await create(user)
    status, body = await other_user.request("GET", f"{QUIZZES}/{quiz['id']}")
    assert status == 404
    status, patched = await user.request("PATCH", f"{QUIZZES}/{quiz['id']}", json={"public": True})
    assert status == 200 and patched["public"] is True
    assert content(patched) == content(quiz)
    status, _ = await other_user.request("GET", f"{QUIZZES}/{quiz['id']}")
    assert status == 200
    status, body = await other_user.request(
        "PATCH", f"{QUIZZES}/{quiz['id']}", json={"public": False}
    )
    assert status == 403
    status, body = await user.request(
        "PATCH", f"{QUIZZES}/{quiz['id']}", json={"public": False, "title": "x"}
    )
    assert status == 422 and body["error"]["details"][0]["field"] == "title"
    status, patched = await user.request("PATCH", f"{QUIZZES}/{quiz['id']}", json={"public": False})
    assert status == 200 and patched["public"] is False
    status, _ = await other_user.request("GET", f"{QUIZZES}/{quiz['id']}")
    assert status == 404


async def test_openapi_declares_the_workspace_endpoints(user: ApiUser) -> None:
    async with user.http.get("/api/openapi.json") as resp:
        spec = await resp.json()
    paths = spec["paths"]
    table = paths["/api/v1/quizzes/import/table"]["post"]
    form = table["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form == {"$ref": "#/components/schemas/TableImportForm"}
    file_field = spec["components"]["schemas"]["TableImportForm"]["properties"]["file"]
    assert file_field["format"] == "binary"
    assert "201" in table["responses"] and "422" in table["responses"]
    assert "post" in paths["/api/v1/quizzes/import"]
    assert "get" in paths["/api/v1/quizzes/{quiz_id}/export"]
    assert "post" in paths["/api/v1/quizzes/{quiz_id}/duplicate"]
    assert "patch" in paths["/api/v1/quizzes/{quiz_id}"]
    template = paths["/api/v1/quizzes/import/template.{extension}"]["get"]
    assert template["parameters"][0]["name"] == "extension"
    listing = paths["/api/v1/quizzes"]["get"]
    assert "q" in [p["name"] for p in listing["parameters"]]


async def test_cross_site_upload_with_the_cookie_is_refused(user: ApiUser, base_url: str) -> None:
    """A multipart form is a "simple" request a foreign page can make the browser send
    with the session cookie (no CORS preflight): the origin check must refuse it."""
    before = await total(user)
    form = FormData()
    form.add_field("file", quiz_io.template_csv(), filename="t.csv", content_type="text/csv")
    async with ClientSession(base_url) as browser:
        headers = {"Cookie": f"access_token={user.token}", "Origin": "https://evil.example"}
        async with browser.post(f"{QUIZZES}/import/table", data=form, headers=headers) as resp:
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "origin_not_allowed"
        same_site = {**headers, "Origin": base_url}
        form = FormData()
        form.add_field("file", quiz_io.template_csv(), filename="t.csv", content_type="text/csv")
        async with browser.post(f"{QUIZZES}/import/table", data=form, headers=same_site) as resp:
            assert resp.status == 201  # the web app itself, on its own origin
    assert await total(user) == before + 1
