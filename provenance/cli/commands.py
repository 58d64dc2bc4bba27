"""Every subcommand's grammar: its name, arguments, help and examples, and the handler
that runs it, named by module and function (:func:`provenance.cli.options.handled_by`).

Start-up builds all of these (``provenance --help`` lists them) and imports no handler:
:func:`provenance.cli.main.dispatch` imports the chosen command's module only when it
runs, so ``--help`` and ``--version`` never load the library (requests, trafilatura, PIL).
A new subcommand is one ``_register_NAME`` function here, added to :data:`REGISTRY`, that
ends with ``handled_by(sub, "provenance.cli.MODULE", "cmd_NAME")``; ``cmd_NAME(args, out)``
in that module does the work and returns the exit code. This module imports only
:mod:`provenance.cli.options` (tests/test_architecture.py checks that start-up stays light).
"""

from __future__ import annotations

import argparse

from provenance.cli.options import (
    Commands,
    browser_option,
    capture_options,
    examples,
    force_option,
    handled_by,
    ignore_option,
    positive_float,
    positive_int,
    timeout_option,
    to_option,
    tsa_option,
    url_options,
)

KINDS = ("capture", "fetch_failed", "witness", "timestamp", "ocr", "verification", "changed",
         "snapshot")
"""What ``log --kind`` takes."""

TESSERACT_ENV = "PROVENANCE_TESSERACT"
"""The Tesseract program to run (default ``tesseract`` on the PATH)."""

LANG_HELP = ("OCR languages: auto (choose among eng, rus, ukr per image; the default) or "
             "Tesseract names joined with + (rus+eng)")


# --- archive, check, export, retry (provenance.cli.evidence) ----------------------------------

def _register_archive(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "archive", help="capture web pages into the evidence store",
        description="Fetch each URL now, keep a byte-exact WARC capture and its extracted text, "
        "and append a hash-chained ledger record. With -i, a run of the list that was "
        "interrupted (Ctrl-C, kill) resumes when the list is run again: the URLs it captured "
        "are not fetched again. A list whose run finished is captured anew each time.")
    url_options(sub, "capture")
    sub.add_argument("--jobs", type=positive_int, default=4, metavar="N",
                     help="fetch N pages at once (default 4)")
    sub.add_argument("--again", action="store_true",
                     help="with -i: start the list anew, even if its last run was interrupted")
    capture_options(sub)
    browser_option(sub)
    examples(sub, "provenance archive https://example.org/news/1 --tsa https://freetsa.org/tsr",
             "provenance archive -i urls.txt --jobs 8 --to ia --to pywb=http://127.0.0.1:8080/news")
    handled_by(sub, "provenance.cli.evidence", "cmd_archive")
    return sub


def _register_check(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "check", help="verify every file, WARC digest, ledger link and timestamp",
        description="Recompute every stored file's hash, every WARC's digests, the "
        "ledger's hash chain and head, and every time-stamp token. Prints each problem; exit 1 "
        "if any, 0 if the store is intact, and says which records a verified time-stamp "
        "anchors (only those are proven not rewritten since). Writes nothing to the store.")
    sub.add_argument("--bundle", metavar="FILE",
                     help="check an exported evidence bundle (zip) instead of the store")
    sub.add_argument("--tsa-ca", metavar="FILE",
                     help="with --bundle: PEM file of the TSA root certificates you trust "
                     "(default: $PROVENANCE_TSA_CA); a time-stamp is trusted only if its "
                     "chain ends in one of them")
    examples(sub, "provenance check",
             "provenance check --bundle evidence.zip --tsa-ca tsa-roots.pem")
    handled_by(sub, "provenance.cli.evidence", "cmd_check")
    return sub


def _register_export(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "export", help="write a self-contained evidence bundle (zip)",
        description="Write the records ID... with their WARC files, text, time-stamp tokens, "
        "TSA certificates, Merkle proofs and ledger links into one zip, with a "
        "MANIFEST.sha256 and a VERIFY.md giving the sha256sum and openssl ts -verify "
        "commands to check it without this tool.")
    sub.add_argument("ids", nargs="+", metavar="ID", help="record id (hash prefix) or seq")
    sub.add_argument("--out", required=True, metavar="FILE",
                     help="bundle to write (.zip); an existing file only with --force")
    force_option(sub)
    examples(sub, "provenance export 3f2a9c1b 3f2a9c1c --out evidence.zip",
             "provenance export 12 13 14 --out evidence.zip --force")
    handled_by(sub, "provenance.cli.evidence", "cmd_export")
    return sub


