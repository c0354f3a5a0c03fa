"""The layer order of DESIGN.md, enforced: every import of ``echolite/``, ``cli/`` and ``edge/`` (at module level and
inside functions) runs down the list below or stays in its own layer, and no modules import each other in a circle.
Function-local imports say why on their line (keeping ``echolite --help`` or the device runner light, or an optional
dependency), so a deferred import never hides a layering problem again."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "echolite": ROOT / "echolite",
    "echolite.cli": ROOT / "cli",
    "echolite_edge": ROOT / "edge" / "echolite_edge",
}

LAYERS = [
    ["echolite.cli"],
    ["echolite"],  # the public Python API
    ["echolite.workflows"],  # folder-in/folder-out jobs the command line calls
    ["echolite.training", "echolite.export", "echolite.clinical", "echolite.data.inspect", "echolite.data.writers"],
    ["echolite.inference"],
    ["echolite.pretrained"],  # the shipped models as run folders
    ["echolite.plots"],  # receives numbers, never computes them
    ["echolite.evaluation"],
    ["echolite.models"],
    ["echolite.data"],
    ["echolite.presets"],
    ["echolite.run"],
    ["echolite.config"],
    ["echolite.errors", "echolite.version"],
    # the device package, in the tensorflow/examples shape: a command line that parses and loops, over the segmenter,
    # frame input and output, the clinical analysis of loops and the anatomy criteria
    ["echolite_edge.cli"],
    ["echolite_edge.bench", "echolite_edge.android", "echolite_edge.loop_report", "echolite_edge.live"],
    ["echolite_edge.cine"],  # frames through the two-stage pipeline, a loop's outputs: what run, bench, live share
    ["echolite_edge.segmenter", "echolite_edge.frames", "echolite_edge.outputs", "echolite_edge.pretrained"],
    ["echolite_edge.dicom", "echolite_edge.video"],
    ["echolite_edge.loop"],
    ["echolite_edge.loop_qc", "echolite_edge.clinical"],
    ["echolite_edge.tta", "echolite_edge.postprocess"],
    ["echolite_edge.anatomy"],
    [
        "echolite_edge.image",
        "echolite_edge.png",
        "echolite_edge.morphology",
        "echolite_edge.marks",
        "echolite_edge.sources",
    ],
    ["echolite_edge.files", "echolite_edge.console", "echolite_edge.words"],
    ["echolite_edge.labels", "echolite_edge"],
]
"""Top to bottom: a module may import the modules of its own layer and of the layers below it, never above. A module
belongs to the entry that names the longest prefix of its name."""


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]
            if "egg-info" not in str(path):
                found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    best = max(
        (len(p), i) for i, layer in enumerate(LAYERS) for p in layer if module == p or module.startswith(p + ".")
    )
    return best[1]


def _owner(name: str) -> str | None:
    """The project module an imported name lives in (``echolite.run.RunDir`` -> ``echolite.run``), or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported project module, line, inside a function) for every import statement of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    local = {
        id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        owners = {_owner(n) for n in names} - {None, module}
        found += [(o, node.lineno, id(node) in local) for o in owners if not (o == "echolite" and len(owners) > 1)]
    return found


def test_every_module_has_a_layer():
    assert all(_layer(m) >= 0 for m in MODULES)


def test_no_import_runs_upward():
    upward = [
        f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}"
        for m in MODULES
        for target, line, _ in _imports(m)
        if _layer(target) < _layer(m)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_circle():
    graph = {m: {t for t, _, _ in _imports(m)} for m in MODULES}
    circles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "\n".join(circles)


def _comment_lines(path: Path) -> set[int]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return {t.start[0] for t in tokens if t.type == tokenize.COMMENT}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_function_local_imports_say_why(package):
    silent = []
    for module, path in MODULES.items():
        if (
            _owner(module)
            and (module == package or module.startswith(package + "."))
            and not (package == "echolite" and (module + ".").startswith("echolite.cli."))
        ):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            commented = _comment_lines(path)
            for func in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
                for node in ast.walk(func):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and not (
                        set(range(node.lineno, (node.end_lineno or node.lineno) + 1)) & commented
                    ):
                        silent.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not silent, "function-local imports without a reason on their line:\n" + "\n".join(silent)


REACHED_OTHERWISE = {
    "echolite.export.qat_worker": "runs as a child process (python -m), started by the QAT test",
}
"""Modules no test imports by name, and how the tests reach them."""


def test_every_module_is_imported_by_a_test():
    """Each module has a test that imports it (a command module: its command, through echolite.cli.main)."""
    imported = set()
    for path in (ROOT / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {_owner(a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported |= {_owner(node.module)} | {_owner(f"{node.module}.{a.name}") for a in node.names}
    if "echolite.cli.main" in imported:  # the command group imports every command module
        imported |= {m for m in MODULES if m.startswith("echolite.cli.")}
    untested = [m for m in MODULES if MODULES[m].name != "__init__.py" and m not in imported | set(REACHED_OTHERWISE)]
    assert not untested, untested
