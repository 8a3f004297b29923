"""Uploaded pictures through the real API, stored in the local folder backend: what is
accepted (and how it is cleaned), what is refused (changing nothing), who may delete,
the quota, and how a picture is served. The S3 backend: tests/test_media_s3.py."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, FormData
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict
from PIL import Image

from classquiz.config import Settings
from classquiz.db.models import Media
from classquiz.errors import Refusal
from classquiz.runtime import Services
from tests.support.apps import separate_app
from tests.support.pictures import CAMERA_MAKE, jpeg_with_gps, picture, png_bomb, upload
from tests.support.users import ApiUser, register_user, user_id

MiB = 1024 * 1024


async def media_count(user: ApiUser) -> int:
    return await Media.objects.filter(owner=await user_id(user)).count()


def stored_files(settings: Settings) -> set[str]:
    folder = Path(settings.media_path)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


async def fetch(http: ClientSession, url: str) -> tuple[int, CIMultiDict[str], bytes]:
    async with http.get(url) as resp:
        return resp.status, CIMultiDict(resp.headers), await resp.read()


async def test_a_jpeg_is_stored_upright_without_its_exif_and_served_for_good(
    user: ApiUser, http: ClientSession, settings: Settings
) -> None:
    original = jpeg_with_gps()
    assert CAMERA_MAKE.encode() in original
    status, body = await upload(user, original, filename="holiday.jpg")
    assert status == 201, body
    assert body["content_type"] == "image/jpeg"
    # Orientation 6 was applied to the pixels: 120 × 80 stands as 80 × 120.
    assert (body["width"], body["height"]) == (80, 120)
    assert body["url"] == f"/media/{body['id']}.jpg"
    assert f"{body['id']}.jpg" in stored_files(settings)

    status, headers, served = await fetch(http, body["url"])
    assert status == 200
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert len(served) == body["bytes"]
    assert CAMERA_MAKE.encode() not in served and b"Exif" not in served
    with Image.open(io.BytesIO(served)) as image:
        assert image.format == "JPEG" and image.size == (80, 120)
        assert len(image.getexif()) == 0 and "icc_profile" not in image.info
        # The red half (left before the turn) is on top now.
        red, _green, blue = image.convert("RGB").getpixel((40, 10))  # type: ignore[misc]
        assert red > 150 and blue < 100

    async with http.get(body["url"], headers={"If-None-Match": headers["ETag"]}) as resp:
        assert resp.status == 304


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp"), ("GIF", "image/gif", "gif")],
)
async def test_png_webp_and_gif_keep_their_format(
    user: ApiUser, http: ClientSession, fmt: str, content_type: str, extension: str
) -> None:
    # The file name says nothing: the decoded content decides.
    status, body = await upload(user, picture(fmt), filename="notes.txt")
    assert status == 201, body
    assert body["content_type"] == content_type and body["url"].endswith(f".{extension}")
    assert (body["width"], body["height"]) == (120, 80)
    _, headers, served = await fetch(http, body["url"])
    assert headers["Content-Type"] == content_type
    with Image.open(io.BytesIO(served)) as image:
        assert image.format == fmt


async def test_a_picture_wider_than_4096_px_is_scaled_down(user: ApiUser) -> None:
    status, body = await upload(user, picture("PNG", (5000, 100)))
    assert status == 201, body
    assert (body["width"], body["height"]) == (4096, 82)


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg"),
        (b"<html><script>alert(1)</script></html>", "a.png"),
        (b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>" * 10, "a.png"),  # a PNG's header only
        (picture("PNG")[:90], "cut.png"),  # truncated
        (picture("BMP"), "a.bmp"),  # a picture, but not a kind we keep
        (b"", "empty.png"),
    ],
    ids=["svg", "html", "png-header-only", "truncated", "bmp", "empty"],
)
async def test_what_is_not_a_png_jpeg_webp_or_gif_is_refused_and_nothing_is_kept(
    user: ApiUser, settings: Settings, data: bytes, filename: str
) -> None:
    before = stored_files(settings)
    status, body = await upload(user, data, filename=filename)
    assert status == 415, body
    assert body["error"]["code"] == "unsupported_image"
    assert await media_count(user) == 0
    assert stored_files(settings) == before


@pytest.mark.parametrize("size", [(100_000, 100_000), (8_000, 8_000)])
async def test_a_decompression_bomb_is_refused_before_it_is_decoded(
    user: ApiUser, size: tuple[int, int]
) -> None:
    # 10¹⁰ pixels passes Pillow's own limit; 64 million passes the server's (40 million).
    status, body = await upload(user, png_bomb(*size))
    assert status == 422, body
    assert body["error"]["code"] == "image_too_large"
    assert await media_count(user) == 0


async def test_more_than_10_mib_is_413_whether_its_length_is_announced_or_not(
    user: ApiUser, http: ClientSession
) -> None:
    too_big = os.urandom(10 * MiB + 1)
    status, body = await upload(user, too_big)
    assert status == 413 and body["error"]["code"] == "payload_too_large"

    # Chunked (no Content-Length): refused while it streams in, after the limit.
    form = FormData()
    form.add_field("file", too_big, filename="big.png")
    payload = form()
    boundary_type = payload.content_type

    async def chunks() -> AsyncIterator[bytes]:
        buffer = io.BytesIO()

        class Sink:
            async def write(self, data: bytes) -> None:
                buffer.write(data)

        await payload.write(Sink())  # type: ignore[arg-type]
        raw = buffer.getvalue()
        for start in range(0, len(raw), 256 * 1024):
            yield raw[start : start + 256 * 1024]

    headers = {**user.headers, "Content-Type": boundary_type}
    async with http.post("/api/v1/media", data=chunks(), headers=headers) as resp:
        assert resp.status == 413
        assert (await resp.json())["error"]["code"] == "payload_too_large"
    assert await media_count(user) == 0


async def test_the_upload_must_be_a_signed_in_multipart_form_with_a_file(
    user: ApiUser, http: ClientSession
) -> None:
    form = FormData()
    form.add_field("file", picture("PNG"), filename="a.png")
    async with http.post("/api/v1/media", data=form) as resp:
        assert resp.status == 401
    status, body = await user.request(
        "POST", "/api/v1/media", data=picture("PNG"), headers={"Content-Type": "image/png"}
    )
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"
    status, body = await upload(user, picture("PNG"), field="picture")
    assert status == 422 and body["error"]["details"][0]["field"] == "picture"
    assert await media_count(user) == 0


async def test_only_the_owner_deletes_a_picture_and_others_cannot_tell_it_exists(
    user: ApiUser, other_user: ApiUser, http: ClientSession, settings: Settings
) -> None:
    _, body = await upload(user, picture("PNG"))
    path = f"/api/v1/media/{body['id']}"
    status, refused = await other_user.request("DELETE", path)
    missing = await other_user.request("DELETE", f"/api/v1/media/{uuid.uuid4()}")
    assert (status, refused) == missing
    assert status == 404 and refused["error"]["code"] == "media_not_found"
    assert (await fetch(http, body["url"]))[0] == 200

    status, _ = await user.request("DELETE", path)
    assert status == 204
    assert (await fetch(http, body["url"]))[0] == 404
    assert f"{body['id']}.png" not in stored_files(settings)
    assert await media_count(user) == 0
    status, _ = await user.request("DELETE", path)
    assert status == 404
    assert (await user.request("DELETE", "/api/v1/media/not-an-id"))[0] == 404


@pytest.mark.parametrize(
    "name",
    # fixed ids, so that every pytest-xdist worker collects the same tests
    [
        "nope.png",
        "5f0c7a52-3c1e-4d8b-9a57-2f6de0b1c9a4.png",
        "0e9b3d61-7a2f-4c55-8e10-b4c3f8a2d7e9.svg",
        "..%2Fconfig.py",
    ],
)
async def test_an_unknown_picture_is_404(http: ClientSession, name: str) -> None:
    status, headers, _ = await fetch(http, f"/media/{name}")
    assert status == 404
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
async def small_quota_app(server: TestServer, storage: dict[str, str]) -> AsyncIterator[str]:
    async with separate_app(storage, media_quota_count=2, media_quota_bytes=MiB) as app:
        yield str(app.make_url("")).rstrip("/")


async def test_the_quota_counts_pictures_even_when_they_arrive_together(
    small_quota_app: str,
) -> None:
    async with ClientSession(small_quota_app) as http:
        user = await register_user(http)
        answers = await asyncio.gather(*(upload(user, picture("PNG")) for _ in range(4)))
        assert sorted(status for status, _ in answers) == [201, 201, 409, 409]
        refused = [body for status, body in answers if status == 409]
        assert refused[0]["error"]["code"] == "media_quota_exceeded"
        assert await media_count(user) == 2
        # Deleting one frees its slot.
        kept = next(body for status, body in answers if status == 201)
        assert (await user.request("DELETE", f"/api/v1/media/{kept['id']}"))[0] == 204
        assert (await upload(user, picture("PNG")))[0] == 201


async def test_the_quota_counts_bytes(small_quota_app: str) -> None:
    async with ClientSession(small_quota_app) as http:
        user = await register_user(http)
        noise = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
        out = io.BytesIO()
        noise.save(out, "PNG")  # about 1.4 MiB that no encoder can shrink
        status, body = await upload(user, out.getvalue())
        assert status == 409 and "MiB" in body["error"]["message"]
        assert await media_count(user) == 0


async def test_the_endpoints_are_in_the_openapi_document(http: ClientSession) -> None:
    async with http.get("/api/openapi.json") as resp:
        paths = (await resp.json())["paths"]
    upload_op = paths["/api/v1/media"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert "201" in upload_op["responses"]
    assert "delete" in paths["/api/v1/media/{media_id}"]
    assert "get" in paths["/media/{name}"]


async def test_uploads_at_once_are_bounded_and_the_slot_is_given_back(svc: Services) -> None:
    """Each upload in progress holds its body in memory: past the bound a new one is
    refused with 503 before its body is read, and every finished one frees its slot."""
    media = svc.media
    held = contextlib.ExitStack()
    with held:
        for _ in range(media.max_uploads_at_once):
            held.enter_context(media.upload_slot())
        with pytest.raises(Refusal) as refused, media.upload_slot():
            pass
        assert refused.value.code == "service_unavailable"
    with media.upload_slot():  # all given back, a refusal included
        pass