def _register_retry(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "retry", help="ask again for pending witnesses and time-stamps",
        description="Send every capture whose witness archive is pending, unknown or failed "
        "in a way that may pass (within the same rate limits), then ask each time-stamp "
        "authority that failed before for its pending stamps. With --tsa (or PROVENANCE_TSA), "
        "also time-stamp every capture, OCR and verification record that has no time-stamp "
        "yet (made with --tsa none or before a TSA was set), one request per 1,000 records. "
        "Exit 1 if any is still pending.")
    tsa_option(sub, when="; for records that have no time-stamp yet")
    timeout_option(sub)
    examples(sub, "provenance retry", "provenance retry --tsa https://freetsa.org/tsr")
    handled_by(sub, "provenance.cli.evidence", "cmd_retry")
    return sub


# --- history, watch (provenance.cli.history) --------------------------------------------------

def _register_history(commands: Commands) -> argparse.ArgumentParser:

    sub = commands.add_parser(
        "history", help="every capture of a URL, local and in witness archives, and what changed",
        description="List every local capture of URL and every snapshot the witness archives' "
        "CDX indexes hold, oldest first, with time, HTTP status, digest and where it lives. "
        "Each capture is compared with the one before on the article text: removed passages "
        "are marked '- ', added ones '+ ', and figures that changed are listed (compared by "
        "value). Clocks, dates, counters and ad lines are not changes.")
    sub.add_argument("url", metavar="URL", help="the http(s) URL")
    to_option(sub, when="; the archives whose snapshots are listed")
    sub.add_argument("--fetch-witnesses", action="store_true",
                     help="fetch each witness snapshot's raw copy and compare its text too, so "
                     "an edit only the witness saw shows up (one request per distinct copy, at "
                     "the witness's read rate)")
    sub.add_argument("--report", metavar="OUT.html",
                     help="also write the timeline as one self-contained HTML page")
    force_option(sub)
    timeout_option(sub)
    ignore_option(sub)
    examples(sub, "provenance history https://example.org/news/1 --report timeline.html",
             "provenance history https://example.org/news/1 --to ia --fetch-witnesses")
    handled_by(sub, "provenance.cli.history", "cmd_history")
    return sub


def _register_watch(commands: Commands) -> argparse.ArgumentParser:

    sub = commands.add_parser(
        "watch", help="recapture URLs on a schedule and report every change",
        description="Capture each URL now and again every --every (give or take a tenth, so "
        "the requests do not fall on the same second), until --for has passed or Ctrl-C. "
        "Every capture is recorded as by 'archive'; every change is recorded in the ledger and "
        "printed as it happens ('- ' removed, '+ ' added, figures old -> new). It goes on from the "
        "latest capture the store has of each URL. Witness archives get a URL's first capture "
        "ever and every capture that changed. Ctrl-C or SIGTERM "
        "finishes the capture in progress and stops (exit 0); a second one abandons it (130). "
        "A round still running when the next is due starts no more captures, says so on "
        "stderr, and the next round begins at once with the URLs it left.")
    url_options(sub, "watch")
    sub.add_argument("--every", metavar="INTERVAL",
                     help="time between captures: 30s, 10m, 1h (a bare number is seconds; "
                     "required but with --team --remove)")
    sub.add_argument("--jobs", type=positive_int, default=4, metavar="N",
                     help="fetch N pages at once in each round (default 4)")
    sub.add_argument("--for", dest="duration", metavar="DURATION",
                     help="stop after this long, e.g. 6h (default: until Ctrl-C)")
    sub.add_argument("--team", action="store_true",
                     help="with a team store: add the URLs to the team's watches and return; "
                     "'provenance worker' on any machine captures them")
    sub.add_argument("--remove", action="store_true",
                     help="with --team: stop watching the URLs")
    capture_options(sub)
    browser_option(sub)
    examples(sub, "provenance watch -i urls.txt --every 1h --jobs 8 --tsa https://freetsa.org/tsr",
             "provenance watch --team -i urls.txt --every 1h   (team store: the workers capture)")
    handled_by(sub, "provenance.cli.history", "cmd_watch")
    return sub


