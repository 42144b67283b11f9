"""Replay a visit log through the live wait estimator and score its predictions.

``queue-app backtest VISITS.csv --output PREDICTIONS.csv`` ends up in ``run_backtest``.  The
replay walks the log's events in time order (check-ins, calls, finishes, no-shows) and keeps
the queue and the rooms as they stood at each instant, using only what was known then:

* at every check-in it asks the same ``WaitEstimator`` the server uses for the whole queue
  and keeps the new patient's estimate;
* when a visit ends it is learned (``served`` at its finish; ``no_show`` when the room calls
  its next patient, at most three minutes after the call; ``left``, which the log never
  dates, when it becomes evident: a later patient of the same service is called while they
  are still listed, or a new day starts);
* the rooms are those that called patients in the last seven days, for the services they
  called; a room with a patient in it has ``serving_since`` (the call).

The baseline is the rule of thumb: people ahead in the same service x the mean of that
service's last 10 finished consultations (10 minutes before there are any) / the rooms of
that service that called someone in the last hour (at least one).

Scores are over the visits that were called (``served`` and ``no_show``), the actual wait
being ``called_at - checked_in_at``.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time as _time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from .estimate import PRIORITY_WALK_IN, Estimate, EstimatorSettings, PastVisit, RoomNow, WaitEstimator, WaitingTicket
from .visits import Visit, read_visits

PREDICTIONS_HEADER = ("visit_id", "predicted_wait_minutes", "lower_minutes", "upper_minutes")
#: A room counts as one of a service's rooms if it called a patient of it this recently.
ROOM_MEMORY = timedelta(days=7)
#: The log does not say when a no-show was given up on: the room's next call, at most this.
NO_SHOW_HOLD = timedelta(minutes=3)
NO_SHOW_HOLD_LAST = timedelta(minutes=2)
BASELINE_DEFAULT = 10.0
BASELINE_WINDOW = 10
BASELINE_ROOM_WINDOW = timedelta(hours=1)

_END, _CHECK_IN, _CALL = 0, 1, 2


@dataclass(frozen=True)
class ErrorStats:
    """Errors of one predictor over the called visits (minutes)."""

    count: int
    mae: float
    median: float
    p90: float
    bias: float
    #: Share of actual waits inside [low, high]; ``None`` for a predictor without a range.
    coverage: float | None = None


@dataclass(frozen=True)
class BacktestReport:
    """What ``run_backtest`` found."""

    source: str
    visits: int
    called: int
    model: ErrorStats
    baseline: ErrorStats
    seconds: float
    #: Mean and longest time of one ``estimate()`` call during the replay (milliseconds).
    estimate_ms_mean: float = 0.0
    estimate_ms_max: float = 0.0

    @property
    def mae_reduction(self) -> float:
        """How much lower the model's mean absolute error is than the baseline's (0.3 = 30%)."""
        if self.baseline.mae <= 0:
            return 0.0
        return 1.0 - self.model.mae / self.baseline.mae


@dataclass(frozen=True)
class Replay:
    """Per-visit results of a replay, in the log's order."""

    visits: list[Visit]
    predictions: dict[str, Estimate]
    baseline: dict[str, float]
    estimate_seconds: list[float]


class _Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, stream: IO[str], label: str = "backtest") -> None:
        self.total = max(1, total)
        self.stream = stream
        self.label = label
        self.shown = -1
        self.started = _time.perf_counter()

    def update(self, done: int) -> None:
        percent = int(100 * done / self.total)
        if percent == self.shown:
            return
        self.shown = percent
        filled = percent * 30 // 100
        elapsed = _time.perf_counter() - self.started
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}% {done}/{self.total} {elapsed:5.1f}s"
        )
        self.stream.flush()

    def close(self) -> None:
        self.update(self.total)
        self.stream.write("\n")
        self.stream.flush()


