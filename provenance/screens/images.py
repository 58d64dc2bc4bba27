"""Opening an image safely, with the facts about it that evidence needs.

A screenshot handed to this tool may be hostile or broken: not an image, cut off in the
middle, a decompression bomb, a 40-frame GIF. Every such case becomes one
:class:`~provenance.errors.ImageError` line, never a traceback or a silently half-read image.

What is recorded is about the file exactly as received: its SHA-256 is of the bytes on
disk, which are never modified. What is OCR'd is the picture as a person sees it: EXIF
orientation applied, first frame of an animation (and a note saying so). The capture
metadata a camera or phone wrote (DateTimeOriginal, Software, Make, Model...) is kept.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import imagehash
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from provenance.errors import ImageError

MAX_PIXELS = 80_000_000
"""Largest image we decode (about 10 000 x 8 000). A phone screenshot is 1-4 Mpx; a
full-page capture of a long article can reach 30 Mpx. Beyond this, decoding costs
gigabytes and Tesseract minutes; Pillow's own bomb limit is about 89 Mpx."""

MAX_FILE_BYTES = 200 * 1024 * 1024
"""Files larger than this are refused before decoding starts."""

EXIF_KEEP = (
    "DateTimeOriginal", "DateTimeDigitized", "DateTime", "OffsetTimeOriginal", "OffsetTime",
    "Software", "Make", "Model", "Artist", "ImageDescription", "Orientation",
    "UserComment", "HostComputer",
)
"""EXIF tags kept as capture metadata: when, on what, with what software."""


@dataclass
class LoadedImage:
    """A decoded image (orientation applied, RGB) and the facts about its file."""

    path: str
    image: Image.Image = field(repr=False)
    sha256: str
    phash: str
    width: int
    height: int
    format: str
    exif: dict[str, str]
    notes: list[str]


def _exif_metadata(image: Image.Image) -> dict[str, str]:
    """Capture metadata as text. EXIF is untrusted input: anything odd is just skipped."""
    try:
        exif = image.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block must not hide the image
        return {}
    wanted = {}
    merged: dict[int, Any] = dict(exif)
    try:
        merged.update(exif.get_ifd(ExifTags.IFD.Exif))
    except Exception:  # noqa: BLE001
        pass
    for tag, value in merged.items():
        name = ExifTags.TAGS.get(tag)
        if name not in EXIF_KEEP:
            continue
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace").strip("\x00 ")
        text = str(value).strip("\x00 ")
        if text:
            wanted[name] = text[:200]
    return wanted


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Read and decode ``path`` completely, or raise :class:`ImageError` with one line.

    The whole file is read once: the same bytes are hashed and decoded, so the hash
    is of exactly what was OCR'd.
    """
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
    except OSError as exc:
        raise ImageError(f"{name}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise ImageError(f"{name}: the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise ImageError(f"{name}: {size >> 20} MiB is too large for a screenshot "
                         f"(limit {MAX_FILE_BYTES >> 20} MiB)")
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ImageError(f"{name}: cannot read ({exc.strerror})") from None
    return load_image_bytes(data, name)


def load_image_bytes(data: bytes, name: str = "<image>") -> LoadedImage:
    """Like :func:`load_image` for bytes already in memory (``name`` is for messages)."""
    if not data:
        raise ImageError(f"{name}: the file is empty (0 bytes)")
    notes: list[str] = []
    with warnings.catch_warnings():
        # Pillow warns (DecompressionBombWarning) between its limit and twice it; a warning
        # is not a decision, so every bomb warning is an error here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ImageError(f"{name}: not an image (or a format Pillow cannot read)") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"{name}: refused as a decompression bomb "
                             f"(more pixels than Pillow's safety limit)") from None
        except (OSError, SyntaxError, ValueError) as exc:
            if "truncated" in str(exc).lower():
                raise ImageError(f"{name}: the file is truncated (cut off in its header)") from None
            raise ImageError(f"{name}: not a readable image ({exc})") from None
        fmt = image.format or "unknown"
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageError(f"{name}: {width}x{height} is too large "
                             f"({width * height / 1e6:.0f} Mpx, limit {MAX_PIXELS / 1e6:.0f})")
        if width == 0 or height == 0:
            raise ImageError(f"{name}: image has no pixels ({width}x{height})")
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            notes.append(f"animated {fmt} with {frames} frames: only the first frame was read")
            image.seek(0)
        exif = _exif_metadata(image)
        try:
            image.load()
            oriented = ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"{name}: refused as a decompression bomb "
                             f"(more pixels than Pillow's safety limit)") from None
        except (OSError, SyntaxError, ValueError) as exc:
            message = str(exc)
            if "truncated" in message.lower() or "broken data stream" in message:
                raise ImageError(f"{name}: the {fmt} file is truncated "
                                 f"(cut off before the end of the image)") from None
            raise ImageError(f"{name}: cannot decode the {fmt} image ({message})") from None
    if oriented is not image:
        orientation = exif.get("Orientation")
        if orientation and orientation != "1":
            notes.append(f"EXIF orientation {orientation} applied")
    rgb = _to_rgb(oriented)
    return LoadedImage(
        path=name,
        image=rgb,
        sha256=hashlib.sha256(data).hexdigest(),
        phash=str(imagehash.phash(rgb)),
        width=rgb.width,
        height=rgb.height,
        format=fmt,
        exif=exif,
        notes=notes,
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with transparency composited on white (a transparent PNG reads as black text
    on black otherwise)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode != "RGB":
        return image.convert("RGB")
    return image
