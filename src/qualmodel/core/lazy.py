"""Public names of a package imported on first access (PEP 562 ``__getattr__``).

``import qualmodel`` and ``from qualmodel import report`` stay fast: a name's module is
imported when the name is first used, then the name is kept in the package's namespace.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, exports: Mapping[str, str], *, submodules: bool = False
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the ``__getattr__`` and ``__dir__`` of a package with lazy public names.

    Call it in the package's ``__init__``:
    ``__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)``.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (its module must already be in ``sys.modules``).
    exports : mapping of str to str
        Public name → module that defines it.
    submodules : bool, default False
        Also resolve ``package.<name>`` to the submodule ``<name>`` (``report.runner``).

    Returns
    -------
    (__getattr__, __dir__)
        ``__getattr__(name)`` raises ``AttributeError`` for a name that is neither exported
        nor (with ``submodules``) a submodule; ``__dir__()`` lists the namespace and the
        exported names.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            if submodules:
                try:
                    return importlib.import_module(f"{package}.{name}")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{package}.{name}":
                        raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
