"""The backtest: a causal replay of a visit log through the live estimator."""

from __future__ import annotations

import dataclasses
import io
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queue_app import backtest
from queue_app.backtest import PREDICTIONS_HEADER, format_report, replay, run_backtest, score
from queue_app.estimate import EstimatorSettings, OpeningHours, WaitEstimator
from queue_app.notify.outbox import LEAD_MARGIN
from queue_app.visits import Visit, read_visits, write_visits

SEOUL = ZoneInfo("Asia/Seoul")
SMALL_GP = Path(__file__).resolve().parent.parent / "data" / "sample-visits-small_gp.csv"
SETTINGS = EstimatorSettings(
    hours=OpeningHours(SEOUL, time(9), time(18), ((time(13), time(14)),)),
    default_minutes={"general": 8.0, "pediatrics": 10.0, "vaccination": 4.0},
)
WEEKDAYS = [date(2026, 3, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20)]


def one_room_log(days, arrivals, length, room="1", service="general", outcome=None) -> list[Visit]:
    """A single room working first come, first served from 09:00 (lunch 13-14).

    ``arrivals(day)`` gives the check-in minutes after midnight; ``length(n)`` a consultation
    length; ``outcome(n)`` optionally ``"left"`` or ``"no_show"`` for the n-th patient.
    """
    visits = []
    n = 0
    for day in days:
        midnight = datetime.combine(day, time(0), tzinfo=SEOUL)
        free = 9 * 60.0
        for k, arrival in enumerate(arrivals(day)):
            kind = outcome(n) if outcome else "served"
            n += 1
            vid = f"{day:%Y%m%d}-{k + 1:04d}"
            checked = midnight + timedelta(minutes=arrival)
            if kind == "left":
                visits.append(Visit(vid, service, checked, None, None, None, "left"))
                continue
            call = max(free, arrival)
            if 13 * 60 <= call < 14 * 60:
                call = 14 * 60.0
            called = midnight + timedelta(minutes=call)
            if kind == "no_show":
                visits.append(Visit(vid, service, checked, called, None, room, "no_show"))
                free = call + 1
                continue
            free = call + length(n)
            visits.append(Visit(vid, service, checked, called, midnight + timedelta(minutes=free), room, "served"))
    return visits


def by_id(result):
    return {vid: (e.minutes, e.low, e.high) for vid, e in result.predictions.items()}


# -- known answers -------------------------------------------------------------------------


def test_one_room_fixed_lengths_predicts_exactly_after_warm_up():
    # Every morning five people arrive at 08:50-08:54 and one every 12 minutes from 09:30;
    # consultations take exactly 10 minutes.
    def arrivals(day):
        return [8 * 60 + 50 + k for k in range(5)] + [9 * 60 + 30 + 12 * k for k in range(12)]

    log = one_room_log(WEEKDAYS[:6], arrivals, lambda n: 10.0)
    result = replay(log, SETTINGS)
    last_day = [v for v in log if v.checked_in_at.date() == WEEKDAYS[5]]
    for visit in last_day:
        e = result.predictions[visit.visit_id]
        assert e.minutes == pytest.approx(visit.wait_minutes, abs=1e-6), visit.visit_id
        # Nothing varies any more; what is left of the range is the cold start's misses.
        assert e.low <= e.minutes <= e.high < e.minutes + 0.5
    # The early birds: called at 09:00, 09:10, ...
    assert [round(result.predictions[v.visit_id].minutes) for v in last_day[:5]] == [10, 19, 28, 37, 46]
    # The baseline is the rule of thumb: people ahead x 10 minutes / 1 room.
    assert result.baseline[last_day[3].visit_id] == pytest.approx(30)
    model, baseline = score(result)
    assert model.count == len(log)
    assert model.mae < baseline.mae


