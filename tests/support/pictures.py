"""Pictures for the upload tests, made with Pillow, and a helper to upload them."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from aiohttp import FormData
from PIL import Image

from tests.support.users import ApiUser

CAMERA_MAKE = "SpyCam 3000"


def picture(fmt: str, size: tuple[int, int] = (120, 80), **save: Any) -> bytes:
    """A picture in `fmt` (PNG, JPEG, WEBP, GIF) with a red and a blue half."""
    image = Image.new("RGB", size, (220, 30, 30))
    image.paste((30, 30, 220), (size[0] // 2, 0, size[0], size[1]))
    if fmt == "GIF":
        image = image.quantize(8)
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A 120 × 80 JPEG whose EXIF names a camera, a GPS position, and says
    "rotate 90° clockwise to show" (orientation 6)."""
    exif = Image.Exif()
    exif[0x010F] = CAMERA_MAKE  # Make
    exif[0x0112] = 6  # Orientation
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS
    return picture("JPEG", exif=exif.tobytes())


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small valid PNG whose header claims `width` × `height` pixels (a decompression
    bomb: the header is all a decoder needs to commit to that much memory)."""
    data = picture("PNG", (8, 8))
    ihdr_at = data.index(b"IHDR")
    fields = struct.pack(">II", width, height) + data[ihdr_at + 12 : ihdr_at + 17]
    chunk = b"IHDR" + fields
    patched = chunk + struct.pack(">I", zlib.crc32(chunk))
    return data[:ihdr_at] + patched + data[ihdr_at + len(patched) :]


async def upload(
    user: ApiUser, data: bytes, filename: str = "picture.png", field: str = "file"
) -> tuple[int, Any]:
    form = FormData()
    form.add_field(field, data, filename=filename, content_type="application/octet-stream")
    return await user.request("POST", "/api/v1/media", data=form)