@dataclass
class Moment:
    """The replayed queue just after one event: what a watcher of the replay is shown."""

    at: datetime
    #: The visit that just checked in (its index in the log), or None for a call or an end.
    checked_in: int | None
    #: service -> indexes of the visits waiting, in call order.
    waiting: dict[str, list[int]]
    estimator: WaitEstimator
    room_calls: dict
    serving: dict[str, int]
    visits: Sequence[Visit]

    def estimate_waiting(self, only: set[int] | None = None) -> dict[int, Estimate]:
        """Everyone's estimate now (or those lines that hold someone in ``only``)."""
        rooms = _rooms_now(self.at, self.room_calls, self.serving, self.visits)
        wanted = {self.visits[k].service for k in only} if only is not None else set(self.waiting)
        services: set[str] = set()
        for service in wanted:
            services |= _connected(service, rooms)
        tickets = [
            WaitingTicket(str(k), self.visits[k].service, self.visits[k].checked_in_at, PRIORITY_WALK_IN)
            for service, line in self.waiting.items()
            if service in services
            for k in line
        ]
        if not tickets:
            return {}
        rooms = [room for room in rooms if services.intersection(room.services)]
        return {int(key): estimate for key, estimate in self.estimator.estimate(self.at, tickets, rooms).items()}


@dataclass(frozen=True)
class LeadTimeReport:
    """Would patients told "your turn is near" have been back in time?"""

    lead_minutes: float
    rule: str
    #: Patients told while away (not already near when they checked in) and then called.
    told: int
    #: Of those, called at least ``lead_minutes`` after they were told.
    back_in_time: int
    #: Near already at check-in: told at the desk, never away.
    at_the_desk: int
    #: Median minutes between being told and being called.
    median_notice: float

    @property
    def share(self) -> float:
        return self.back_in_time / self.told if self.told else math.nan


def lead_time_check(
    visits: Sequence[Visit],
    settings: EstimatorSettings,
    lead_minutes: float,
    near_positions: int = 3,
    rule: str = "low",
    from_day=None,
    tick_minutes: float = 0.0,
    tell_minutes: float | None = None,
) -> LeadTimeReport:
    """Replay the log and tell each patient their turn is near as the server would.

    The server decides after every change: near by place (``near_positions`` or fewer ahead)
    or by time, where ``rule`` is ``"low"`` (the early end of the 80% range, what the server
    does) or ``"middle"`` (the central estimate, for comparison).  A patient is back in time
    when they were called at least ``lead_minutes`` after being told.  Only days from
    ``from_day`` on are scored (the days before teach the estimator).
    """
    tell = lead_minutes if tell_minutes is None else tell_minutes
    told_at: dict[int, datetime] = {}
    at_desk: set[int] = set()
    #: When, at the latest, the server's minute-by-minute look would tell a patient.
    due: dict[int, datetime] = {}
    tz = settings.hours.timezone

    def watch(moment: Moment) -> None:
        if from_day is not None and moment.at.astimezone(tz).date() < from_day:
            return
        for k, when in list(due.items()):
            if when <= moment.at and k not in told_at and tick_minutes:
                # Told by the periodic look before this event (rounded up to its next tick).
                told_at[k] = when
        due.clear()
        untold = {k for line in moment.waiting.values() for k in line if k not in told_at}
        if not untold:
            return
        estimates = moment.estimate_waiting(untold)
        for line in moment.waiting.values():
            for place, k in enumerate(line):
                if k not in untold:
                    continue
                estimate = estimates.get(k)
                edge = None if estimate is None else (estimate.low if rule == "low" else estimate.minutes)
                # The server rounds as patients are shown it (``board.Wait``).
                by_time = edge is not None and (math.floor(edge) if rule == "low" else round(edge)) <= tell
                if place <= near_positions or by_time:
                    told_at[k] = moment.at
                    if moment.checked_in == k:
                        at_desk.add(k)
                elif edge is not None and tick_minutes:
                    # Nothing changes until the next event, but the clock runs: the early end
                    # reaches the lead time this much later, seen at the next tick.
                    wait = math.ceil((edge - tell) / tick_minutes) * tick_minutes
                    due[k] = moment.at + timedelta(minutes=max(wait, tick_minutes))

    replay(visits, settings, watch=watch)
    notices = sorted(
        (visits[k].called_at - at).total_seconds() / 60
        for k, at in told_at.items()
        if k not in at_desk and visits[k].called_at is not None
    )
    back = sum(1 for minutes in notices if minutes >= lead_minutes)
    return LeadTimeReport(
        lead_minutes=lead_minutes,
        rule=rule,
        told=len(notices),
        back_in_time=back,
        at_the_desk=len(at_desk),
        median_notice=_percentile(notices, 0.5) if notices else math.nan,
    )


