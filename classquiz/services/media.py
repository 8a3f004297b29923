"""Uploaded pictures: accept one (clean it, count it against the quota, store it),
serve it, delete it.

The order of an upload is chosen so that nothing acknowledged is lost and a
refusal changes nothing: the cheap quota check first (a full account does not
cost a decode), then the picture is cleaned (services/media_images.py) in a
worker thread, at most MEDIA_DECODE_CONCURRENCY at once per process so a burst
of uploads cannot take every core from the live games; then the bytes are
stored, and only then the row is written, in a transaction that holds the
owner's row lock while it counts again (two uploads at once cannot both take
the last slot). A refused or failed row removes the stored bytes again.

Deleting removes the bytes first and the row last: if the storage fails, the
row (and the quota it holds) stays and the delete can simply be repeated.
Another account's picture is "not found", exactly like a missing one, so ids
do not leak whether they exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy

from classquiz.contracts.media import MediaOut
from classquiz.db.engine import database
from classquiz.db.models import Media, User, utcnow
from classquiz.errors import Refusal
from classquiz.services.media_images import CONTENT_TYPES, CleanImage, ImageRefused, clean_image
from classquiz.services.media_storage import MediaStorage, StorageUnavailable, StoredObject

log = logging.getLogger("classquiz.media")
MEDIA_TABLE = Media.ormar_config.table
USERS_TABLE = User.ormar_config.table


@dataclass(frozen=True)
class MediaLimits:
    max_upload_bytes: int
    max_side_px: int
    max_decoded_pixels: int
    quota_count: int
    quota_bytes: int
    decode_concurrency: int


def media_key(media_id: uuid.UUID | str, extension: str) -> str:
    return f"{media_id}.{extension}"


def media_out(media_id: uuid.UUID, picture: CleanImage) -> MediaOut:
    return MediaOut.model_validate(
        {
            "id": media_id,
            "url": f"/media/{media_key(media_id, picture.extension)}",
            "content_type": picture.content_type,
            "width": picture.width,
            "height": picture.height,
            "bytes": len(picture.data),
        }
    )


def owner_media_query(owner_id: uuid.UUID) -> sqlalchemy.Select[Any, Any]:
    """(id, extension) of every picture of the account."""
    return sqlalchemy.select(MEDIA_TABLE.c.id, MEDIA_TABLE.c.extension).where(
        MEDIA_TABLE.c.owner_id == str(owner_id)
    )


def stored_keys(rows: Iterable[Any]) -> list[str]:
    """The storage keys of the rows of `owner_media_query`."""
    return [media_key(media_id, extension) for media_id, extension in rows]


def usage_query(owner_id: uuid.UUID) -> sqlalchemy.Select[int, int]:
    """The account's (picture count, stored bytes)."""
    return sqlalchemy.select(
        sqlalchemy.func.count(),
        sqlalchemy.func.coalesce(sqlalchemy.func.sum(MEDIA_TABLE.c.size_bytes), 0),
    ).where(MEDIA_TABLE.c.owner_id == str(owner_id))


def quota_refusal(count: int, used: int, adding: int, limits: MediaLimits) -> Refusal | None:
    """Why one more picture of `adding` bytes does not fit an account holding `count`
    pictures of `used` bytes, or None when it fits."""
    if count + 1 > limits.quota_count:
        return Refusal(
            "media_quota_exceeded",
            f"an account keeps at most {limits.quota_count} pictures; delete some first",
        )
    if used + adding > limits.quota_bytes:
        return Refusal(
            "media_quota_exceeded",
            f"an account keeps at most {limits.quota_bytes // (1024 * 1024)} MiB of pictures; "
            "delete some first",
        )
    return None


UPLOADS_PER_DECODE_LANE = 8


