"""Where pictures' bytes live: a local folder or an S3-compatible bucket.

Both keep an object per picture under its key (`<media id>.<extension>`); an
object is written once and never changed, so it may be cached forever. The
database row (services/media.py) says who owns it; storage only holds bytes.

The local folder writes each file under a temporary name and renames it into
place, so a reader never sees half a picture and a crash leaves no torn file.
The S3 backend keeps one aiobotocore client for the life of the app (opened on
first use, closed by `close` at shutdown): a client per request would redo the
connection set-up for each of a class's phones fetching the same picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from classquiz.config import Settings

# A key is what services/media.py makes: a UUID and an extension; nothing else is a path.
KEY_PATTERN = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[a-z]{3,4}$"
)


class StorageUnavailable(Exception):
    """The storage could not be reached or refused the operation."""


@dataclass(frozen=True)
class StoredObject:
    """A stored picture to send: a local file (sent with sendfile, never read into
    memory) or the object's bytes as they arrive from the bucket. A class of phones
    asks for the same picture at the same moment, so no request holds it whole."""

    path: Path | None = None
    chunks: AsyncGenerator[bytes] | None = None
    size: int | None = None


class MediaStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def open(self, key: str) -> StoredObject | None:
        """The object to send, or None when there is no such object."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing one is no error."""
        ...

    async def close(self) -> None: ...


def checked_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise ValueError(f"not a media key: {key!r}")
    return key


class LocalStorage:
    """A folder on this machine (the default: DATA_DIR/media)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, checked_key(key), data)

    async def open(self, key: str) -> StoredObject | None:
        path = self.folder / checked_key(key)
        return StoredObject(path=path) if await asyncio.to_thread(path.is_file) else None

    async def delete(self, key: str) -> None:
        path = self.folder / checked_key(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def close(self) -> None:
        return None

    def _write(self, key: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, self.folder / key)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise


class S3Storage:
    """A bucket of any S3-compatible storage (AWS S3, MinIO, Ceph, Garage, …)."""

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._client_options: dict[str, Any] = {
            "region_name": region,
            "endpoint_url": endpoint_url,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
        }
        self._client: Any = None
        self._stack = contextlib.AsyncExitStack()
        self._opening = asyncio.Lock()

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    from aiobotocore.config import AioConfig
                    from aiobotocore.session import get_session

                    config = AioConfig(
                        connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}
                    )
                    self._client = await self._stack.enter_async_context(
                        get_session().create_client("s3", config=config, **self._client_options)
                    )
        return self._client

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            s3 = await self._s3()
            await s3.put_object(
                Bucket=self.bucket,
                Key=self.prefix + checked_key(key),
                Body=data,
                ContentType=content_type,
                CacheControl="public, max-age=31536000, immutable",
            )
        except Exception as exc:
            raise StorageUnavailable(f"S3 put failed: {type(exc).__name__}") from exc

    async def open(self, key: str) -> StoredObject | None:
        try:
            s3 = await self._s3()
            answer = await s3.get_object(Bucket=self.bucket, Key=self.prefix + checked_key(key))
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise StorageUnavailable(f"S3 get failed: {type(exc).__name__}") from exc
        size = answer.get("ContentLength")
        return StoredObject(
            chunks=_body_chunks(answer["Body"]), size=size if isinstance(size, int) else None
        )

    async def delete(self, key: str) -> None:
        try:
            s3 = await self._s3()
            await s3.delete_object(Bucket=self.bucket, Key=self.prefix + checked_key(key))
        except Exception as exc:
            if not _is_missing(exc):
                raise StorageUnavailable(f"S3 delete failed: {type(exc).__name__}") from exc

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None


async def _body_chunks(body: Any) -> AsyncGenerator[bytes]:
    """The object's bytes in chunks; the connection goes back to the pool when the
    iterator ends or is closed (a phone that went away mid-picture)."""
    async with body as stream:
        while chunk := await stream.read(64 * 1024):
            yield chunk


def _is_missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


def create_media_storage(settings: Settings) -> MediaStorage:
    """The backend MEDIA_BACKEND names."""
    if settings.media_backend == "s3":
        assert settings.s3_bucket is not None  # Settings refuses s3 without a bucket
        return S3Storage(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    return LocalStorage(settings.media_path)
