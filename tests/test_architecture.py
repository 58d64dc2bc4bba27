"""The shape of the code, enforced: no import cycles, no hidden imports, archive stands alone.

An import cycle hidden by a function-local import is a design knot that bites later (an
import order that works by luck, a module that cannot be used alone). So: module-level
imports of ``archive`` and ``provenance`` must form a graph without cycles, imports inside
functions are allowed only for optional heavy dependencies, and ``archive`` (the web part)
never imports ``provenance`` (the evidence part).

One import is late on purpose: the command line's start-up builds every subcommand's parser
from light modules and :func:`provenance.cli.main.dispatch` imports the chosen command's
module when it runs, so ``provenance --help`` answers without loading the library. That is
the only place a module is imported by name (``importlib``), the modules it names count as
imported by ``provenance.cli.main`` in the graph, and start-up is checked to stay light.
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from provenance.cli.main import build_parser, dispatch
from provenance.cli.options import Handler

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("archive", "provenance")

# Optional or heavy dependencies a function may import where it needs them.
LOCAL_IMPORTS_ALLOWED = {"brotli", "pytesseract", "pywb", "playwright"}

# The one function that imports a module by name: the chosen command's, when it runs.
LATE_IMPORTS_ALLOWED_IN = {
    "provenance.cli.main.dispatch",  # each command's module, when that command runs
    "provenance.store.backends._optional",  # the team extra (psycopg, boto3): optional, heavy
}
TEAM_BACKENDS = {"provenance.store.backends.postgres", "provenance.store.backends.objects_s3"}

# What ``provenance --help`` / ``--version`` must not load (start-up went from 0.3 s to 0.6 s
# when the command line imported every command's library at start).
HEAVY_AT_START = ("requests", "trafilatura", "PIL", "numpy", "pytesseract", "cryptography",
                  "lxml", "bs4", "provenance.api", "archive.fetch")


def _modules() -> dict[str, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _top_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports run when the module is loaded: its body, and try/if blocks at module level
    (but not ``if TYPE_CHECKING``, which never runs)."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.Try):
            stack.extend([*node.body, *node.orelse, *node.finalbody,
                          *(s for h in node.handlers for s in h.body)])
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            stack.extend([*node.body, *node.orelse])


def _targets(node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    """The project modules an import statement loads."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    if node.level or node.module is None:
        raise AssertionError("relative imports are not used in this project")
    found = set()
    for alias in node.names:
        full = f"{node.module}.{alias.name}"
        if full in known:
            found.add(full)
        elif node.module in known:
            found.add(node.module)
    return found


def _handlers() -> dict[str, Handler]:
    """Every subcommand's handler, as its parser names it."""
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    return {name: sub.get_default("handler") for name, sub in commands.items()}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {name: set().union(*(_targets(n, known) for n in _top_level_imports(tree)))
             for name, tree in modules.items()}
    # dispatch() imports these when their command runs: a cycle through them is one too
    graph["provenance.cli.main"] |= {h.module for h in _handlers().values()}
    graph["provenance.store.backends"] |= TEAM_BACKENDS  # loaded by _optional()
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None (depth-first search)."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt, white) == grey:
                return path[path.index(nxt):] + [nxt]
            if colour.get(nxt, white) == white:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        colour[node] = black
        return None

    for node in sorted(graph):
        if colour[node] == white:
            found = visit(node)
            if found:
                return found
    return None


