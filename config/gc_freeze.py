"""Fewer, shorter pauses of Python's cycle collector in a long-lived worker.

A gunicorn worker holds ~140,000 long-lived objects (Django, the app's modules, URL patterns,
compiled templates, model metadata) that never become garbage. Python's full collection walks
every one of them: at 1M contacts, in a process that had served every page once, the two full
collections in 140 requests took 77-103 ms each, a pause in whichever request was running --
the p99 of the pages they fell on (docs/benchmarks.md, "Garbage collection").

`gc.freeze()` moves every object the collector tracks into a permanent generation it no longer
walks; objects that die by reference count are still freed. Frozen after the worker has served
its first pages, so that what they build lazily (templates, resolvers, caches) is frozen too,
full collections took 8-10 ms. Frozen only when the app is loaded, as session 8 tried, they ran
three times as often: the lazily built objects were left to walk, and each freeze shrank the
count that spaces full collections out.

Each freeze follows a full collection, so nothing already garbage is frozen (a frozen cycle is
never collected). It happens after requests 1, 10, 100 and 1,000 of the worker, when the
response has been sent (`request_finished`), a few full collections early in a worker's life.
What is still alive then and later dies in a cycle is never freed: the request being finished
and, with gunicorn's threads, those in flight (each request is a cycle: request.user's lazy
object refers back to the request; one task list request left ~700 such objects). That is at
most four freezes times four threads' requests per worker, once. Health checks count as
requests: a freeze after one of them catches less, and the next one the rest.
"""

from __future__ import annotations

import gc
import itertools
import threading
from typing import Any

from django.core.signals import request_finished

# After these requests of a worker: the pages a worker meets early build most of what it keeps.
FREEZE_AFTER = frozenset({1, 10, 100, 1_000})

_served = itertools.count(1)
_lock = threading.Lock()


def _after_request(**_: Any) -> None:
    if next(_served) in FREEZE_AFTER:
        with _lock:
            gc.collect()
            gc.freeze()


def install() -> None:
    """Called by config.wsgi: a server's workers only, not tests or management commands."""
    request_finished.connect(_after_request, dispatch_uid="config.gc_freeze")
