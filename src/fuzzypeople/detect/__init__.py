"""Finding people. One module per detector, found automatically.

A detector module defines ``NAME``, ``KIND`` (``"body"`` or ``"face"``),
``HELP`` and ``load(threshold=None, **options)``, which returns a callable
``detector(rgb: HxWx3 uint8) -> People``. ``stack`` combines several into the
default recall-first stack. Adding a detector is adding a module here.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def _discover() -> dict[str, ModuleType]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "stack":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "load") and hasattr(module, "NAME"):
            found[module.NAME] = module
    return dict(sorted(found.items()))


DETECTORS: dict[str, ModuleType] = _discover()


def check(name: str) -> ModuleType:
    """The module of detector ``name``; a ValueError naming the choices if there is none.

    >>> check("centerface").NAME
    'centerface'
    """
    try:
        return DETECTORS[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; choose from {', '.join(DETECTORS)}") from None


def load(name: str, **options):
    """Load detector ``name`` (see :data:`DETECTORS`) with its options."""
    return check(name).load(**options)