class MediaService:
    def __init__(self, storage: MediaStorage, limits: MediaLimits) -> None:
        self.storage = storage
        self.limits = limits
        self._decoding = asyncio.Semaphore(limits.decode_concurrency)
        # Uploads being read, waiting for a decoding lane or decoded, at most this many:
        # each holds up to MEDIA_MAX_UPLOAD_BYTES in memory, so the queue is bounded too.
        self.max_uploads_at_once = UPLOADS_PER_DECODE_LANE * limits.decode_concurrency
        self._uploads = 0

    @contextlib.contextmanager
    def upload_slot(self) -> Iterator[None]:
        """Held from before the body is read until the upload is answered; refused
        (503 service_unavailable, try again) when this process has its fill, so a burst
        of uploads costs a bounded amount of memory however many arrive."""
        if self._uploads >= self.max_uploads_at_once:
            raise Refusal(
                "service_unavailable", "too many pictures are being processed; try again shortly"
            )
        self._uploads += 1
        try:
            yield
        finally:
            self._uploads -= 1

    async def upload(self, user: User, data: bytes) -> MediaOut:
        count, used = await self._usage(user.id)
        early = quota_refusal(count, used, 0, self.limits)
        if early is not None:
            raise early
        picture = await self._clean(data)
        if len(picture.data) > self.limits.max_upload_bytes:
            raise Refusal("payload_too_large", "the picture is too large even after re-encoding")
        media_id = uuid.uuid4()
        key = media_key(media_id, picture.extension)
        await self._put(key, picture)
        try:
            refusal = await self._insert_within_quota(user.id, media_id, picture)
        except BaseException:
            await self._forget(key)
            raise
        if refusal is not None:
            await self._forget(key)
            raise refusal
        return media_out(media_id, picture)

    async def delete(self, user: User, media_id: uuid.UUID) -> None:
        row = await Media.objects.get_or_none(id=media_id, owner=user.id)
        if row is None:
            raise Refusal("media_not_found", "no such picture")
        try:
            await self.storage.delete(media_key(row.id, row.extension))
        except StorageUnavailable:
            raise Refusal("service_unavailable", "the picture storage is unavailable") from None
        await Media.objects.filter(id=media_id).delete()

    async def stored_keys_of(self, owner_id: uuid.UUID) -> list[str]:
        """The storage keys of every picture of the account."""
        async with database.connection() as conn:
            return stored_keys(await conn.execute(owner_media_query(owner_id)))

    async def remove_stored(self, keys: Iterable[str]) -> None:
        """Remove these stored objects (an account's, as it is deleted); the rows are
        the caller's. An object already gone is no error, so after a failure (503 on
        the first object the storage refuses) a second call finishes the job."""
        for key in keys:
            try:
                await self.storage.delete(key)
            except StorageUnavailable:
                raise Refusal(
                    "service_unavailable", "the picture storage is unavailable; try again later"
                ) from None

    async def open(self, key: str) -> tuple[StoredObject, str] | None:
        """(the stored picture, its content type), or None when there is none."""
        extension = key.rsplit(".", 1)[-1]
        content_type = CONTENT_TYPES.get(extension)
        if content_type is None:
            return None
        try:
            stored = await self.storage.open(key)
        except StorageUnavailable:
            raise Refusal("service_unavailable", "the picture storage is unavailable") from None
        return None if stored is None else (stored, content_type)

    async def close(self) -> None:
        await self.storage.close()

    async def _clean(self, data: bytes) -> CleanImage:
        async with self._decoding:
            try:
                return await asyncio.to_thread(
                    clean_image,
                    data,
                    max_side=self.limits.max_side_px,
                    max_decoded_pixels=self.limits.max_decoded_pixels,
                )
            except ImageRefused as exc:
                if exc.code == "image_too_large":
                    raise Refusal("image_too_large", exc.message) from None
                raise Refusal("unsupported_image", exc.message) from None

    async def _put(self, key: str, picture: CleanImage) -> None:
        try:
            await self.storage.put(key, picture.data, picture.content_type)
        except StorageUnavailable:
            raise Refusal("service_unavailable", "the picture storage is unavailable") from None

    async def _forget(self, key: str) -> None:
        try:
            await self.storage.delete(key)
        except StorageUnavailable:
            # Served to anyone who has its address, and no row names it any more.
            log.error("media: could not remove %s after a refused upload; remove it by hand", key)

    async def _usage(self, owner_id: uuid.UUID) -> tuple[int, int]:
        async with database.connection() as conn:
            row = (await conn.execute(usage_query(owner_id))).one()
        return int(row[0]), int(row[1])

    async def _insert_within_quota(
        self, owner_id: uuid.UUID, media_id: uuid.UUID, picture: CleanImage
    ) -> Refusal | None:
        async with database.transaction():
            conn = database.get_transaction_connection()
            assert conn is not None
            lock = (
                sqlalchemy.select(USERS_TABLE.c.id)
                .where(USERS_TABLE.c.id == str(owner_id))
                .with_for_update()
            )
            if (await conn.execute(lock)).first() is None:
                # The account was deleted while the picture was on its way.
                return Refusal("invalid_token", "the account no longer exists")
            count, used = (await conn.execute(usage_query(owner_id))).one()
            refusal = quota_refusal(int(count), int(used), len(picture.data), self.limits)
            if refusal is not None:
                return refusal
            await conn.execute(
                MEDIA_TABLE.insert().values(
                    id=str(media_id),
                    owner_id=str(owner_id),
                    content_type=picture.content_type,
                    extension=picture.extension,
                    width=picture.width,
                    height=picture.height,
                    size_bytes=len(picture.data),
                    created_at=utcnow(),
                )
            )
        return None
