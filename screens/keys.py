"""Every key binding the app declares, by id: the keymap setting is checked against it."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from textual.binding import Binding
from textual.dom import DOMNode

import screens
import widgets


def declared_bindings() -> list[tuple[type, Binding]]:
    """(class, binding) for every Binding in the BINDINGS of our screens, widgets and the app."""
    from stron_tui.app import StronApp

    found: list[tuple[type, Binding]] = []
    seen: set[type] = set()
    classes: list[type] = [StronApp]
    for package in (screens, widgets):
        for module_info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(module_info.name)
            classes += [value for value in vars(module).values()
                        if isinstance(value, type) and issubclass(value, DOMNode) and value.__module__ == module.__name__]
    for cls in classes:
        if cls in seen:
            continue
        seen.add(cls)
        found += [(cls, binding) for binding in cls.__dict__.get("BINDINGS", []) if isinstance(binding, Binding)]
    return found


@cache
def all_binding_ids() -> frozenset[str]:
    return frozenset(binding.id for _cls, binding in declared_bindings() if binding.id)
