"""Markers for a fast inner loop: `python -m pytest -m "not torch and not slow"`.

A test is marked `torch` when it uses PyTorch: its module calls require_torch() at import, or
its own code, or a test helper it calls, uses torch (require_torch, torch, verify, the torch
reference models, gradient probes). `slow` marks are written on the tests themselves.
"""

from __future__ import annotations

import functools
import inspect
import re

import pytest

USES_TORCH = re.compile(
    r"require_keras|keras_reference|keras_cases|require_torch|\btorch\b|\bverify\(|torch_reference|build_watched|zoo_torch|_by_gradients"
)
MODULE_NEEDS_TORCH = re.compile(r"^(\w+ = )?require_torch\(\)", re.M)


@functools.cache
def _source(thing) -> str:
    """The source of a function or module, read once (a parametrized test has one function for
    all its cases, and inspect.getsource tokenizes the file anew on every call)."""
    try:
        return inspect.getsource(thing)
    except (OSError, TypeError):
        return ""


@functools.cache
def uses_torch(function) -> bool:
    """The function's code, or a test helper it names (one level down), uses torch."""
    if USES_TORCH.search(_source(function)):
        return True
    helpers = (function.__globals__.get(name) for name in function.__code__.co_names)
    return any(
        inspect.isfunction(helper)
        and "tests" in (helper.__code__.co_filename or "")
        and USES_TORCH.search(_source(helper))
        for helper in helpers
    )


def pytest_collection_modifyitems(items) -> None:
    modules: dict[str, bool] = {}
    for item in items:
        function = getattr(item, "function", None)
        module = getattr(item, "module", None)
        if function is None or module is None:
            continue
        if module.__name__ not in modules:
            modules[module.__name__] = bool(MODULE_NEEDS_TORCH.search(_source(module)))
        if modules[module.__name__] or uses_torch(function):
            item.add_marker(pytest.mark.torch)