def _register_worker(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "worker", help="capture a team store's watches (run one on each machine)",
        description="Take the capture jobs of the team store's watches ('watch --team') from "
        "its queue (procrastinate, in the store's PostgreSQL database) and capture them, "
        "several workers on several machines at once. Each watch is captured once per time "
        "slot (a ledger key refuses a second), the jobs of a worker that died are taken again "
        "once it has gone --lease seconds without a heartbeat, and with --tsa one worker at a "
        "time stamps the new records, one request per batch. Ctrl-C or SIGTERM finishes the "
        "captures in progress and stops.")
    sub.add_argument("--jobs", type=positive_int, default=4, metavar="N",
                     help="capture N pages at once (default 4)")
    sub.add_argument("--lease", type=positive_float, default=60.0, metavar="SECONDS",
                     help="the jobs of a worker this long without a heartbeat are taken "
                     "again by another (default 60; each worker beats every quarter of it)")
    sub.add_argument("--drain", action="store_true",
                     help="stop once every due job is done (one round), instead of waiting")
    sub.add_argument("--browser", action="store_true",
                     help="also take the watches added with 'watch --team --browser' and render "
                     "them in headless Chromium, as 'watch --browser' does (needs Debian's "
                     "chromium)")
    sub.add_argument("--for", dest="duration", metavar="DURATION",
                     help="stop after this long, e.g. 6h (default: until Ctrl-C)")
    tsa_option(sub)
    sub.add_argument("--stamp-every", default="10s", metavar="INTERVAL",
                     help="with --tsa: how often the team's new records are stamped, e.g. "
                     "10s, 5m, 1h (default 10s; a worker that stops stamps what is left)")
    sub.add_argument("--max-bytes", type=positive_int, default=50_000_000, metavar="N",
                     help="largest response body to keep, in bytes (default 50 MB)")
    timeout_option(sub)
    ignore_option(sub)
    examples(sub, "provenance worker --jobs 8 --tsa https://freetsa.org/tsr   (with "
             "PROVENANCE_STORE=postgresql://… and PROVENANCE_OBJECTS=s3://…)")
    handled_by(sub, "provenance.cli.worker", "cmd_worker")
    return sub


# --- ocr, verify (provenance.cli.screens) -----------------------------------------------------

def _add_reading_options(sub: argparse.ArgumentParser) -> None:
    """--lang, --tsa and --timeout, as ``ocr`` and ``verify`` both take them."""

    sub.add_argument("--lang", default="auto", metavar="auto|LANGS", help=LANG_HELP)
    tsa_option(sub)
    timeout_option(sub)


def _register_ocr(commands: Commands) -> argparse.ArgumentParser:

    sub = commands.add_parser(
        "ocr", help="read the text of screenshots (kept and cached in the store)",
        description="Read each image with Tesseract: text, words with boxes and confidences, "
        "SHA-256 and perceptual hash. The image and its reading are kept in the store and "
        "recorded in the ledger; an image read before is not read again. "
        f"Env {TESSERACT_ENV} names the Tesseract program.")
    sub.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, WebP, GIF... files")
    sub.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                     help="read N images at once (default: one per core)")
    _add_reading_options(sub)
    examples(sub, "provenance ocr shots/*.png --jobs 2",
             "provenance ocr shot.jpg --lang rus+eng --tsa https://freetsa.org/tsr")
    handled_by(sub, "provenance.cli.screens", "cmd_ocr")
    return sub