def _no_show_ends(visits: Sequence[Visit]) -> dict[int, datetime]:
    """When each no-show was given up on: the room's next call, held at most NO_SHOW_HOLD."""
    by_room: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for k, visit in enumerate(visits):
        if visit.called_at is not None and visit.room:
            by_room[visit.room].append((visit.called_at, k))
    ends: dict[int, datetime] = {}
    for calls in by_room.values():
        calls.sort()
        for n, (called, k) in enumerate(calls):
            if visits[k].outcome != "no_show":
                continue
            later = next((c for c, _ in calls[n + 1 :] if c > called), None)
            if later is None:
                ends[k] = called + NO_SHOW_HOLD_LAST
            else:
                ends[k] = min(later, called + NO_SHOW_HOLD)
    return ends


def replay(
    visits: Sequence[Visit],
    settings: EstimatorSettings,
    progress: bool = False,
    watch: Callable[[Moment], None] | None = None,
) -> Replay:
    """Walk the log in time order, estimating at each check-in; see the module's description.

    ``watch`` is shown the queue after every event (``lead_time_check`` uses it to see when
    each patient would have been told their turn is near).
    """
    visits = list(visits)
    tz = settings.hours.timezone
    no_show_end = _no_show_ends(visits)
    events: list[tuple[datetime, int, datetime, int]] = []
    ends: dict[int, datetime] = {}
    for k, visit in enumerate(visits):
        events.append((visit.checked_in_at, _CHECK_IN, visit.checked_in_at, k))
        if visit.called_at is not None:
            events.append((visit.called_at, _CALL, visit.checked_in_at, k))
            end = visit.finished_at if visit.outcome == "served" else no_show_end.get(k)
            if end is not None:
                ends[k] = end
                events.append((end, _END, visit.checked_in_at, k))
    events.sort(key=lambda e: (e[0], e[1], e[2], e[3]))

    estimator = WaitEstimator(settings)
    waiting: dict[str, list[int]] = defaultdict(list)
    #: room -> service -> last call
    room_calls: dict[str, dict[str, datetime]] = defaultdict(dict)
    serving: dict[str, int] = {}
    finished: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=BASELINE_WINDOW))
    predictions: dict[str, Estimate] = {}
    baseline: dict[str, float] = {}
    timings: list[float] = []
    today = None

    def learn_left(k: int, at: datetime) -> None:
        visit = visits[k]
        estimator.learn(
            PastVisit(visit.service, None, visit.checked_in_at, None, None, "left", max(at, visit.checked_in_at))
        )

    bar = _Progress(len(events), sys.stderr) if progress else None
    for n, (at, kind, _, k) in enumerate(events):
        if bar is not None and n % 200 == 0:
            bar.update(n)
        local_day = at.astimezone(tz).date()
        if local_day != today:
            if today is not None:
                # A new day: whoever is still listed from before has evidently gone.
                for line in waiting.values():
                    for j in line:
                        learn_left(j, at)
                    line.clear()
            today = local_day
        visit = visits[k]
        if kind == _END:
            if visit.room and serving.get(visit.room) == k:
                del serving[visit.room]
            if visit.outcome == "served":
                finished[visit.service].append((visit.finished_at - visit.called_at).total_seconds() / 60)
            estimator.learn(
                PastVisit(
                    service=visit.service,
                    room=visit.room,
                    checked_in_at=visit.checked_in_at,
                    called_at=visit.called_at,
                    finished_at=visit.finished_at,
                    outcome=visit.outcome,
                    ended_at=at,
                )
            )
        elif kind == _CALL:
            line = waiting[visit.service]
            if k in line:
                position = line.index(k)
                # Everyone listed ahead of a patient being called has left (first come, first
                # served within a service): learn them as left now.
                for j in line[:position]:
                    learn_left(j, at)
                del line[: position + 1]
            if visit.room:
                room_calls[visit.room][visit.service] = at
                if k in ends:
                    serving[visit.room] = k
        else:
            line = waiting[visit.service]
            line.append(k)
            rooms = _rooms_now(at, room_calls, serving, visits)
            # Only the lines this patient's can be affected by: their service and any service
            # sharing a room with it (transitively).  The rest of the queue changes nothing
            # for them, and leaving it out keeps the replay fast.
            services = _connected(visit.service, rooms)
            rooms = [room for room in rooms if services.intersection(room.services)]
            tickets = [
                WaitingTicket(visits[j].visit_id, visits[j].service, visits[j].checked_in_at, PRIORITY_WALK_IN)
                for service, service_line in waiting.items()
                if service in services
                for j in service_line
            ]
            started = _time.perf_counter()
            estimates = estimator.estimate(at, tickets, rooms)
            timings.append(_time.perf_counter() - started)
            predictions[visit.visit_id] = estimates[visit.visit_id]
            baseline[visit.visit_id] = _baseline(
                at, visit.service, len(line) - 1, finished, room_calls, serving, visits
            )
        if watch is not None:
            watch(Moment(at, k if kind == _CHECK_IN else None, waiting, estimator, room_calls, serving, visits))
    if bar is not None:
        bar.close()
    return Replay(visits, predictions, baseline, timings)


