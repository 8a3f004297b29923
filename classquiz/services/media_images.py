"""What makes an uploaded file a picture we keep: decoded by Pillow, re-encoded clean.

A file is a picture only if Pillow decodes it as PNG, JPEG, WebP or GIF; its name,
its declared type and its first bytes are never trusted (an SVG, an HTML page or a
polyglot that merely starts like a PNG is refused). What is stored is never the
uploaded file but a fresh encoding of its pixels: no EXIF (camera, GPS position),
no XMP, no ICC profile, no text chunks, no trailing bytes survive, and a browser
only ever gets bytes that Pillow itself wrote.

The rules, in order:
- the header must announce at most `max_decoded_pixels` pixels (and Pillow's own
  MAX_IMAGE_PIXELS), checked before any pixel is decoded: a 50 kB file that
  inflates to 100,000 × 100,000 pixels (a decompression bomb) is refused unread;
- the camera's orientation is applied to the pixels (the EXIF tag saying "rotated"
  is removed with the rest, so the picture must already stand upright);
- a picture larger than `max_side` on a side is scaled down to fit (never refused
  for its size alone: phones take 4000 px photos and teachers should not have to
  resize them);
- animated GIF and WebP keep their first frame only (one picture per question;
  and every frame would multiply the decoding cost).

These are pure functions of bytes (no I/O); the service runs them in a thread.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format name → (content type, file extension) of what we store.
FORMATS: Final[dict[str, tuple[str, str]]] = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
CONTENT_TYPES: Final[dict[str, str]] = {ext: ctype for ctype, ext in FORMATS.values()}
JPEG_QUALITY = 88
WEBP_QUALITY = 85


class ImageRefused(Exception):
    """The bytes are not a picture we keep; `code` says why (unsupported_image,
    image_too_large)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CleanImage:
    """A picture as we store it: freshly encoded pixels and what they are."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def clean_image(data: bytes, *, max_side: int, max_decoded_pixels: int) -> CleanImage:
    """`data` decoded, bounded, stripped of every piece of metadata and re-encoded in
    its own format; raises ImageRefused when it is not a PNG, JPEG, WebP or GIF
    picture, or would decode to too many pixels."""
    limit = min(max_decoded_pixels, Image.MAX_IMAGE_PIXELS or max_decoded_pixels)
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its limit raises) about bombs; we decide first.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as source:
                kind = source.format or ""
                width, height = source.size
                if width * height > limit:
                    raise ImageRefused(
                        "image_too_large",
                        f"the picture is {width} × {height} pixels; at most "
                        f"{limit:,} pixels are accepted",
                    )
                source.seek(0)  # the first frame of an animation
                source.load()
                pixels = _plain_pixels(ImageOps.exif_transpose(source))
    except ImageRefused:
        raise
    except Image.DecompressionBombError:
        raise ImageRefused(
            "image_too_large", f"the picture claims more than {limit:,} pixels"
        ) from None
    except UnidentifiedImageError:
        raise ImageRefused(
            "unsupported_image", "the file is not a PNG, JPEG, WebP or GIF picture"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        # Truncated or corrupt data that passed the header (Pillow's decoders raise these).
        raise ImageRefused("unsupported_image", "the picture cannot be decoded") from None
    if kind not in FORMATS:
        raise ImageRefused("unsupported_image", "the file is not a PNG, JPEG, WebP or GIF picture")
    pixels = _fit(pixels, max_side)
    content_type, extension = FORMATS[kind]
    return CleanImage(
        data=_encode(pixels, kind),
        content_type=content_type,
        extension=extension,
        width=pixels.width,
        height=pixels.height,
    )


def _plain_pixels(image: Image.Image) -> Image.Image:
    """A new image holding only `image`'s pixels (and palette, transparency): nothing of
    the source's `info` (EXIF, XMP, ICC, comments, text chunks) is carried over."""
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    fresh = Image.frombytes(image.mode, image.size, image.tobytes())
    if image.mode == "P":
        palette = image.getpalette()
        if palette is not None:
            fresh.putpalette(palette)
        transparency = image.info.get("transparency")
        if isinstance(transparency, int):
            fresh.info["transparency"] = transparency
        elif isinstance(transparency, bytes):
            fresh = fresh.convert("RGBA")
    return fresh


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    """Scaled down (keeping its proportions) so neither side exceeds `max_side`."""
    if max(image.size) <= max_side:
        return image
    if image.mode in ("1", "P"):
        image = image.convert("RGBA")
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _encode(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    if kind == "JPEG":
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif kind == "WEBP":
        image.save(out, "WEBP", quality=WEBP_QUALITY)
    elif kind == "GIF":
        if image.mode not in ("L", "P"):
            image = image.convert("RGBA").quantize(256)
        image.save(out, "GIF")
    else:
        image.save(out, "PNG", optimize=False)
    return out.getvalue()
