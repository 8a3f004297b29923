"""Uploaded pictures (POST /api/v1/media): what is sent and what comes back."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

# The address this server serves an uploaded picture at (GET /media/<id>.<extension>).
# A question's `image` may be one of these, or any http(s) URL.
MEDIA_PATH_PATTERN = (
    r"^/media/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(png|jpg|webp|gif)$"
)
MediaPath = Annotated[str, StringConstraints(pattern=MEDIA_PATH_PATTERN, max_length=60)]
_MEDIA_PATH = re.compile(MEDIA_PATH_PATTERN)
_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def image_address(value: str) -> str:
    """A question's picture: a picture uploaded here (kept as its path, so a quiz moves
    with the server to another address), else an http(s) URL (normalised)."""
    if _MEDIA_PATH.match(value):
        return value
    try:
        return str(_HTTP_URL.validate_python(value))
    except ValidationError:
        raise PydanticCustomError(
            "image_address",
            "an image is an http(s) URL or a picture uploaded to this server (/media/…)",
        ) from None


# One type (not a union) so a refusal names the field itself, `questions.N.image`.
ImageAddress = Annotated[
    str,
    StringConstraints(max_length=2083),
    AfterValidator(image_address),
    Field(json_schema_extra={"format": "uri-reference"}),
]


class MediaUploadForm(BaseModel):
    """POST /api/v1/media, sent as multipart/form-data."""

    file: bytes = Field(
        description="a PNG, JPEG, WebP or GIF picture of at most MEDIA_MAX_UPLOAD_BYTES "
        "(10 MiB by default); it is re-encoded without metadata, scaled down to fit "
        "MEDIA_MAX_SIDE_PX a side, and animations keep their first frame"
    )


class MediaOut(BaseModel):
    """A stored picture. `url` is relative to this server and never changes."""

    id: uuid.UUID
    url: MediaPath
    content_type: Literal["image/png", "image/jpeg", "image/webp", "image/gif"]
    width: int
    height: int
    bytes: int = Field(description="size of the stored (re-encoded) picture")