def _register_verify(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "verify", help="does a screenshot show the claimed text? match / mismatch / absent",
        description="Find the screenshot's passage that corresponds to the claim (or to a "
        "captured page) and compare every figure exactly: 9 861 = 9,861 = 9861, but 9881 is "
        "never 9861; and every word: another name, place, colour or negation is a mismatch. "
        "Exit 0 for match, 1 for mismatch or absent, 2 if it could not check. "
        "Every verification is a ledger record with the image's hash.")
    sub.add_argument("image", metavar="IMAGE", help="the screenshot")
    what = sub.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", metavar="CLAIM", help="the text the screenshot is said to show")
    what.add_argument("--against", metavar="URL_OR_CAPTURE_ID",
                      help="a stored capture (ledger number or record hash prefix), or a URL: "
                      "its latest capture, captured now if there is none")
    sub.add_argument("--annotate", metavar="OUT.png",
                     help="write the screenshot with the passage boxed green and each "
                     "differing figure or word red")
    sub.add_argument("--report", metavar="OUT.html",
                     help="write a self-contained HTML report (image embedded, opens offline)")
    force_option(sub)
    to_option(sub, when="; only with --against URL, when a capture is made")
    _add_reading_options(sub)
    examples(sub, 'provenance verify shot.png --text "9 861 killed, 16 153 wounded"',
             "provenance verify shot.png --against https://example.org/news/1 "
             "--report check.html")
    handled_by(sub, "provenance.cli.screens", "cmd_verify")
    return sub


# --- log, show (provenance.cli.log) -----------------------------------------------------------

def _register_log(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "log", help="list the ledger's records (ids to export, to verify --against)",
        description="List the records of the evidence store, oldest first: ledger number, "
        "id, time, kind, subject (URL or image hash) and a summary. --since and --until "
        "compare the ledger record time (when the record was written, UTC), not the page's "
        "own dates; -n keeps the newest N records that pass the other filters, still "
        "listed oldest first.")
    sub.add_argument("subject", nargs="?", metavar="URL_OR_HASH",
                     help="only records about this URL (its captures, witnesses, changes and "
                     "the screenshot checks against it) or this image SHA-256")
    sub.add_argument("--kind", action="append", choices=KINDS, metavar="KIND",
                     help=f"only these kinds ({', '.join(KINDS)}); repeatable")
    sub.add_argument("--since", metavar="TIME",
                     help="only records written at or after TIME (ledger record time; RFC "
                     "3339 UTC like 2026-03-21T14:03:07Z, or a date YYYY-MM-DD: from its "
                     "start)")
    sub.add_argument("--until", metavar="TIME",
                     help="only records written before TIME (ledger record time; a date "
                     "YYYY-MM-DD includes that whole day)")
    sub.add_argument("-n", type=positive_int, metavar="N", dest="limit",
                     help="at most N records: the newest N, listed oldest first")
    examples(sub, "provenance log https://example.org/news/1",
             "provenance log --since 2026-03-01 --kind verification -n 20")
    handled_by(sub, "provenance.cli.log", "cmd_log")
    return sub


def _register_show(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "show", help="print one record: its data, hashes and files (or its text or body)",
        description="Print one ledger record: its kind, time, subject, data, hashes and "
        "files. With --text, the capture's extracted text; with --raw, the body of the final "
        "response exactly as captured, from its WARC (at most 64 MiB of WARC is read). "
        "Either file is re-hashed first: one that was edited is refused (exit 1).")
    sub.add_argument("ref", metavar="ID", help="a ledger number (12) or a record id / record "
                     "hash prefix of 6 or more digits, as export takes")
    what = sub.add_mutually_exclusive_group()
    what.add_argument("--text", action="store_true",
                      help="print the capture's extracted text instead")
    what.add_argument("--raw", action="store_true",
                      help="write the body as captured (bytes) instead; with --json it is "
                      "the record line's body_base64")
    examples(sub, "provenance show 12", "provenance show 3f2a9c1b --text")
    handled_by(sub, "provenance.cli.log", "cmd_show")
    return sub


