"""Logos uploaded by signatories: judged by their content, re-encoded, stored under a made-up name.

What reaches the disk is never the uploaded file. The bytes are read up to a size cap
(before anything decodes them), Pillow is allowed to recognise PNG, JPEG and WebP only
(an SVG, HTML or anything else renamed ``.png`` is refused, whatever its name or its
declared content type), the pixel count in the header is checked before decoding (a
small PNG of 20,000 × 20,000 pixels would otherwise need gigabytes), the image is
decoded, turned upright (EXIF orientation), scaled down to at most
:data:`MAX_LOGO_SIDE` pixels on its long side, copied into a fresh image (no EXIF, no
ICC profile, no text chunks) and stored as PNG under ``logos/`` (``signon.core.storage``) with a
random name chosen here. Only that name is kept in the database; the files are served
by name after checking it against :data:`LOGO_NAME`.

Processing (:func:`process_logo`) and writing (:func:`save_logo`) are separate so that
the file is written only once the approval it belongs to has been recorded.
"""

from __future__ import annotations

import functools
import io
import re
import secrets
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from signon.core.storage import storage
from signon.core.transaction import after_commit

#: Uploads larger than this are refused before any decoding.
MAX_LOGO_BYTES = 2 * 1024 * 1024
#: Images with more pixels than this are refused from their header (decompression bombs).
MAX_LOGO_PIXELS = 25_000_000
#: Stored logos are at most this many pixels wide or high.
MAX_LOGO_SIDE = 1200
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
#: The only file names ever served: made here, never by the uploader.
LOGO_NAME = re.compile(r"^[0-9a-f]{32}\.png$")
#: Where logos are stored (``signon.core.storage``): ``logos/<name>``.
LOGO_FOLDER = "logos"


class LogoError(ValueError):
    """The upload is not a logo we accept; the message says why, for the person uploading."""


@dataclass(frozen=True)
class ProcessedLogo:
    """A re-encoded logo, ready to be written under :attr:`filename`."""

    filename: str
    png: bytes
    width: int
    height: int


def _read_capped(stream: IO[bytes]) -> bytes:
    data = stream.read(MAX_LOGO_BYTES + 1)
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError(
            f"The logo is larger than {MAX_LOGO_BYTES // (1024 * 1024)} MB. "
            "Please send a smaller file (a logo rarely needs more than 200 KB)."
        )
    if not data:
        raise LogoError("The logo file is empty.")
    return data


def _open(data: bytes) -> Image.Image:
    """Identify the image from its content; PNG, JPEG and WebP only."""
    not_an_image = LogoError(
        "This file is not a PNG, JPEG or WebP image (whatever its name says). "
        "Please send the logo in one of these formats; SVG is not accepted."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            if image.format not in ACCEPTED_FORMATS:  # pragma: no cover - formats= forbids it
                raise not_an_image
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_LOGO_PIXELS:
                raise LogoError(
                    f"The image is {width:,} × {height:,} pixels; we accept up to "
                    f"{MAX_LOGO_PIXELS // 1_000_000} million pixels. Please send a smaller one."
                )
            image.verify()  # structure and checksums, without decoding the pixels
            # verify() leaves the image unusable: open it again to decode it.
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            image.load()
    except LogoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise LogoError("The image is too large once decoded. Please send a smaller one.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise not_an_image from exc
    return image


def _clean_copy(image: Image.Image) -> Image.Image:
    """The pixels only, upright, in a mode PNG keeps, at most MAX_LOGO_SIDE on the long side."""
    image.seek(0)  # animated PNG/WebP: the first frame
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((MAX_LOGO_SIDE, MAX_LOGO_SIDE), Image.Resampling.LANCZOS)
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    return clean


def process_logo(stream: IO[bytes]) -> ProcessedLogo:
    """Check and re-encode an uploaded logo (nothing is written yet). Raises :class:`LogoError`."""
    image = _clean_copy(_open(_read_capped(stream)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return ProcessedLogo(
        filename=f"{secrets.token_hex(16)}.png",
        png=buffer.getvalue(),
        width=image.width,
        height=image.height,
    )


def logo_name(filename: str | None) -> str | None:
    """The storage name (``logos/<filename>``) of a file name we generate, or ``None`` for
    any other name."""
    if not filename or not LOGO_NAME.fullmatch(filename):
        return None
    return f"{LOGO_FOLDER}/{filename}"


def save_logo(logo: ProcessedLogo) -> str:
    """Store the logo (atomically, whatever the backend); returns its storage name."""
    name = f"{LOGO_FOLDER}/{logo.filename}"
    storage().put(name, logo.png)
    return name


def delete_logo(filename: str | None) -> None:
    """Remove a logo we generated from the storage (nothing for any other name, or when
    nothing is stored under it)."""
    name = logo_name(filename)
    if name is not None:
        storage().delete(name)


def forget_replaced_logo(previous: str | None, current: str | None) -> None:
    """Delete ``previous`` from the storage once the request's commit succeeds, unless it is
    still ``current``. Each upload is stored under a name made for it and kept by one row
    alone, so a logo replaced or removed is nobody's; keeping every one let anyone who can
    upload fill the disk. A request that fails deletes nothing (the callbacks are dropped
    with the rollback)."""
    if previous is not None and previous != current:
        after_commit(functools.partial(delete_logo, previous))


def stored_logo(filename: str | None) -> str | None:
    """The storage name of a logo we generated and stored, or ``None`` (bad name, or
    nothing stored under it)."""
    name = logo_name(filename)
    return name if name is not None and storage().exists(name) else None
