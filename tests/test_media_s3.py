"""The S3 backend of uploaded pictures, through the real API, against moto's S3 server
(started here on a free loopback port): what the API stores is an object in the bucket
with its content type, it is served back from there, deleting removes it, and an
unreachable S3 refuses the upload with 503 and keeps nothing."""

from __future__ import annotations

import io
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiobotocore.session import get_session
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from moto.server import ThreadedMotoServer
from PIL import Image

from classquiz.db.models import Media
from tests.support.apps import separate_app
from tests.support.pictures import CAMERA_MAKE, jpeg_with_gps, picture, upload
from tests.support.users import register_user, user_id

BUCKET = "classquiz-pictures"
KEYS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        moto.stop()


@asynccontextmanager
async def s3_client(url: str) -> AsyncIterator[Any]:
    async with get_session().create_client(
        "s3", endpoint_url=url, region_name="us-east-1", **KEYS
    ) as client:
        yield client


@asynccontextmanager
async def s3_app(storage: dict[str, str], url: str) -> AsyncIterator[str]:
    async with separate_app(
        storage,
        media_backend="s3",
        s3_endpoint_url=url,
        s3_bucket=BUCKET,
        s3_access_key_id=KEYS["aws_access_key_id"],
        s3_secret_access_key=KEYS["aws_secret_access_key"],
        s3_prefix="pictures/",
    ) as app:
        yield str(app.make_url("")).rstrip("/")


async def test_pictures_live_in_the_bucket_and_are_served_and_deleted_from_it(
    server: TestServer, storage: dict[str, str], s3_url: str
) -> None:
    async with s3_client(s3_url) as s3:
        await s3.create_bucket(Bucket=BUCKET)
        async with s3_app(storage, s3_url) as base, ClientSession(base) as http:
            user = await register_user(http)
            status, body = await upload(user, jpeg_with_gps(), filename="trip.jpg")
            assert status == 201, body
            key = f"pictures/{body['id']}.jpg"

            stored = await s3.get_object(Bucket=BUCKET, Key=key)
            assert stored["ContentType"] == "image/jpeg"
            async with stored["Body"] as stream:
                in_bucket = await stream.read()
            assert len(in_bucket) == body["bytes"]
            assert CAMERA_MAKE.encode() not in in_bucket

            async with http.get(body["url"]) as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"] == "image/jpeg"
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
                assert "immutable" in resp.headers["Cache-Control"]
                assert await resp.read() == in_bucket
            with Image.open(io.BytesIO(in_bucket)) as image:
                assert image.size == (80, 120) and len(image.getexif()) == 0

            status, gif = await upload(user, picture("GIF"))
            assert status == 201 and gif["content_type"] == "image/gif"

            assert (await user.request("DELETE", f"/api/v1/media/{body['id']}"))[0] == 204
            listed = await s3.list_objects_v2(Bucket=BUCKET, Prefix="pictures/")
            assert [item["Key"] for item in listed.get("Contents", [])] == [
                f"pictures/{gif['id']}.gif"
            ]
            async with http.get(body["url"]) as resp:
                assert resp.status == 404
            async with http.get(f"/media/{uuid.uuid4()}.png") as resp:
                assert resp.status == 404


async def test_a_missing_bucket_refuses_the_upload_and_keeps_nothing(
    server: TestServer, storage: dict[str, str], s3_url: str
) -> None:
    async with separate_app(
        storage,
        media_backend="s3",
        s3_endpoint_url=s3_url,
        s3_bucket="no-such-bucket",
        s3_access_key_id=KEYS["aws_access_key_id"],
        s3_secret_access_key=KEYS["aws_secret_access_key"],
    ) as app:
        async with ClientSession(str(app.make_url("")).rstrip("/")) as http:
            user = await register_user(http)
            status, body = await upload(user, picture("PNG"))
            assert status == 503 and body["error"]["code"] == "service_unavailable"
            assert await Media.objects.filter(owner=await user_id(user)).count() == 0


async def test_an_unreachable_s3_refuses_the_upload_and_keeps_nothing(
    server: TestServer, storage: dict[str, str]
) -> None:
    async with s3_app(storage, f"http://127.0.0.1:{free_port()}") as base:
        async with ClientSession(base) as http:
            user = await register_user(http)
            status, body = await upload(user, picture("PNG"))
            assert status == 503 and body["error"]["code"] == "service_unavailable"
            assert await Media.objects.filter(owner=await user_id(user)).count() == 0
