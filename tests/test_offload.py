"""A password hash runs in an OS thread of its own under eventlet and gevent, in place under threading."""

from __future__ import annotations

import threading

import pytest

from queue_app.offload import run_cpu_bound


def test_under_eventlet_the_call_runs_in_another_os_thread():
    assert run_cpu_bound("eventlet", threading.get_native_id) != threading.get_native_id()


def test_under_eventlet_the_answer_and_the_arguments_come_through():
    assert run_cpu_bound("eventlet", divmod, 17, 5) == (3, 2)


def test_under_gevent_the_call_runs_in_another_os_thread():
    pytest.importorskip("gevent")
    assert run_cpu_bound("gevent", threading.get_native_id) != threading.get_native_id()


def test_under_threading_the_request_thread_itself_hashes():
    assert run_cpu_bound("threading", threading.get_native_id) == threading.get_native_id()
