"""Screenshots: load, OCR, and decide whether a screenshot matches a capture (the verdict)."""
