"""libs/svc/absent.py: a library looks absent inside the block only, and one already loaded is
left alone."""

from __future__ import annotations

import importlib
import sys

import pytest

from libs.svc.absent import absent


def test_a_module_not_yet_imported_cannot_be_imported_inside_and_can_after() -> None:
    name = "tomllib"
    sys.modules.pop(name, None)
    with absent(name), pytest.raises(ImportError):
        importlib.import_module(name)
    assert importlib.import_module(name).__name__ == name


def test_a_module_already_loaded_is_left_alone() -> None:
    import json

    with absent("json"):
        assert importlib.import_module("json") is json
    assert sys.modules["json"] is json


def test_the_module_is_importable_after_an_error_inside() -> None:
    sys.modules.pop("colorsys", None)
    with pytest.raises(RuntimeError), absent("colorsys"):
        raise RuntimeError("boom")
    assert importlib.import_module("colorsys").__name__ == "colorsys"
