"""The house rules, checked over the source with ``ast`` (every import, also those inside functions):

- ``carriers`` stands alone; the core (``tracker/*.py``) imports only itself and ``carriers``;
- a feature (``tracker.ingest``, ``tracker.polling``, ``tracker.pushes``, ``tracker.shipments``, ``tracker.detector``,
  ``tracker.metrics``, ``notifier``, ``claims``, ``dashboard``) imports the core, ``carriers``, its own modules, and
  another feature only through that feature's front door (its package: ``from tracker.detector import Detector``),
  never its insides;
- the packages stand in layers: ``tracker`` never imports ``notifier``, ``claims`` or ``dashboard``, ``notifier``
  never imports ``claims`` or ``dashboard``, ``claims`` never imports ``dashboard`` (only ``zelo`` does);
- only the composition root (``zelo``) knows every feature; nothing in the packages imports it;
- no two features import each other, and no import cycle runs between files.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("zelo", "tracker", "notifier", "carriers", "claims", "dashboard")
FEATURES = (
    "tracker.ingest",
    "tracker.polling",
    "tracker.pushes",
    "tracker.shipments",
    "tracker.detector",
    "tracker.metrics",
    "tracker.monitoring",
    "notifier",
    "claims",
    "dashboard",
)
OURS = (*PACKAGES, "scheduler")
ABOVE = {
    "tracker": ("notifier", "claims", "dashboard"),
    "notifier": ("claims", "dashboard"),
    "claims": ("dashboard",),
}  # what a package may never import


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def sources() -> dict[str, Path]:
    found = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    return found | {"scheduler": ROOT / "scheduler.py"}


def imports(name: str, path: Path) -> Iterator[str]:
    """The modules ``name`` imports: ``from pkg import sub`` is ``pkg.sub`` when ``sub`` is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base


def graph() -> dict[str, set[str]]:
    return {
        name: {m for m in imports(name, path) if m.split(".")[0] in OURS and m != name}
        for name, path in sources().items()
    }


def feature_of(name: str) -> str | None:
    return next((f for f in FEATURES if name == f or name.startswith(f + ".")), None)


def is_core(name: str) -> bool:
    return name.split(".")[0] == "tracker" and feature_of(name) is None


def forbidden(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported`` (``None``: it may)."""
    top = importer.split(".")[0]
    if top == "zelo":
        return None
    if imported.split(".")[0] == "zelo":
        return "only the composition root knows itself"
    if top == "carriers":
        return None if imported.startswith("carriers") else "carriers stand alone"
    if top == "scheduler" or is_core(importer):
        ok = imported.startswith("carriers") or is_core(imported)
        return None if ok else "the core knows no feature"
    if imported.split(".")[0] in ABOVE.get(top, ()):
        return f"{top} never imports {imported.split('.')[0]}"
    mine, theirs = feature_of(importer), feature_of(imported)
    if theirs is None or theirs == mine or imported == theirs:
        return None if imported.split(".")[0] != "scheduler" else "features do not know the scheduler"
    return f"{imported} is inside {theirs}: import its front door ({theirs}) instead"


def test_every_import_keeps_the_house_rules() -> None:
    broken = [
        f"{importer} -> {imported}: {why}"
        for importer, targets in sorted(graph().items())
        for imported in sorted(targets)
        if (why := forbidden(importer, imported))
    ]
    assert broken == []


def test_no_two_features_import_each_other() -> None:
    arrows = {
        (a, b)
        for importer, targets in graph().items()
        for imported in targets
        if (a := feature_of(importer)) and (b := feature_of(imported)) and a != b
    }
    assert sorted((a, b) for a, b in arrows if (b, a) in arrows) == []


def test_no_import_cycle_between_files() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [
        ("tracker.polling.outcomes", "tracker.detector", True),  # a front door
        ("tracker.polling.outcomes", "tracker.detector.rules", False),  # insides
        ("notifier.outbox", "tracker.signals", True),  # the core
        ("tracker.models", "tracker.detector", False),  # the core knows no feature
        ("tracker.ingest.api", "notifier", False),  # a layer above
        ("notifier.checkin", "claims", False),
        ("tracker.polling.poller", "scheduler", False),
        ("notifier.api", "zelo.features", False),
        ("carriers.correios.parse", "tracker.models", False),
        ("zelo.features", "notifier.api", True),
        ("dashboard.alerts", "tracker.detector", True),
        ("dashboard.alerts", "tracker.detector.lifecycle", False),
        ("claims.api", "dashboard", False),
    ],
)
def test_the_rules_themselves(importer: str, imported: str, allowed: bool) -> None:
    """The checker tells a front door from insides (so the test above can fail)."""
    assert (forbidden(importer, imported) is None) is allowed
