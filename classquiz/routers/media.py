"""REST: uploaded pictures — upload (POST /api/v1/media), delete, and serve (GET /media/…).

The router only reads the multipart body within its bound and turns the answer into
HTTP; what a picture must be, the quota and the storage are services/media.py's.
"""

from __future__ import annotations

import re

from aiohttp import BodyPartReader, web

from classquiz.contracts.media import MediaOut, MediaUploadForm
from classquiz.errors import Refusal
from classquiz.routers.api import ApiRouter, form_field_error, parse_uuid, read_part_limited
from classquiz.routers.auth import require_session
from classquiz.runtime import services

router = ApiRouter(tags=("media",))

MEDIA_NAME = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(png|jpg|webp|gif)$"
)
# A picture's address names its id, and an id's bytes never change: cache it for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
# Slack for the multipart framing around the file (boundaries, part headers).
MULTIPART_OVERHEAD = 16 * 1024


@router.route(
    "POST",
    "/api/v1/media",
    summary="Upload a picture (PNG, JPEG, WebP or GIF); it is stored re-encoded, without metadata",
    form=MediaUploadForm,
    response=MediaOut,
    status=201,
    auth="user",
    errors=(400, 401, 409, 413, 415, 422, 503),
)
async def upload_media(request: web.Request) -> MediaOut:
    session = await require_session(request)
    svc = services(request)
    with svc.media.upload_slot():
        data = await read_upload(request, svc.settings.media_max_upload_bytes)
        return await svc.media.upload(session.user, data)


@router.route(
    "DELETE",
    "/api/v1/media/{media_id}",
    summary="Delete one of your pictures (another account's is not found)",
    status=204,
    auth="user",
    errors=(401, 404),
)
async def delete_media(request: web.Request) -> None:
    session = await require_session(request)
    media_id = parse_uuid(request.match_info["media_id"], "media_not_found")
    await services(request).media.delete(session.user, media_id)


@router.route(
    "GET",
    "/media/{name}",
    summary="An uploaded picture, as its upload's `url` names it (cached for a year)",
    errors=(404,),
    raw_response="image/png, image/jpeg, image/webp, image/gif",
)
async def serve_media(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    etag = f'"{name}"'
    headers = {"Cache-Control": IMMUTABLE, "ETag": etag}
    found = await services(request).media.open(name) if MEDIA_NAME.match(name) else None
    if found is None:
        raise Refusal("media_not_found", "no such picture")
    stored, headers["Content-Type"] = found
    if stored.path is not None:
        # sendfile; FileResponse answers If-None-Match / If-Modified-Since itself.
        return web.FileResponse(stored.path, headers=headers)
    assert stored.chunks is not None
    try:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        response = web.StreamResponse(headers=headers)
        if stored.size is not None:
            response.content_length = stored.size
        await response.prepare(request)
        async for chunk in stored.chunks:
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        await stored.chunks.aclose()


async def read_upload(request: web.Request, limit: int) -> bytes:
    """The `file` part of a multipart body, refused (413) as soon as it passes `limit`."""
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise Refusal("payload_too_large", f"the file is larger than {limit // 1024:,} kB")
    if request.content_type != "multipart/form-data":
        raise Refusal(
            "unsupported_media_type",
            "send the picture as multipart/form-data with a field named file",
        )
    data: bytes | None = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != "file" or data is not None:
                # Refused rather than skipped: skipping still reads the part to its end.
                raise form_field_error(getattr(part, "name", None), "unknown form field")
            data = await read_part_limited(part, limit, "the file")
    except (ValueError, AssertionError):
        raise Refusal("invalid_form", "the multipart body cannot be read") from None
    if data is None:
        raise form_field_error("file", "a field named file is missing")
    return data
