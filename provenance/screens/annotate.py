"""Drawing the verdict onto a copy of the screenshot: passage in green, what differs in red.

Red boxes go on every figure and every word that differs from the claim (another name,
place or colour, an added negation): :attr:`provenance.match.Verification.differing_boxes`.
Orange boxes go on the screenshot words that differ from the page but were read with too
little confidence to hold against it (:attr:`~provenance.match.Verification.unsure`): the
places a person must look at.

The annotated picture is a new file; the screenshot itself is never touched. It is written
to a temporary file next to the target and renamed into place, so a reader never sees a
half-written PNG.
"""

from __future__ import annotations

import io
import os

from PIL import Image, ImageDraw

from provenance.screens.images import load_image
from provenance.screens.match import Verification
from provenance.store.atomic import write_atomic

GREEN = (0, 170, 60)
RED = (220, 0, 0)
RIM = (255, 220, 0)
ORANGE = (255, 120, 0)


def draw_boxes(image: Image.Image, verification: Verification) -> Image.Image:
    """A copy of ``image`` with the passage boxed green, differing figures and words red and
    words too unclear to compare orange."""
    image = image.copy()
    draw = ImageDraw.Draw(image)
    width = max(2, round(min(image.size) / 300))
    pad = width + 1
    for x, y, w, h in verification.boxes:
        draw.rectangle((x - pad, y - pad, x + w + pad, y + h + pad), outline=GREEN, width=width)
    for x, y, w, h in (box for word in verification.unsure for box in word.boxes):
        draw.rectangle((x - 2 * pad, y - 2 * pad, x + w + 2 * pad, y + h + 2 * pad),
                       outline=ORANGE, width=width + 1)
    for x, y, w, h in verification.differing_boxes:
        # A yellow rim keeps the red box visible on a red banner.
        outer = 2 * pad + width + 1
        draw.rectangle((x - outer, y - outer, x + w + outer, y + h + outer), outline=RIM,
                       width=width)
        draw.rectangle((x - 2 * pad, y - 2 * pad, x + w + 2 * pad, y + h + 2 * pad),
                       outline=RED, width=width + 1)
    return image


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def annotate(image_path: str | os.PathLike[str], verification: Verification,
             out_png: str | os.PathLike[str], *, force: bool = False) -> str:
    """Write ``out_png``: the screenshot (orientation applied) with boxes; returns its path.
    An existing file is replaced only with ``force``
    (:func:`~provenance.store.atomic.check_target`)."""
    image = draw_boxes(load_image(image_path).image, verification)
    return write_atomic(out_png, png_bytes(image), force=force)
