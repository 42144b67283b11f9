"""The estimator's simulation runs in C give what its Python loop gives, to the last bit.

``queue_app/_simulation.c`` copies the loop of ``WaitEstimator.forecast`` for speed; a
clinic installed without a compiler runs the Python loop.  Both must give every patient the
same estimate, keep the same first estimates for the calibration, and leave each room's
random numbers where the other does (a newcomer carried on, a walk-in looked at, draws on
from there).  Compared here on many random clinics: hours with and without a lunch break,
asked before opening, in the break and after it; rooms busy, idle, paused, serving one line
or two; urgent patients, patients who leave, a line nobody waits in.
"""

from __future__ import annotations

import copy
import os
import random
from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from queue_app import estimate
from queue_app.estimate import EstimatorSettings, OpeningHours, PastVisit, RoomNow, WaitEstimator, WaitingTicket

TZ = ZoneInfo("Asia/Seoul")
SERVICES = ("general", "pediatrics", "vaccination")

if estimate._compiled_runs is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("the estimator's C part (queue_app/_simulation.c) was not built: `make` builds it")
    pytest.skip(
        "the estimator's C part is not built here (no compiler at install): the Python loop runs alone",
        allow_module_level=True,
    )


def learned(rng: random.Random, breaks: bool) -> WaitEstimator:
    """An estimator that has learned a few hundred random visits, each estimated at its check-in
    (so that the ranges are calibrated, widened or narrowed, as in a clinic after a while)."""
    hours = OpeningHours(TZ, time(9), time(18), ((time(13), time(14)),) if breaks else ())
    est = WaitEstimator(EstimatorSettings(hours, {"general": 8, "pediatrics": 10, "vaccination": 4}))
    moment = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
    for _ in range(rng.randrange(0, 150)):
        service = rng.choice(SERVICES)
        room = {"general": "room1", "pediatrics": "room3", "vaccination": "room4"}[service]
        called = moment + timedelta(minutes=rng.uniform(0, 40))
        ended = called + timedelta(minutes=rng.expovariate(1 / 8))
        outcome = rng.choices(("served", "no_show", "left"), (90, 5, 5))[0]
        est.estimate(moment, [WaitingTicket("v", service, moment)], [RoomNow(room, (service,))])
        est.learn(
            PastVisit(
                service=service,
                room=None if outcome == "left" else room,
                checked_in_at=moment,
                called_at=None if outcome == "left" else called,
                finished_at=ended if outcome == "served" else None,
                outcome=outcome,
                ended_at=ended,
            )
        )
        moment += timedelta(minutes=rng.uniform(0.2, 4))
    return est


def clinic_now(rng: random.Random, now: datetime) -> tuple[list[WaitingTicket], list[RoomNow]]:
    """A random queue and rooms at ``now``."""
    lines = rng.sample(SERVICES, rng.randrange(1, 4))
    waiting = [
        WaitingTicket(
            str(k),
            rng.choice(lines),
            now - timedelta(minutes=rng.uniform(0, 120)),
            rng.choice((0, 1, 2, 2, 2, 2)),
        )
        for k in range(rng.choice((1, 2, 7, 40, 150, 600)))
    ]
    waiting.sort(key=lambda t: (t.priority, t.checked_in_at))

    def busy() -> dict:
        if rng.random() < 0.5:
            return {}
        return {"serving_since": now - timedelta(minutes=rng.uniform(0, 30)), "serving_service": lines[0]}

    rooms = [
        RoomNow("room1", ("general",), open=rng.random() < 0.9, **busy()),
        RoomNow("room2", ("general", "pediatrics"), open=rng.random() < 0.8, **busy()),
        RoomNow("room3", ("pediatrics",), open=rng.random() < 0.8, **busy()),
        RoomNow("room4", ("vaccination",), open=rng.random() < 0.7),
    ]
    return waiting, rng.sample(rooms, rng.randrange(1, 5))


def everything_a_forecast_gives(est: WaitEstimator, now: datetime, waiting, rooms, compiled, monkeypatch) -> tuple:
    """Estimates, first estimates kept, a newcomer carried on, walk-ins looked at (C or Python)."""
    monkeypatch.setattr(estimate, "_compiled_runs", compiled)
    forecast = est.forecast(now, waiting, rooms, SERVICES)
    estimates = dict(forecast.estimates)
    later = now + timedelta(seconds=30)
    newcomer = forecast.extend(WaitingTicket("new", waiting[-1].service, later), later)
    looks = [forecast.peek(service, later) for service in SERVICES]
    free = [list(f) for _, _, f in forecast.ends]
    return estimates, dict(est._pending), newcomer, looks, free