def test_patient_who_left_is_dropped_once_a_later_one_is_called():
    # Day 1 is warm-up.  Day 2: A (08:50), X (08:51, leaves), B (08:52); then C at 09:12,
    # while B (called 09:10) is in the room.  X is evidently gone at B's call: C waits for
    # B's remaining 8 minutes only.
    def arrivals(day):
        if day == WEEKDAYS[0]:
            return [8 * 60 + 40 + k for k in range(12)]
        return [8 * 60 + 50, 8 * 60 + 51, 8 * 60 + 52, 9 * 60 + 12]

    marks = {13: "left"}
    log = one_room_log(WEEKDAYS[:2] * 1, arrivals, lambda n: 10.0, outcome=lambda n: marks.get(n, "served"))
    assert log[13].outcome == "left"
    result = replay(log, SETTINGS)
    assert result.predictions[log[15].visit_id].minutes == pytest.approx(8, abs=0.5)
    # At X's own check-in nobody knew: the prediction is there like anyone's.
    assert log[13].visit_id in result.predictions


def test_services_and_rooms_the_settings_do_not_name_are_fine():
    log = one_room_log(
        WEEKDAYS[:2],
        lambda d: [8 * 60 + 50 + 3 * k for k in range(15)],
        lambda n: 7.0,
        room="Z9",
        service="dermatology",
    )
    result = replay(log, SETTINGS)
    assert len(result.predictions) == len(log)
    first = result.predictions[log[1].visit_id]
    assert first.minutes > 0  # cold start: fallback minutes, never an error


# -- causality -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_gp():
    return read_visits(SMALL_GP)


@pytest.fixture(scope="module")
def small_gp_replay(small_gp):
    return replay(small_gp, SETTINGS)


@pytest.mark.parametrize(
    "cut",
    [
        datetime(2026, 3, 4, 9, 30, tzinfo=SEOUL),
        datetime(2026, 3, 6, 11, 0, tzinfo=SEOUL),
        datetime(2026, 3, 10, 15, 20, tzinfo=SEOUL),
    ],
)
def test_predictions_before_a_cut_do_not_depend_on_what_comes_after(small_gp, small_gp_replay, cut):
    before = [v for v in small_gp if v.checked_in_at < cut]
    # The future, rewritten: every later consultation three times as long.
    changed = [
        dataclasses.replace(v, finished_at=v.called_at + 3 * (v.finished_at - v.called_at))
        if v.checked_in_at >= cut and v.finished_at is not None
        else v
        for v in small_gp
    ]
    cut_result = by_id(replay(before, SETTINGS))
    changed_result = by_id(replay(changed, SETTINGS))
    full = by_id(small_gp_replay)
    assert len(cut_result) == len(before) > 100
    for visit in before:
        assert cut_result[visit.visit_id] == full[visit.visit_id] == changed_result[visit.visit_id]
    # ...and it is not vacuous: later predictions do change.
    later = [v.visit_id for v in small_gp if v.checked_in_at >= cut + timedelta(days=1)]
    assert sum(full[vid] != changed_result[vid] for vid in later) > len(later) / 2


def test_the_estimator_is_only_told_what_was_known_at_the_time(small_gp, monkeypatch):
    class Watchful(WaitEstimator):
        latest = None
        asked = 0

        def learn(self, visit):
            for moment in (visit.checked_in_at, visit.called_at, visit.finished_at):
                assert moment is None or moment <= visit.ended_at
            assert self.latest is None or self.latest <= visit.ended_at  # in the order they ended
            type(self).latest = visit.ended_at
            super().learn(visit)

        def estimate(self, now, waiting, rooms):
            type(self).asked += 1
            assert self.latest is None or self.latest <= now
            assert all(t.checked_in_at <= now for t in waiting)
            assert all(r.serving_since is None or r.serving_since <= now for r in rooms)
            return super().estimate(now, waiting, rooms)

    monkeypatch.setattr(backtest, "WaitEstimator", Watchful)
    replay(small_gp[:400], SETTINGS)
    assert Watchful.asked == 400