def test_cycle_detector_finds_a_cycle_and_passes_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_a_new_cycle() -> None:
    graph = import_graph()
    assert find_cycle(graph) is None
    # What a cycle added today would look like: the store importing the command line.
    graph["provenance.store.ledger"] = graph["provenance.store.ledger"] | {"provenance.cli.main"}
    assert find_cycle(graph) is not None


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_archive_never_imports_provenance() -> None:
    bad = []
    for name, tree in _modules().items():
        if not name.startswith("archive"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            if "provenance" in roots:
                bad.append(f"{name}:{node.lineno}")
    assert not bad, f"archive imports provenance at {bad}"


def test_no_function_local_imports() -> None:
    bad = []
    for name, tree in _modules().items():
        top = {id(node) for node in _top_level_imports(tree)}
        type_only = {id(node) for block in ast.walk(tree) if _is_type_checking(block)
                     for node in ast.walk(block)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in top | type_only:
                continue
            root = (node.names[0].name if isinstance(node, ast.Import)
                    else node.module or "").split(".")[0]
            if root not in LOCAL_IMPORTS_ALLOWED:
                bad.append(f"{name}:{node.lineno} ({root})")
    assert not bad, f"imports inside functions (move them to the top): {bad}"


def _messages(tree: ast.Module) -> Iterator[str]:
    """The string constants of a module that are not docstrings (messages, formats)."""
    docstrings = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docstrings):
            yield node.value


def test_archive_messages_name_no_command_or_option_of_the_cli():
    """``archive`` is a library: its errors say what went wrong, and the command line adds
    which of its commands or options would help (a library user has neither)."""
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    options = {o for sub in commands.values() for a in sub._actions for o in a.option_strings
               if o.startswith("--") and o != "--help"}
    longest_first = "|".join(re.escape(o) for o in sorted(options, key=len, reverse=True))
    # (?![\w-]): Chromium's --ignore-certificate-errors-spki-list is not our --ignore
    named = re.compile(rf"provenance ({'|'.join(commands)})\b|({longest_first})(?![\w-])")
    found = [(name, text) for name, tree in _modules().items() if name.startswith("archive")
             for text in _messages(tree) if named.search(text)]
    assert found == []


CLI_MUST_NOT_IMPORT = {
    "provenance.capture.witnessing", "provenance.capture.capturer.Capturer",
    "provenance.stamps.stamping", "provenance.screens.screenshots", "provenance.check",
    "provenance.changes.timeline", "provenance.bundle.export", "provenance.bundle.verify",
    "provenance.store.ledger.Ledger", "provenance.store.filestore.Store", "archive.fetch",
}


def test_the_cli_holds_no_ledger_store_or_witness_logic():
    """provenance/cli/ parses, calls provenance.api and prints: it never opens a ledger or a
    store, sends to a witness, stamps or captures by itself (a web page could not reuse
    what only the CLI does)."""
    found = []
    for name, tree in _modules().items():
        if not name.startswith("provenance.cli"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                names = {a.name for a in node.names}
            else:
                continue
            found += [(name, n) for n in sorted(names & CLI_MUST_NOT_IMPORT)]
    assert found == []


# --- start-up stays light: parsers here, each command's library loaded when it runs ------------

def _late_imports(tree: ast.Module, module: str) -> Iterator[str]:
    """Where a module is imported by name (``importlib.import_module``, ``__import__``),
    as ``module.function:line``."""
    def visit(node: ast.AST, where: str) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            inner = (f"{where}.{child.name}"
                     if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     else where)
            if isinstance(child, ast.Call):
                func = child.func
                name = (func.attr if isinstance(func, ast.Attribute)
                        else func.id if isinstance(func, ast.Name) else "")
                if name in ("import_module", "__import__", "spec_from_file_location"):
                    yield f"{where}:{child.lineno}"
            yield from visit(child, inner)

    yield from visit(tree, module)


def test_modules_are_imported_by_name_only_in_dispatch():
    found = [place for name, tree in _modules().items() for place in _late_imports(tree, name)]
    assert found and all(p.split(":")[0] in LATE_IMPORTS_ALLOWED_IN for p in found), found


def test_a_late_import_elsewhere_is_seen():
    tree = ast.parse("import importlib\n\ndef helper():\n"
                     "    return importlib.import_module('provenance.api')\n")
    assert list(_late_imports(tree, "provenance.cli.log")) == ["provenance.cli.log.helper:4"]


def test_every_command_names_a_handler_that_exists():
    handlers = _handlers()
    assert len(handlers) >= 10
    for command, handler in handlers.items():
        assert isinstance(handler, Handler), command
        assert handler.module.startswith("provenance.cli."), command
        run = dispatch(handler)
        assert callable(run) and list(inspect.signature(run).parameters) == ["args", "out"]


def test_the_graph_holds_the_modules_loaded_late():
    graph = import_graph()
    assert {"provenance.cli.evidence", "provenance.cli.screens"} <= graph["provenance.cli.main"]
    # a handler module importing main back is a cycle, though main imports it only by name
    graph["provenance.cli.log"] = graph["provenance.cli.log"] | {"provenance.cli.main"}
    assert find_cycle(graph) is not None


START = """
import sys
from provenance.cli.main import main
for argv in (["--version"], ["--help"], ["archive", "--help"], ["verify", "--help"]):
    try:
        main(argv)
    except SystemExit:
        pass
print("AT START", sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
main(["--store", sys.argv[1], "log"])  # a command that runs loads what it needs
print("AFTER LOG", sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def test_help_and_version_do_not_load_the_library(tmp_path):
    """``provenance --help`` and ``--version`` answer from the parsers alone; the library
    (requests, trafilatura, PIL, the API) loads only when a command runs."""
    done = subprocess.run([sys.executable, "-c", START.format(heavy=HEAVY_AT_START),
                           str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    lines = done.stderr.strip().splitlines()
    assert "AT START []" in lines, done.stderr[-2000:]
    assert "usage: provenance" in done.stdout and "provenance verify" in done.stdout
    after = next(line for line in lines if line.startswith("AFTER LOG"))
    assert "provenance.api" in after and "requests" in after
