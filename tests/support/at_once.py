"""Several callers doing one thing at the same instant: threads released together by a barrier.

The races these tests look for (two kiosks, one number; one tap arriving twice; four
deliveries of one reply) only happen when the callers really overlap, so each waits at the
barrier after its own setup and before the act.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


def at_once(count: int, act: Callable[[int, Callable[[], None]], None], timeout: float = 60) -> None:
    """Run ``act(i, wait)`` in ``count`` threads; each calls ``wait()`` just before its act.

    Fails the test with what any of them raised, or when one is still running at ``timeout``.
    """
    together = threading.Barrier(count, timeout=timeout)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            act(i, together.wait)
        except BaseException as exc:  # noqa: BLE001 - reported below
            together.abort()
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads), "a caller was still running"
