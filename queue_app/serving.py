"""The one place that knows async libraries exist: prepare the configured async mode.

The rest of the code uses ``socketio.start_background_task`` and ``socketio.sleep`` and runs
unchanged under eventlet, gevent or plain threads.  Eventlet and gevent need the standard
library patched (sockets, threads, time) before the server starts, so that the database and
Redis clients yield instead of blocking every connection; which library is named by
``[server] async_mode``, never in code.
"""

from __future__ import annotations

import importlib
import warnings

_PATCHERS = {"eventlet": ("eventlet", "monkey_patch"), "gevent": ("gevent.monkey", "patch_all")}


def prepare_async_mode(mode: str) -> None:
    """Patch the standard library for ``mode`` (nothing to do for ``threading``)."""
    if mode not in _PATCHERS:
        return
    module_name, function = _PATCHERS[mode]
    with warnings.catch_warnings():
        # Eventlet announces its bug-fix-only status on import; the choice is the clinic's.
        warnings.simplefilter("ignore")
        module = importlib.import_module(module_name)
    getattr(module, function)()
