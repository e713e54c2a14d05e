"""The app factory: a broken editor import stops the server at start instead of silently dropping the UI."""
from __future__ import annotations

import builtins

import pytest

from tests.server.conftest import make_app


def test_a_broken_editor_import_is_raised_not_swallowed(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name == "editor_ui" or name.startswith("editor_ui."):
            raise ImportError("editor_ui is broken (test)")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    with pytest.raises(ImportError, match="editor_ui is broken"):
        make_app(tmp_path / "data", f"sqlite:///{tmp_path / 'rulecraft.db'}")


def test_the_editor_is_registered(tmp_path):
    app = make_app(tmp_path / "data", f"sqlite:///{tmp_path / 'rulecraft.db'}")
    assert any(rule.endpoint.startswith("editor") for rule in app.url_map.iter_rules())
