"""The layers hold: the import-linter contracts in pyproject.toml, and no door takes a service's private name.

The contracts are run with the installed `lint-imports` (a fresh import graph each time, no cache), on
this checkout, and once on a copy with a forbidden import planted, so the check is seen to fail.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("stron_tui", "screens", "widgets", "tokencore")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} is missing: install the dev extra (pip install -e '.[dev]')")
    env = dict(os.environ, PYTHONPATH=str(project))
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(project / "pyproject.toml")],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)


def test_every_layer_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    # Each contract was read and checked (a contract lost from pyproject.toml would pass silently).
    for name in ("Layers:", "reach the database only through services", "Widgets know no services",
                 "Exports write files from plain values", "tokencore imports nothing of ours",
                 "Domain values know no database"):
        assert f"{name}" in result.stdout and "KEPT" in result.stdout.split(name, 1)[1].splitlines()[0]


PLANTED = [  # (module, forbidden import, the contract it breaks)
    ("widgets/planted.py", "from stron_tui.services import auth", "Widgets know no services"),
    ("stron_tui/ssh/planted.py", "from stron_tui.db.models import User", "reach the database only through services"),
    ("stron_tui/api/planted.py", "from sqlalchemy import select", "reach the database only through services"),
    ("stron_tui/exports/planted.py", "from stron_tui.services.receipts import find_receipt",
     "Exports write files from plain values"),
    ("tokencore/planted.py", "from stron_tui.money import money_text", "tokencore imports nothing of ours"),
    ("stron_tui/services/planted.py", "from screens.menu import MainMenuScreen", "Layers:"),
    ("stron_tui/domain/planted.py", "from stron_tui.db.models import User", "Domain values know no database"),
]


def test_a_forbidden_import_breaks_its_contract(tmp_path):
    """On a copy of the packages with one forbidden import planted per contract, each contract fails
    and names the planted import."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "fonts"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for module, line, _contract in PLANTED:
        (tmp_path / module).write_text(line + "\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    for module, line, contract in PLANTED:
        assert contract in result.stdout, contract
        assert "BROKEN" in result.stdout.split(contract, 1)[1].splitlines()[0], contract
        planted = ".".join(Path(module).with_suffix("").parts)
        assert planted in result.stdout, planted


def _service_module_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> services module, for `from stron_tui.services import x` and `import ... as y`."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stron_tui.services"):
            for alias in node.names:
                if (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").exists():
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("stron_tui.services.") and alias.asname:
                    names[alias.asname] = alias.name
    return names


def private_names_taken(source: str, own: str) -> list[str]:
    """The private names (`_x`) of another module under stron_tui.services that the module `own` imports
    or reads."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stron_tui.services"):
            found += [f"{node.lineno}: {node.module}.{alias.name}" for alias in node.names
                      if alias.name.startswith("_") and node.module != own]
    modules = _service_module_names(tree)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__") and modules[node.value.id] != own):
            found.append(f"{node.lineno}: {modules[node.value.id]}.{node.attr}")
    return found


def test_no_module_takes_a_private_name_of_a_service():
    """A name a service keeps private may change without notice: screens, the API, the SSH server and
    the other services use its public ones."""
    taken = {}
    for package in ("stron_tui", "screens", "widgets"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            found = private_names_taken(path.read_text(encoding="utf-8"),
                                        ".".join(path.relative_to(ROOT).with_suffix("").parts))
            if found:
                taken[str(path.relative_to(ROOT))] = found
    assert taken == {}


def test_the_private_name_check_sees_both_spellings():
    source = ("from stron_tui.services.vending import _SALE_FACTS\n"
              "from stron_tui.services import vending\n\nvending._payment_in\n")
    found = private_names_taken(source, "screens.planted")
    assert private_names_taken(source, "stron_tui.services.vending") == []  # its own names
    assert found == ["1: stron_tui.services.vending._SALE_FACTS", "4: stron_tui.services.vending._payment_in"]
