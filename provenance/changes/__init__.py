"""What changed: text diffs between captures of one URL, timelines, watching a page."""
