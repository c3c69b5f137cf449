"""Pausing Python's cycle collector while a large structure is built.

Reading and planning a spec make many small objects that live to the end (nodes, layers,
results) and few cycles. With the collector on, each collection walks every object still
alive, and a 100,000-layer spec spent more than half its time there.
The command line, a short-lived process, may keep it off for the whole run (see cli.py).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def paused():
    """The collector off inside the block, back on after it if it was on before."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
