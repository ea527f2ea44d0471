"""The import rules of the layout: core/nn imports nothing from core/engine or core/tools,
core/engine nothing from core/tools, core never imports a domain, and no domain imports another.

Checked twice: on the source (every import statement, function-level ones included) and by
importing each core subpackage alone in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = ("nlp", "speech", "vision")


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Absolute names of every module ``path`` (or ``source`` placed there) imports."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from core import nn` is core.nn
            names.add(base)
    return names


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def forbidden(path: Path) -> list[str]:
    """What ``path`` must not import, by where it lives."""
    parts = path.relative_to(ROOT).parts
    if parts[0] in DOMAINS:
        return [d for d in DOMAINS if d != parts[0]]
    rules = list(DOMAINS)
    if parts[:2] in (("core", "nn"), ("core", "errors.py")):
        rules += ["core.engine", "core.tools"]
    elif parts[:2] == ("core", "engine"):
        rules += ["core.tools"]
    return rules


def _sources() -> list[Path]:
    return sorted(p for top in ("core", *DOMAINS) for p in (ROOT / top).rglob("*.py"))


def test_the_sources_follow_the_import_rules():
    broken = []
    for path in _sources():
        imports = imported_modules(path)
        for package in forbidden(path):
            broken += [
                f"{path.relative_to(ROOT)} imports {name}"
                for name in sorted(imports)
                if _within(name, package)
            ]
    assert not broken, "\n".join(broken)


def test_the_checker_sees_late_and_relative_imports():
    place = ROOT / "core" / "nn" / "x.py"  # only its place in the tree matters; nothing is written
    names = imported_modules(
        place, "def late():\n    from core.engine import run\n    from ..tools import cli\n"
    )
    assert any(_within(n, "core.engine") for n in names) and "core.tools.cli" in names
    assert {"core.engine", "core.tools"} <= set(forbidden(place))
    assert forbidden(ROOT / "nlp" / "data.py") == ["speech", "vision"]


@pytest.mark.parametrize(
    "package, absent",
    [
        ("core.nn", ("core.engine", "core.tools", *DOMAINS)),
        ("core.engine", ("core.tools", *DOMAINS)),
        ("core.tools", DOMAINS),
    ],
)
def test_each_core_subpackage_imports_alone(package, absent):
    """Import every module of ``package`` in a fresh interpreter; none of ``absent`` may load."""
    script = (
        f"import importlib, pkgutil, sys\nimport {package} as p\n"
        "for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        f"loaded = sorted(n for n in sys.modules if n.split('.')[0] in {DOMAINS!r} or "
        f"any(n == a or n.startswith(a + '.') for a in {absent!r}))\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing {package} loaded {result.stdout.strip()}"
