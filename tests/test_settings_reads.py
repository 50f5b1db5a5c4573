"""Every STRON_* variable is read by stron_tui/settings.py and nowhere else in the product."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("stron_tui", "screens", "widgets", "tokencore")
SETTINGS_MODULE = ROOT / "stron_tui" / "settings.py"
# Not settings: the number of a pipe one of our processes hands to the child it starts (ssh/session.py,
# ssh/prefork.py, ssh/holder.py). Read once and removed from the environment at start-up.
PROCESS_PLUMBING = {"STRON_SSH_HANDOFF_FD", "STRON_SSH_TEMPLATE_FD", "STRON_SESSION_REPORT_FD"}


def _product_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _stron_constants(files: list[Path]) -> dict[str, str]:
    """Module-level NAME = "STRON_..." constants, so a read through a constant is caught too."""
    constants = {}
    for path in files:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str) and node.value.value.startswith("STRON_"):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        constants[target.id] = node.value.value
    return constants


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or \
        (isinstance(node, ast.Name) and node.id == "environ")


def _variable(node: ast.AST, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("STRON_"):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Attribute):
        return constants.get(node.attr)
    return None


def environment_reads(path: Path, constants: dict[str, str]) -> list[tuple[int, str]]:
    """(line, variable) for each os.environ / getenv read of a STRON_* name in one file."""
    reads = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        key = None
        if isinstance(node, ast.Call) and node.args:
            function = node.func
            if isinstance(function, ast.Attribute) and _is_environ(function.value) \
                    and function.attr in {"get", "pop", "setdefault", "__getitem__"}:
                key = node.args[0]
            elif (isinstance(function, ast.Attribute) and function.attr == "getenv") or \
                    (isinstance(function, ast.Name) and function.id == "getenv"):
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and _is_environ(node.value) and isinstance(node.ctx, ast.Load):
            key = node.slice
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            key = node.left
        variable = _variable(key, constants) if key is not None else None
        if variable is not None:
            reads.append((node.lineno, variable))
    return reads


def test_no_stron_variable_is_read_outside_the_settings_module():
    files = _product_files()
    constants = _stron_constants(files)
    found = []
    for path in files:
        if path == SETTINGS_MODULE:
            continue
        for line, variable in environment_reads(path, constants):
            if variable not in PROCESS_PLUMBING:
                found.append(f"{path.relative_to(ROOT)}:{line} reads {variable}")
    assert not found, "read these through stron_tui.settings.Settings instead:\n" + "\n".join(found)


def test_the_check_finds_a_read_when_there_is_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('import os\nfrom os import environ, getenv\nNAME = "STRON_X"\n'
                      'a = os.environ.get("STRON_A")\nb = os.environ["STRON_B"]\nc = getenv("STRON_C")\n'
                      'd = environ.pop(NAME)\ne = "STRON_E" in os.environ\nf = os.environ.get("LANG")\n')
    reads = environment_reads(sample, _stron_constants([sample]))
    assert [variable for _, variable in sorted(reads)] == ["STRON_A", "STRON_B", "STRON_C", "STRON_X", "STRON_E"]