@pytest.mark.parametrize("seed", range(24))
def test_the_runs_in_c_give_what_the_python_loop_gives(seed, monkeypatch):
    rng = random.Random(seed)
    breaks = rng.random() < 0.7
    hour, minute = rng.choice(((8, 10), (9, 5), (11, 40), (12, 55), (13, 20), (15, 0), (17, 50), (21, 0)))
    now = datetime(2026, 12, 1, hour, minute, tzinfo=TZ)
    waiting, rooms = clinic_now(rng, now)
    clinic = learned(random.Random(seed), breaks)
    compiled = everything_a_forecast_gives(
        copy.deepcopy(clinic), now, waiting, rooms, estimate._compiled_runs, monkeypatch
    )
    python = everything_a_forecast_gives(copy.deepcopy(clinic), now, waiting, rooms, None, monkeypatch)
    assert compiled[0] == python[0]  # every patient's estimate
    assert compiled[1] == python[1]  # the first estimates kept for the calibration
    assert compiled[2:] == python[2:]  # the runs carried on: a newcomer, walk-ins, when rooms are free
    assert len(compiled[0]) == len(waiting)


@pytest.mark.parametrize("clinic_seed", [0, 1, 2**32 - 1, 2**32, 2**80 + 7, 2**2100 + 3])
def test_the_c_runs_seed_each_room_as_python_does_whatever_the_clinics_seed(clinic_seed, monkeypatch):
    """C seeds each room's twister from its seed, as ``random.seed`` does, and skips the words
    the first calls drew: a seed of one 32-bit word, of several, and of none (zero) alike."""
    rng = random.Random(clinic_seed % 1000)
    now = datetime(2026, 12, 1, 10, 30, tzinfo=TZ)
    waiting, rooms = clinic_now(rng, now)
    clinic = learned(random.Random(7), False)
    clinic.settings = replace(clinic.settings, seed=clinic_seed)
    compiled = everything_a_forecast_gives(
        copy.deepcopy(clinic), now, waiting, rooms, estimate._compiled_runs, monkeypatch
    )
    python = everything_a_forecast_gives(copy.deepcopy(clinic), now, waiting, rooms, None, monkeypatch)
    assert compiled == python


def test_the_clinics_compared_have_calibrated_ranges():
    """The comparison covers ranges widened by the calibration, not only raw deciles."""
    shifted = [learned(random.Random(seed), True)._shifts(1) for seed in range(24)]
    assert sum(shift != (0.0, 0.0) for shift in shifted) >= 8


def test_the_c_runs_refuse_inputs_that_do_not_fit_rather_than_read_past_them():
    """A line naming a ticket that is not there is an error, not a read of stray memory."""
    state = random.Random(1).getstate()[1]
    with pytest.raises(ValueError):
        estimate._compiled_runs(
            0.0, [[state]], [[1.0]], [[0]], [[5]], [2], [0.0], [0.0], [[1.0]], [0.0],
            [[1.0]], [[8.0]], [[1.0]], [[]], [], [], 0.0, 0.0, (2.0, 20.0), [0.0] * 6,
        )  # fmt: skip


def test_ties_are_broken_as_the_python_loop_breaks_them(monkeypatch):
    """Before opening every idle room first calls at opening time, and patients who checked in
    at the same instant stand in the order given: the room first in the list calls first,
    the patient first in the list is called first, in both."""
    now = datetime(2026, 12, 1, 7, 0, tzinfo=TZ)
    same = now - timedelta(minutes=5)
    waiting = [WaitingTicket(str(k), ("general", "pediatrics")[k % 2], same) for k in range(30)]
    rooms = [
        RoomNow("room2", ("general", "pediatrics")),
        RoomNow("room1", ("general",)),
        RoomNow("room3", ("pediatrics",)),
    ]
    hours = OpeningHours(TZ, time(9), time(18), ((time(13), time(14)),))
    clinic = WaitEstimator(EstimatorSettings(hours, {"general": 8, "pediatrics": 10}))
    compiled = everything_a_forecast_gives(
        copy.deepcopy(clinic), now, waiting, rooms, estimate._compiled_runs, monkeypatch
    )
    python = everything_a_forecast_gives(copy.deepcopy(clinic), now, waiting, rooms, None, monkeypatch)
    assert compiled == python