# -- scores on real-looking data -----------------------------------------------------------


def test_small_sample_meets_the_targets(tmp_path):
    output = tmp_path / "predictions.csv"
    report = run_backtest(SMALL_GP, output, SETTINGS, progress=False)
    assert report.visits == 1691 and report.called == 1607
    assert report.model.mae <= 0.75 * report.baseline.mae
    assert 0.75 <= report.model.coverage <= 0.85
    rows = output.read_text().splitlines()
    assert rows[0] == ",".join(PREDICTIONS_HEADER)
    assert len(rows) == 1 + 1691
    vid, minutes, low, high = rows[1].split(",")
    assert vid == "20260302-0001" and float(low) <= float(minutes) <= float(high)
    text = format_report(report)
    assert "model" in text and "baseline" in text and "coverage" in text


def test_range_is_calibrated_on_a_random_queue():
    rng = random.Random(4)

    def arrivals(day):
        t, out = 8 * 60 + 45, []
        while t < 17 * 60:
            t += rng.expovariate(1 / 11)
            out.append(t)
        return out

    log = one_room_log(WEEKDAYS, arrivals, lambda n: rng.lognormvariate(2.1, 0.7))
    result = replay(log, SETTINGS)
    later = [v for v in log if v.checked_in_at.date() >= WEEKDAYS[3]]
    inside = sum(
        result.predictions[v.visit_id].low - 1e-9 <= v.wait_minutes <= result.predictions[v.visit_id].high + 1e-9
        for v in later
    )
    assert len(later) > 400
    assert 0.74 <= inside / len(later) <= 0.86


def test_progress_bar_when_asked(tmp_path, capsys):
    log = one_room_log(WEEKDAYS[:1], lambda d: [8 * 60 + 50 + 5 * k for k in range(10)], lambda n: 10.0)
    path = tmp_path / "log.csv"
    write_visits(log, path)
    run_backtest(path, None, SETTINGS, progress=True)
    assert "100%" in capsys.readouterr().err
    run_backtest(path, io.StringIO(), SETTINGS, progress=False)
    assert capsys.readouterr().err == ""


def test_malformed_log_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("visit_id,service,checked_in_at,called_at,finished_at,room,outcome\nv1,general,soon,,,,left\n")
    with pytest.raises(ValueError, match="line 2"):
        run_backtest(path, None, SETTINGS)


# -- telling patients to come back ---------------------------------------------------------


def test_about_nine_in_ten_told_their_turn_is_near_are_back_in_time():
    """A morning of the small clinic, replayed with the estimator's real ranges.

    The server's rule (place, or the early end of the range within the lead time with its
    margin, looked at every minute) against the same rule on the central estimate.  The
    figures are in docs/estimates.md (``bench/lead_time.py``, all sample logs).
    """
    visits = read_visits(SMALL_GP)
    from_day = date(2026, 3, 16)  # two weeks teach the estimator; the last two are scored
    server = backtest.lead_time_check(
        visits, SETTINGS, 15, near_positions=3, from_day=from_day, tick_minutes=1, tell_minutes=15 * LEAD_MARGIN
    )
    middle = backtest.lead_time_check(visits, SETTINGS, 15, near_positions=3, rule="middle", from_day=from_day)
    assert server.told >= 100  # patients told while away, and then called
    assert server.share >= 0.88, server
    assert middle.share < server.share - 0.15, (middle, server)
    # Those near already at check-in heard it at the desk; they are not in the share.
    assert server.at_the_desk > 0


def test_a_longer_lead_time_means_an_earlier_message():
    visits = read_visits(SMALL_GP)
    from_day = date(2026, 3, 23)
    short = backtest.lead_time_check(visits, SETTINGS, 5, near_positions=0, from_day=from_day, tick_minutes=1)
    long = backtest.lead_time_check(visits, SETTINGS, 30, near_positions=0, from_day=from_day, tick_minutes=1)
    assert long.median_notice > short.median_notice + 15
