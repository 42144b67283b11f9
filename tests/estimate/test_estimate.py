"""The wait estimator on hand-made histories where the right answer is known."""

from __future__ import annotations

import random
import time as _time
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from queue_app.estimate import (
    PRIORITY_URGENT,
    EstimatorSettings,
    OpeningHours,
    PastVisit,
    RoomNow,
    WaitEstimator,
    WaitingTicket,
)

SEOUL = ZoneInfo("Asia/Seoul")


def settings(**overrides) -> EstimatorSettings:
    hours = OpeningHours(SEOUL, time(9), time(18), ((time(13), time(14)),))
    return EstimatorSettings(
        hours=hours, default_minutes={"general": 8.0, "pediatrics": 10.0, "vaccination": 4.0}, **overrides
    )


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment in March 2026 in Seoul (2 March is a Monday)."""
    return datetime(2026, 3, day, hour, minute, second, tzinfo=SEOUL)


def warm(estimator, lengths, service="general", room="R1", days=(2, 3, 4), per_day=20) -> None:
    """Mornings of back-to-back consultations in one room, everyone checked in before 09:00.

    ``lengths`` is cycled through; each call comes the moment the last patient leaves, so the
    room is never idle while someone waits.
    """
    lengths = list(lengths)
    n = 0
    for day in days:
        called = at(day, 9)
        for k in range(per_day):
            minutes = lengths[n % len(lengths)]
            n += 1
            finished = called + timedelta(minutes=minutes)
            checked = at(day, 8, 40) + timedelta(seconds=30 * k)
            estimator.learn(PastVisit(service, room, checked, called, finished, "served", finished))
            called = finished


def start_day(estimator, day=5, service="general", room="R1", end=(10, 0), minutes=10):
    """One visit today in ``room`` that ended at ``end``: the room is at work and free since."""
    finished = at(day, *end)
    called = finished - timedelta(minutes=minutes)
    estimator.learn(PastVisit(service, room, called - timedelta(minutes=5), called, finished, "served", finished))


def line(now, n, service="general", first=1, step=1.0):
    """``n`` walk-ins who checked in before ``now``, a minute apart, in queue order."""
    return [WaitingTicket(f"{service}-{first + k}", service, now - timedelta(minutes=step * (n - k))) for k in range(n)]


def minutes(estimates, tickets):
    return [round(estimates[t.id].minutes, 6) for t in tickets]


# -- known answers -------------------------------------------------------------------------


def test_one_room_fixed_lengths_gives_exact_waits():
    estimator = WaitEstimator(settings())
    warm(estimator, [10])
    start_day(estimator)
    now = at(5, 10)
    waiting = line(now, 4)
    estimates = estimator.estimate(now, waiting, [RoomNow("R1", ("general",))])
    assert minutes(estimates, waiting) == [0, 10, 20, 30]
    # No spread in what was learned: the range is the point.
    for ticket in waiting:
        e = estimates[ticket.id]
        assert e.low == pytest.approx(e.minutes) and e.high == pytest.approx(e.minutes)


def test_consultation_in_progress_counts_its_remaining_time():
    estimator = WaitEstimator(settings())
    warm(estimator, [10])
    start_day(estimator)
    now = at(5, 10, 4)
    waiting = line(now, 3)
    room = RoomNow("R1", ("general",), serving_since=at(5, 10), serving_service="general")
    estimates = estimator.estimate(now, waiting, [room])
    assert minutes(estimates, waiting) == [6, 16, 26]


def test_two_rooms_share_one_line_first_come_first_served():
    estimator = WaitEstimator(settings())
    warm(estimator, [10], room="R1")
    warm(estimator, [10], room="R2", days=(2, 3, 4))
    start_day(estimator, room="R1")
    start_day(estimator, room="R2")
    now = at(5, 10)
    waiting = line(now, 5)
    rooms = [RoomNow("R1", ("general",)), RoomNow("R2", ("general",))]
    assert minutes(estimator.estimate(now, waiting, rooms), waiting) == [0, 0, 10, 10, 20]


def test_priority_decides_between_services_sharing_a_room():
    estimator = WaitEstimator(settings())
    warm(estimator, [10], service="general")
    warm(estimator, [10], service="pediatrics")
    start_day(estimator)
    now = at(5, 10)
    walk_in = WaitingTicket("a", "general", now - timedelta(minutes=10))
    urgent = WaitingTicket("b", "pediatrics", now - timedelta(minutes=1), priority=PRIORITY_URGENT)
    later = WaitingTicket("c", "pediatrics", now - timedelta(minutes=5))
    room = RoomNow("R1", ("general", "pediatrics"))
    estimates = estimator.estimate(now, [walk_in, urgent, later], [room])
    assert estimates["b"].minutes == 0  # urgent first, though last to arrive
    assert estimates["a"].minutes == 10  # then the earliest check-in of either service
    assert estimates["c"].minutes == 20


def test_heavy_tailed_lengths_use_the_conditional_remaining_time():
    # Four in five consultations take 5 minutes, one in five 40 (mean 12).  A patient 10
    # minutes in is one of the long ones: 30 more minutes, not "12 - 10 = 2".
    estimator = WaitEstimator(settings())
    warm(estimator, [5, 5, 5, 5, 40], days=(2, 3, 4, 5, 6, 9), per_day=10)
    start_day(estimator, day=10)
    now = at(10, 10, 10)
    room = RoomNow("R1", ("general",), serving_since=at(10, 10), serving_service="general")
    waiting = line(now, 1)
    assert 20 < estimator.estimate(now, waiting, [room])[waiting[0].id].minutes < 40
    # Two minutes in, most likely it is a short one.
    now = at(10, 10, 2)
    room = RoomNow("R1", ("general",), serving_since=at(10, 10), serving_service="general")
    waiting = line(now, 1)
    assert estimator.estimate(now, waiting, [room])[waiting[0].id].minutes < 6


# -- what moves the estimate ---------------------------------------------------------------


def test_range_widens_when_lengths_vary_more():
    rng = random.Random(7)
    steady, shaky = WaitEstimator(settings()), WaitEstimator(settings())
    warm(steady, [rng.uniform(9, 11) for _ in range(60)])
    warm(shaky, [rng.choice([2, 4, 10, 16, 18]) for _ in range(60)])
    now = at(5, 10)
    waiting = line(now, 6)
    widths = []
    for estimator in (steady, shaky):
        start_day(estimator)
        estimates = estimator.estimate(now, waiting, [RoomNow("R1", ("general",))])
        last = estimates[waiting[-1].id]
        assert last.low <= last.minutes <= last.high
        widths.append(last.high - last.low)
    assert widths[1] > 2 * widths[0]


def test_paused_room_serves_nobody():
    estimator = WaitEstimator(settings())
    for room in ("R1", "R2"):
        warm(estimator, [10], room=room)
        start_day(estimator, room=room)
    now = at(5, 10)
    waiting = line(now, 4)
    both = [RoomNow("R1", ("general",)), RoomNow("R2", ("general",))]
    one = [RoomNow("R1", ("general",)), RoomNow("R2", ("general",), open=False)]
    open_both = minutes(estimator.estimate(now, waiting, both), waiting)
    one_paused = minutes(estimator.estimate(now, waiting, one), waiting)
    assert open_both == [0, 0, 10, 10]
    assert one_paused == [0, 10, 20, 30]


def test_only_paused_rooms_still_give_an_estimate_later_than_now():
    estimator = WaitEstimator(settings())
    warm(estimator, [10])
    start_day(estimator)
    now = at(5, 10)
    waiting = line(now, 2)
    estimates = estimator.estimate(now, waiting, [RoomNow("R1", ("general",), open=False)])
    assert estimates[waiting[0].id].minutes > 0
    assert estimates[waiting[1].id].minutes > estimates[waiting[0].id].minutes


def test_lunch_break_adds_its_length_when_the_call_would_fall_in_it():
    estimator = WaitEstimator(settings())
    warm(estimator, [10])
    start_day(estimator, end=(12, 40))
    now = at(5, 12, 40)
    waiting = line(now, 3)
    estimates = estimator.estimate(now, waiting, [RoomNow("R1", ("general",))])
    # Calls at 12:40 and 12:50; the third would be at 13:00, in the break: 14:00.
    assert minutes(estimates, waiting) == [0, 10, 80]


def test_nobody_is_called_before_opening():
    estimator = WaitEstimator(settings())
    warm(estimator, [10])
    now = at(5, 8, 45)
    waiting = line(now, 2)
    estimates = estimator.estimate(now, waiting, [RoomNow("R1", ("general",))])
    assert minutes(estimates, waiting) == [15, 25]


def test_late_starts_are_learned():
    estimator = WaitEstimator(settings())
    # Every morning the doctor starts at 09:20 although patients are waiting from 08:40.
    for day in (2, 3, 4, 5, 6):
        called = at(day, 9, 20)
        for k in range(12):
            finished = called + timedelta(minutes=10)
            checked = at(day, 8, 40) + timedelta(minutes=k)
            estimator.learn(PastVisit("general", "R1", checked, called, finished, "served", finished))
            called = finished
    now = at(9, 8, 50)
    waiting = line(now, 2)
    estimates = estimator.estimate(now, waiting, [RoomNow("R1", ("general",))])
    assert minutes(estimates, waiting) == [30, 40]


def test_people_who_leave_or_do_not_answer_shorten_the_wait_behind_them():
    def learned(outcomes) -> WaitEstimator:
        estimator = WaitEstimator(settings())
        called = at(2, 9)
        for k, outcome in enumerate(outcomes):
            checked = at(2, 8, 40) + timedelta(seconds=20 * k)
            if outcome == "left":
                estimator.learn(PastVisit("general", None, checked, None, None, "left", called))
                continue
            if outcome == "no_show":
                ended = called + timedelta(minutes=1)
                estimator.learn(PastVisit("general", "R1", checked, called, None, "no_show", ended))
            else:
                ended = called + timedelta(minutes=10)
                estimator.learn(PastVisit("general", "R1", checked, called, ended, "served", ended))
            called = ended
        start_day(estimator)
        return estimator

    reliable = learned(["served"] * 60)
    flaky = learned(["served", "left", "no_show"] * 30)
    now = at(5, 10)
    waiting = line(now, 8, step=5)
    room = [RoomNow("R1", ("general",))]
    last = waiting[-1].id
    assert flaky.estimate(now, waiting, room)[last].minutes < 0.8 * reliable.estimate(now, waiting, room)[last].minutes


def test_a_faster_room_is_learned_per_room():
    estimator = WaitEstimator(settings())
    warm(estimator, [6], room="R1", days=(5,), per_day=12)
    warm(estimator, [14], room="R2", days=(5,), per_day=12)
    now = at(5, 11, 0)
    for room in ("R1", "R2"):
        start_day(estimator, room=room, end=(11, 0), minutes=6 if room == "R1" else 14)
    waiting = line(now, 3)
    fast = estimator.estimate(now, waiting, [RoomNow("R1", ("general",))])[waiting[-1].id].minutes
    slow = estimator.estimate(now, waiting, [RoomNow("R2", ("general",))])[waiting[-1].id].minutes
    # Ignoring rooms, both would be two consultations of the service's 10 minutes: 20.
    assert fast < 17 and slow > 23


# -- cold start and unknowns ---------------------------------------------------------------


def test_cold_start_uses_default_minutes():
    estimator = WaitEstimator(settings())
    now = at(5, 10)
    vacc = line(now, 6, service="vaccination")
    general = line(now, 6, service="general")
    rooms = [RoomNow("V1", ("vaccination",)), RoomNow("G1", ("general",))]
    estimates = estimator.estimate(now, vacc + general, rooms)
    # Five people ahead: about 5 x 4 minutes and 5 x 8 minutes (a median of skewed lengths).
    assert 10 < estimates[vacc[-1].id].minutes < 25
    assert 25 < estimates[general[-1].id].minutes < 45


def test_unknown_service_without_rooms_gets_fallback_minutes():
    estimator = WaitEstimator(settings(fallback_minutes=12.0))
    now = at(5, 10)
    waiting = line(now, 3, service="dermatology")
    estimates = estimator.estimate(now, waiting, [RoomNow("X9", ("general",))])
    assert set(estimates) == {t.id for t in waiting}
    assert 10 < estimates[waiting[-1].id].minutes < 40
    assert all(e.low <= e.minutes <= e.high for e in estimates.values())


def test_empty_queue_and_no_rooms():
    estimator = WaitEstimator(settings())
    assert estimator.estimate(at(5, 10), [], []) == {}
    estimates = estimator.estimate(at(5, 10), line(at(5, 10), 2), [])
    assert len(estimates) == 2


def test_same_question_same_answer():
    rng = random.Random(3)
    a, b = WaitEstimator(settings()), WaitEstimator(settings())
    lengths = [rng.expovariate(1 / 9) for _ in range(60)]
    warm(a, lengths)
    warm(b, lengths)
    now = at(5, 10)
    waiting = line(now, 10)
    rooms = [RoomNow("R1", ("general",), serving_since=at(5, 9, 55), serving_service="general")]
    assert a.estimate(now, waiting, rooms) == b.estimate(now, waiting, rooms)


def test_300_waiting_and_20_rooms_is_cheap():
    estimator = WaitEstimator(settings())
    rng = random.Random(5)
    services = ["general", "pediatrics", "vaccination"]
    for day in (2, 3):
        for k in range(20):
            warm(
                estimator,
                [rng.expovariate(1 / 9) for _ in range(10)],
                service=services[k % 3],
                room=f"R{k}",
                days=(day,),
                per_day=10,
            )
    now = at(4, 10, 30)
    rooms = [
        RoomNow(
            f"R{k}",
            (services[k % 3], services[(k + 1) % 3]),
            open=k % 7 != 3,
            serving_since=now - timedelta(minutes=k % 11) if k % 4 else None,
            serving_service=services[k % 3] if k % 4 else None,
        )
        for k in range(20)
    ]
    waiting = [WaitingTicket(str(j), services[j % 3], now - timedelta(minutes=300 - j)) for j in range(300)]
    estimator.estimate(now, waiting, rooms)
    started = _time.perf_counter()
    estimates = estimator.estimate(now, waiting, rooms)
    elapsed = _time.perf_counter() - started
    assert len(estimates) == 300
    assert elapsed < 0.25


# -- a newcomer at the back: carrying the runs on instead of running them again -------------


def _clinic_with_leavers() -> WaitEstimator:
    """Two services sharing a room, patients who leave and who do not answer: every draw kind."""
    estimator = WaitEstimator(settings())
    rng = random.Random(11)
    for day in (2, 3, 4):
        called = at(day, 9)
        for k in range(40):
            service = "general" if k % 3 else "pediatrics"
            room = "R2" if service == "pediatrics" or k % 2 else "R1"
            checked = at(day, 8, 30) + timedelta(minutes=k)
            outcome = rng.choice(["served"] * 6 + ["left", "no_show"])
            if outcome == "left":
                estimator.learn(PastVisit(service, None, checked, None, None, "left", called))
                continue
            ended = called + timedelta(minutes=1 if outcome == "no_show" else rng.uniform(4, 14))
            finished = ended if outcome == "served" else None
            estimator.learn(PastVisit(service, room, checked, called, finished, outcome, ended))
            called = ended
    start_day(estimator, room="R1")
    start_day(estimator, room="R2", service="pediatrics")
    return estimator


ROOMS = [RoomNow("R1", ("general",)), RoomNow("R2", ("general", "pediatrics")), RoomNow("R3", ("vaccination",))]


def _queue(now):
    general = line(now, 12, step=2)
    pediatrics = line(now, 5, service="pediatrics", step=3)
    return general + pediatrics + line(now, 2, service="vaccination")


def test_a_newcomer_carried_on_gets_exactly_what_running_everyone_again_gives():
    now = at(5, 10, 30)
    waiting = _queue(now)
    newcomer = WaitingTicket("general-new", "general", now + timedelta(seconds=1))
    carried = _clinic_with_leavers().forecast(now, waiting, ROOMS)
    assert carried.extend(newcomer) is not None
    again = _clinic_with_leavers().estimate(now, waiting + [newcomer], ROOMS)
    assert carried.estimates == again  # everyone, the newcomer included, to the last digit


def test_a_newcomer_at_the_back_moves_nobody_ahead_in_any_line():
    now = at(5, 10, 30)
    waiting = _queue(now)
    before = _clinic_with_leavers().estimate(now, waiting, ROOMS)
    after = _clinic_with_leavers().estimate(now, waiting + [WaitingTicket("p-new", "pediatrics", now)], ROOMS)
    assert {k: v for k, v in after.items() if k != "p-new"} == before


def test_a_look_at_the_next_walk_in_changes_nothing():
    now = at(5, 10, 30)
    waiting = _queue(now)
    forecast = _clinic_with_leavers().forecast(now, waiting, ROOMS)
    first = forecast.peek("general")
    assert forecast.peek("general") == first
    newcomer = WaitingTicket("general-new", "general", now + timedelta(seconds=1))
    # What the look promised is what checking in gets (before the calibration learns more).
    assert forecast.extend(newcomer) == first


def test_a_newcomer_who_cannot_be_carried_on_asks_for_a_new_forecast():
    now = at(5, 10, 30)
    forecast = _clinic_with_leavers().forecast(now, _queue(now), ROOMS)
    earlier = WaitingTicket("general-early", "general", now - timedelta(hours=2))  # ahead of others
    urgent = WaitingTicket("u", "general", now, PRIORITY_URGENT)
    unknown = WaitingTicket("x", "dermatology", now)
    assert forecast.extend(earlier) is None and forecast.extend(urgent) is None and forecast.extend(unknown) is None
