"""Lazy public names: imported on first access, kept, listed; unknown names raise."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``lazypkg`` with an exported name, a submodule and a broken submodule."""
    root = tmp_path / "lazypkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        "from qualmodel.core.lazy import lazy_names\n"
        "_EXPORTS = {'answer': 'lazypkg.values'}\n"
        "__getattr__, __dir__ = lazy_names(__name__, _EXPORTS, submodules=True)\n"
    )
    (root / "values.py").write_text("answer = 42\n")
    (root / "other.py").write_text("x = 1\n")
    (root / "broken.py").write_text("import lazypkg_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]


def test_names_and_submodules_import_on_first_access(package):
    import lazypkg

    assert "lazypkg.values" not in sys.modules
    assert "answer" in dir(lazypkg)
    assert lazypkg.answer == 42 and "lazypkg.values" in sys.modules
    assert vars(lazypkg)["answer"] == 42  # kept: later lookups skip __getattr__
    assert lazypkg.other.x == 1
    with pytest.raises(AttributeError, match="'lazypkg' has no attribute 'nothing'"):
        getattr(lazypkg, "nothing")  # noqa: B009 - the attribute access is the test
    with pytest.raises(ModuleNotFoundError, match="lazypkg_missing_dependency"):
        getattr(lazypkg, "broken")  # noqa: B009 - a submodule's own failing import shows
