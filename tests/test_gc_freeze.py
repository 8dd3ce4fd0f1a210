"""config.gc_freeze: a server's worker freezes what it has built after its first requests, so
full collections stop walking ~140,000 long-lived objects (docs/benchmarks.md)."""

from __future__ import annotations

import gc
import importlib
import itertools
import sys
import weakref

import pytest
from django.core.signals import request_finished

from config import gc_freeze


@pytest.fixture
def thawed():
    """Whatever a test freezes goes back to the collector afterwards."""
    yield
    gc.unfreeze()


def test_the_worker_freezes_after_the_chosen_requests_only(monkeypatch, thawed) -> None:
    monkeypatch.setattr(gc_freeze, "_served", itertools.count(1))
    monkeypatch.setattr(gc_freeze, "FREEZE_AFTER", frozenset({1, 3}))
    gc.unfreeze()
    frozen = []
    for _ in range(4):
        gc_freeze._after_request()
        frozen.append(gc.get_freeze_count())
        gc.unfreeze()  # so each step shows only its own freeze

    assert [count > 0 for count in frozen] == [True, False, True, False]


def test_garbage_is_collected_before_a_freeze(monkeypatch, thawed) -> None:
    # A cycle that is already garbage when the worker freezes would never be freed.
    monkeypatch.setattr(gc_freeze, "_served", itertools.count(1))
    monkeypatch.setattr(gc_freeze, "FREEZE_AFTER", frozenset({1}))
    gc.unfreeze()

    class Node:
        pass

    gc.disable()  # nothing but the hook may collect the cycle
    try:
        node = Node()
        node.me = node
        alive = weakref.ref(node)
        del node
        assert alive() is not None  # garbage, waiting for a collection
        gc_freeze._after_request()
        assert alive() is None
    finally:
        gc.enable()


def test_the_wsgi_application_installs_it() -> None:
    def installed() -> bool:
        return any(key[0] == "config.gc_freeze" for key, *_ in request_finished.receivers)

    if "config.wsgi" not in sys.modules:
        assert not installed()  # the test client's requests freeze nothing
    import config.wsgi

    try:
        importlib.reload(config.wsgi)  # as gunicorn loads it
        assert installed()
    finally:
        request_finished.disconnect(dispatch_uid="config.gc_freeze")