def _register_pull(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "pull", help="keep all of an archive's snapshots of a URL in the store",
        description="List every snapshot of URL the archive's index holds (CDX, or the "
        "TimeMap of a memento= source), within --since/--until, and keep each raw copy "
        "(id_) as a snapshot record: WARC, text, the archive's digest and ours. A copy kept "
        "before is not fetched again, so a run cut short resumes where it stopped, and "
        "verify and history read the copies from the store afterwards. Requests go at the "
        "archive's read rate (one a second for the Internet Archive). Exit 1 if any copy "
        "could not be pulled or the archive lists none.")
    sub.add_argument("url", metavar="URL", help="the http(s) URL whose snapshots to keep")
    to_option(sub, when="; the archives to pull from (memento=BASE too)")
    sub.add_argument("--since", metavar="DATE",
                     help="only snapshots from this time on: YYYY, YYYY-MM, YYYY-MM-DD or "
                     "RFC 3339 UTC (2022-03-20T16:00:00Z)")
    sub.add_argument("--until", metavar="DATE",
                     help="only snapshots up to this time; a date includes its whole day")
    sub.add_argument("--limit", type=positive_int, metavar="N",
                     help="only the oldest N snapshots in the range")
    timeout_option(sub)
    examples(sub, "provenance pull https://www.kp.ru/daily/27364/4560000/ "
             "--since 2022-03-20 --until 2022-03-21",
             "provenance pull https://example.org/page --to memento=https://archive.ph/timemap/link/")
    handled_by(sub, "provenance.cli.pull", "cmd_pull")
    return sub


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r} (0 to 65535)")
    return int(text)


def _register_serve(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "serve", help="browse the evidence store in a web browser (local web viewer)",
        description="Serve a web viewer of the store: the captures (searchable), each "
        "capture with its replay from our WARC, a URL's history, checking a screenshot, "
        "exporting a bundle and checking the store. Listens on 127.0.0.1 unless --host "
        "says otherwise; on any other address every request needs the access token "
        "printed at start. Stop it with Ctrl-C.")
    sub.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    sub.add_argument("--port", type=_port, default=8080,
                     help="port to listen on (default 8080; 0: any free port)")
    sub.add_argument("--max-upload", type=positive_int, default=20, metavar="MIB",
                     help="largest screenshot upload in MiB (default 20)")
    tsa_option(sub, when="; for the screenshot checks made in the viewer")
    timeout_option(sub)
    examples(sub, "provenance serve", "provenance serve --store /cases/kp --port 8765")
    handled_by(sub, "provenance.cli.serve", "cmd_serve")
    return sub


def _register_migrate(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "migrate", help="copy the store into a team store (or back), every record as it is",
        description="Copy every record and stored file of the store (--store, or --from) "
        "into the store --into: a folder into a team store (postgresql://… with --into-objects), "
        "a team store into a folder, or a folder into a folder. Records keep their number, "
        "time and hash (they are copied, not recorded anew), so time-stamps and bundles stay "
        "valid. The source's chain is checked first; a destination that holds records must "
        "hold exactly the source's first records (a migration that was interrupted: it goes "
        "on), else nothing is written. Every file is hashed as it is copied and read back. "
        "Exit 1 if the source is damaged or the destination holds another ledger.")
    sub.add_argument("--into", required=True, metavar="STORE",
                     help="the destination: a folder, or a team store's postgresql://USER@HOST/DB")
    sub.add_argument("--into-objects", metavar="URL",
                     help="the destination team store's objects: s3://BUCKET/PREFIX or a "
                     "shared folder")
    sub.add_argument("--from", dest="source", metavar="STORE",
                     help="the store to copy (default: --store, PROVENANCE_STORE)")
    sub.add_argument("--from-objects", metavar="URL",
                     help="the source team store's objects (default: --objects, "
                     "PROVENANCE_OBJECTS)")
    examples(sub, "provenance migrate --from ./evidence --into postgresql://me@db/evidence "
             "--into-objects s3://newsroom-evidence/provenance",
             "provenance migrate --into ./evidence-copy")
    handled_by(sub, "provenance.cli.migrate", "cmd_migrate")
    return sub


REGISTRY = [_register_archive, _register_check, _register_export, _register_retry,
            _register_history, _register_watch, _register_ocr, _register_verify,
            _register_log, _register_show, _register_pull, _register_serve,
            _register_migrate, _register_worker]
"""Every subcommand, in the order ``provenance --help`` lists them."""