def _connected(service: str, rooms: Sequence[RoomNow]) -> set[str]:
    """``service`` and every service sharing a room with it, directly or through others."""
    found = {service}
    grown = True
    while grown:
        grown = False
        for room in rooms:
            if found.intersection(room.services) and not found.issuperset(room.services):
                found.update(room.services)
                grown = True
    return found


def _rooms_now(at: datetime, room_calls, serving: dict[str, int], visits: Sequence[Visit]) -> list[RoomNow]:
    rooms = []
    for room, calls in room_calls.items():
        services = tuple(sorted(s for s, last in calls.items() if at - last <= ROOM_MEMORY))
        if not services:
            continue
        k = serving.get(room)
        rooms.append(
            RoomNow(
                id=room,
                services=services,
                open=True,
                serving_since=visits[k].called_at if k is not None else None,
                serving_service=visits[k].service if k is not None else None,
            )
        )
    return rooms


def _baseline(at: datetime, service: str, ahead: int, finished, room_calls, serving, visits) -> float:
    durations = finished.get(service)
    mean = sum(durations) / len(durations) if durations else BASELINE_DEFAULT
    active = 0
    for room, calls in room_calls.items():
        last = calls.get(service)
        k = serving.get(room)
        if (last is not None and at - last <= BASELINE_ROOM_WINDOW) or (k is not None and visits[k].service == service):
            active += 1
    return ahead * mean / max(1, active)


def _errors(pairs: Sequence[tuple[float, float]], ranges: Sequence[tuple[float, float]] | None = None) -> ErrorStats:
    """Stats of (predicted, actual) pairs; ``ranges`` the matching (low, high)."""
    if not pairs:
        return ErrorStats(0, math.nan, math.nan, math.nan, math.nan, None)
    errors = sorted(abs(p - a) for p, a in pairs)
    n = len(errors)
    coverage = None
    if ranges is not None:
        coverage = sum(1 for (lo, hi), (_, a) in zip(ranges, pairs, strict=True) if lo <= a <= hi) / n
    return ErrorStats(
        count=n,
        mae=sum(errors) / n,
        median=_percentile(errors, 0.5),
        p90=_percentile(errors, 0.9),
        bias=sum(p - a for p, a in pairs) / n,
        coverage=coverage,
    )


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    n = len(sorted_values)
    pos = q * (n - 1)
    i = int(pos)
    if i >= n - 1:
        return sorted_values[-1]
    return sorted_values[i] + (sorted_values[i + 1] - sorted_values[i]) * (pos - i)


