"""``provenance serve``: a local web viewer for the evidence store (see :mod:`.app`)."""
