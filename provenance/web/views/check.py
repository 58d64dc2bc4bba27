"""Check a screenshot: upload an image, give a claim or a capture (id or URL), see the
verdict with the image annotated, the figures, the words and, against a URL, every copy
of the page. The check is recorded in the ledger exactly as ``verify`` records it
(:meth:`provenance.api.Evidence.verify`)."""

from __future__ import annotations

import base64
import os
import tempfile

from flask import Blueprint, render_template, request

from provenance.errors import UsageError
from provenance.screens.annotate import draw_boxes, png_bytes
from provenance.screens.images import load_image_bytes
from provenance.screens.match import tokenize
from provenance.web.context import evidence, settings

blueprint = Blueprint("check", __name__)

_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp",
           "TIFF": ".tif"}


@blueprint.get("/check")
def form() -> str:
    return render_template("check.html", against=request.args.get("against", "")[:2000])


@blueprint.post("/check")
def run() -> str:
    upload = request.files.get("image")
    claim = (request.form.get("claim") or "").strip()
    against = (request.form.get("against") or "").strip()
    if upload is None or not upload.filename:
        raise UsageError("choose the screenshot to check")
    if bool(claim) == bool(against):
        raise UsageError("give either the claimed text or a capture (id or URL), not both")
    if claim and not tokenize(claim):
        raise UsageError("the claim has no words or figures to look for")
    data = upload.stream.read(settings().max_upload + 1)
    if len(data) > settings().max_upload:
        raise UsageError("the upload is larger than the limit for a screenshot")
    shown_name = "uploaded image"
    loaded = load_image_bytes(data, shown_name)  # not an image, a bomb: one clear line
    with tempfile.TemporaryDirectory(prefix="provenance-upload-") as folder:
        path = os.path.join(folder, "screenshot" + _SUFFIX.get(loaded.format, ".img"))
        with open(path, "wb") as handle:
            handle.write(data)
        checked = evidence().verify(path, claim or None, against=against or None,
                                    tsas=settings().tsas, timeout=settings().timeout,
                                    tesseract=settings().tesseract)
    picture = png_bytes(draw_boxes(loaded.image, checked.verification))
    return render_template(
        "verdict.html", checked=checked, v=checked.verification,
        against=checked.record.data.get("against") or {},
        picture="data:image/png;base64," + base64.b64encode(picture).decode("ascii"),
        timeline=checked.timeline)
