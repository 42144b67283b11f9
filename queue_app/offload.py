"""Run one CPU-bound call (a password hash) in a real OS thread, as the async mode needs.

Under eventlet or gevent every request shares one OS thread: a 60 ms scrypt hash on it stops
every other request, socket and pushed event for those 60 ms, and four wrong-password loops
were enough to slow every page from 10 ms to 590 ms.  Handing the call to an OS thread lets
the hub keep serving while the hash runs (scrypt releases the GIL).  Each async library has
its own pool for that (eventlet's ``tpool``, gevent's hub threadpool); under ``threading``
each request already has its own OS thread, so the call runs where it is.

Like ``serving.py``, this is one of the few places that know the async libraries exist; the
mode is ``[server] async_mode``, never chosen in code.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_cpu_bound(async_mode: str, func: Callable[..., T], *args) -> T:
    """``func(*args)`` in an OS thread for eventlet and gevent; a plain call under threading."""
    if async_mode == "eventlet":
        with warnings.catch_warnings():
            # Already imported (and its bug-fix-only notice shown) wherever eventlet serves.
            warnings.simplefilter("ignore")
            from eventlet import tpool

        return tpool.execute(func, *args)
    if async_mode == "gevent":
        import gevent

        return gevent.get_hub().threadpool.apply(func, args)
    return func(*args)