def score(result: Replay) -> tuple[ErrorStats, ErrorStats]:
    """(model, baseline) errors over the called visits of a replay."""
    model_pairs, ranges, baseline_pairs = [], [], []
    for visit in result.visits:
        actual = visit.wait_minutes
        if actual is None or visit.visit_id not in result.predictions:
            continue
        estimate = result.predictions[visit.visit_id]
        model_pairs.append((estimate.minutes, actual))
        ranges.append((estimate.low, estimate.high))
        baseline_pairs.append((result.baseline[visit.visit_id], actual))
    return _errors(model_pairs, ranges), _errors(baseline_pairs)


def write_predictions(result: Replay, path_or_file: str | os.PathLike | IO[str]) -> None:
    """One row per visit: the estimate made at its check-in."""
    owned = isinstance(path_or_file, (str, os.PathLike))
    fh = open(path_or_file, "w", newline="", encoding="utf-8") if owned else path_or_file
    try:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(PREDICTIONS_HEADER)
        for visit in result.visits:
            estimate = result.predictions.get(visit.visit_id)
            if estimate is None:
                continue
            writer.writerow([visit.visit_id, f"{estimate.minutes:.2f}", f"{estimate.low:.2f}", f"{estimate.high:.2f}"])
    finally:
        if owned:
            fh.close()


def run_backtest(
    visits_path: str | os.PathLike | IO[str],
    output_path: str | os.PathLike | IO[str] | None,
    settings: EstimatorSettings,
    progress: bool | None = None,
) -> BacktestReport:
    """Replay ``visits_path``, write the predictions to ``output_path`` (unless ``None``), score.

    ``progress``: ``True`` draws a progress bar on stderr, ``False`` never, ``None`` (the
    default) only when stderr is a terminal.
    """
    started = _time.perf_counter()
    visits = read_visits(visits_path)
    if progress is None:
        progress = sys.stderr.isatty()
    result = replay(visits, settings, progress=progress)
    if output_path is not None:
        write_predictions(result, output_path)
    model, base = score(result)
    timings = result.estimate_seconds
    source = os.fspath(visits_path) if isinstance(visits_path, (str, os.PathLike)) else getattr(visits_path, "name", "")
    return BacktestReport(
        source=str(source),
        visits=len(visits),
        called=model.count,
        model=model,
        baseline=base,
        seconds=_time.perf_counter() - started,
        estimate_ms_mean=1000 * sum(timings) / len(timings) if timings else 0.0,
        estimate_ms_max=1000 * max(timings) if timings else 0.0,
    )


def format_report(report: BacktestReport) -> str:
    """A short plain-text table of the backtest's results."""

    def row(name: str, stats: ErrorStats) -> str:
        coverage = f"{100 * stats.coverage:5.1f}%" if stats.coverage is not None else "     -"
        return f"{name:<9} {stats.mae:6.2f} {stats.median:7.2f} {stats.p90:6.2f} {stats.bias:+6.2f} {coverage:>9}"

    lines = [
        f"Backtest of {report.source}: {report.visits} visits, {report.called} called "
        f"({report.seconds:.1f} s; estimate() {report.estimate_ms_mean:.1f} ms mean, "
        f"{report.estimate_ms_max:.1f} ms max)",
        f"{'minutes':<9} {'MAE':>6} {'median':>7} {'P90':>6} {'bias':>6} {'coverage':>9}",
        row("model", report.model),
        row("baseline", report.baseline),
        f"Model mean absolute error {100 * report.mae_reduction:.0f}% below the baseline's; "
        f"80% range holds {100 * (report.model.coverage or 0):.0f}% of actual waits.",
    ]
    return "\n".join(lines)
