"""Regenerate the JSON cassettes here from edgi-govdata-archiving/wayback's VCR recordings.

Source: edgi-govdata-archiving/wayback @db106108, ``src/wayback/tests/cassettes/*.yaml``
(BSD-3-Clause, see LICENSE here), real web.archive.org traffic recorded by its tests.
Each interaction keeps the request method and URI and the response status, headers and
body bytes exactly (the body base64-encoded, still gzip-compressed where it was). Run from
the repository with the shared folder next to it (needs PyYAML, only for this script)::

    python3 tests/realworld_wayback/regenerate.py ../shared/realworld/wayback/edgi-wayback
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import yaml  # type: ignore[import-untyped]

# Only the first N interactions of these (a CDX search, then its first memento).
FIRST = {"test_memento_rate_limits": 2}
NAMES = [
    "test_get_memento",
    "test_get_memento_follow_redirects_does_not_follow_historical_redirects",
    "test_get_memento_raises_blocked_error",
    "test_get_memento_raises_for_mementos_that_redirect_in_a_loop",
    "test_get_memento_should_fail_for_non_playbackable_mementos",
    "test_get_memento_works_on_archived_rate_limit_responses",
    "test_search_does_not_repeat_results",
    "test_search_multipage",
    "test_search_raises_for_blocked_urls",
    "test_memento_rate_limits",
    "test_get_memento_with_path_based_redirects",
    "test_search_with_date",
]


def convert(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text())
    interactions = []
    for item in data["interactions"][:FIRST.get(path.stem)]:
        body = item["response"]["body"].get("string", b"")
        if isinstance(body, str):
            body = body.encode("utf-8")
        interactions.append({
            "method": item["request"]["method"],
            "uri": item["request"]["uri"],
            "status": item["response"]["status"]["code"],
            "reason": item["response"]["status"]["message"],
            "headers": [[k, v] for k, values in item["response"]["headers"].items()
                        for v in values],
            "body_base64": base64.b64encode(body).decode("ascii"),
        })
    return {"source": f"edgi-govdata-archiving/wayback@db106108 "
                      f"src/wayback/tests/cassettes/{path.name} (BSD-3-Clause)",
            "interactions": interactions}


def main(folder: str) -> None:
    here = Path(__file__).parent
    for name in NAMES:
        out = here / f"{name}.json"
        out.write_text(json.dumps(convert(Path(folder) / f"{name}.yaml"), indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
