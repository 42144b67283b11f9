"""The wait estimator: when will each waiting patient be called, with an 80% range.

The same code serves the live server and `queue-app backtest`, so it knows nothing of the
database, Flask or CSV files.  It is fed what has happened (``learn``) and asked about the
queue as it stands now (``estimate``).  Everything it is given was known at ``now``, which
keeps it strictly causal: the backtest replays a log and asks at each check-in.

The model (described for staff in ``docs/estimates.md``):

* **What it learns**, per service, from the clinic's own visits as they end:
  consultation lengths (a window of recent ones for their spread and shape, a level that
  follows the last couple of hours, and a per-room level for a doctor faster or slower than
  the others today); the idle gaps between one patient and the next in a room while somebody
  was waiting (late starts, short breaks, a room that stops calling for a while); how often a
  called patient does not answer, and how long the room then waits; how often waiting
  patients leave (a rate per minute of waiting).  Until there is enough history the settings'
  ``default_minutes`` stand in, with weights that fade as history grows.
* **How it answers**: a small Monte Carlo simulation of the rooms working through the queue.
  Every open room starts from its present state (a consultation running for 12 minutes ends
  after a draw from the lengths that are longer than 12 minutes; an idle room waits a draw
  from the gaps at least as long as it has already been idle), calls the next patient of its
  services (lowest priority rank first, then earliest check-in; within one service the order
  given), who may have left or may not answer, and so on.  Calls happen only in opening
  hours outside breaks; a consultation running into a break finishes, the next call waits for
  the break to end.  The central figure is the median over the runs, the range their 10th
  and 90th percentiles, widened or narrowed by what past estimates got wrong.
* **Honest range**: each estimate made for a patient the first time they are seen is kept
  and compared with the wait they really had once they are called; the range's two ends are
  shifted, in units of the range's own width, so that four in five of recent actual waits
  fell inside (learned separately for short, medium and long predicted waits).  A wait of
  zero lies inside every range starting at zero, so short predicted waits are covered more
  often than asked; a feedback loop on the share actually covered lowers the aim for the
  others (never under 70%) so that overall four in five real waits fall inside.

Cost is about ``runs x (waiting + rooms) x log(rooms)``; the number of runs shrinks for long
queues, so 300 patients and 20 rooms take about 10 ms.
"""

from __future__ import annotations

import heapq
import math
import random
import struct
import zlib
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import NamedTuple
from zoneinfo import ZoneInfo

#: Priority ranks: lower goes first.  Stored on tickets and passed through here.
PRIORITY_URGENT = 0
PRIORITY_APPOINTMENT = 1
PRIORITY_WALK_IN = 2

SERVED = "served"
NO_SHOW = "no_show"
LEFT = "left"


@dataclass(frozen=True)
class OpeningHours:
    """When rooms call patients, in the clinic's own time zone."""

    timezone: ZoneInfo
    opens: time = time(9, 0)
    closes: time = time(18, 0)
    #: Breaks in which nobody is called, such as lunch: ``[(time(13), time(14))]``.
    breaks: tuple[tuple[time, time], ...] = ()


@dataclass(frozen=True)
class EstimatorSettings:
    """What the estimator needs from the clinic's configuration."""

    hours: OpeningHours
    #: Consultation minutes per service used until enough history exists (cold start).
    default_minutes: Mapping[str, float] = field(default_factory=dict)
    #: Used for a service the configuration does not name (a retired service, another log).
    fallback_minutes: float = 10.0
    #: Share of actual waits the range should hold.
    coverage: float = 0.80
    #: Simulation runs per estimate: at most this many, fewer for long queues (see ``run_budget``).
    max_runs: int = 40
    min_runs: int = 10
    #: Patients x runs per estimate the run count is cut to fit (rooms count as patients).
    run_budget: int = 4000
    #: Seed of the simulation, so that the same question always gets the same answer.
    seed: int = 20260302


class Estimate(NamedTuple):
    """Minutes from ``now`` until the patient is called: a central figure and an 80% range.

    A named tuple, not a dataclass: a change at 1,000 waiting makes a thousand of them.
    """

    minutes: float
    low: float
    high: float


@dataclass(frozen=True)
class WaitingTicket:
    """A patient waiting to be called, as known now.  ``estimate`` gets them in queue order."""

    id: str
    service: str
    checked_in_at: datetime
    priority: int = PRIORITY_WALK_IN

    # Worked out once per ticket, not once per estimate: the board keeps a waiting ticket's
    # ``WaitingTicket`` from change to change, and a call at 1,000 waiting estimates them all.
    @cached_property
    def minutes(self) -> float:
        """The check-in in minutes since the epoch, as the runs count time."""
        return _minutes(self.checked_in_at)

    @cached_property
    def visit(self) -> tuple[str, float]:
        """The visit as the calibration keeps its first estimate (``_visit_key``)."""
        return _visit_key(self.service, self.minutes)


@dataclass(frozen=True)
class RoomNow:
    """A room as it stands now.  A paused room serves nobody until it resumes."""

    id: str
    services: tuple[str, ...]
    open: bool = True
    #: When the patient now in the room was called; ``None`` when the room is free.
    serving_since: datetime | None = None
    serving_service: str | None = None
    #: When the room last became free, if the caller knows; otherwise the estimator uses the
    #: end of the last visit it learned in this room.
    free_since: datetime | None = None


@dataclass(frozen=True)
class PastVisit:
    """A visit that has ended, fed to ``learn`` once it is known to have ended.

    ``outcome`` is ``served`` (called and finished), ``no_show`` (called, did not come) or
    ``left`` (left before being called).  ``ended_at`` is when that became known: the finish,
    the no-show, or the moment the patient left (or was found to have left).
    """

    service: str
    room: str | None
    checked_in_at: datetime
    called_at: datetime | None
    finished_at: datetime | None
    outcome: str
    ended_at: datetime


# --------------------------------------------------------------------------------------
# Tuning constants.  Minutes throughout.

#: Recent consultation lengths kept per service (spread, shape, long-run level).
DURATION_WINDOW = 200
#: The default_minutes prior counts as this many consultations, fading to none by FADE_AFTER.
PRIOR_WEIGHT = 5.0
FADE_AFTER = 30
#: Recent level: exponential memory in real time, and the weight of the long-run level.
LEVEL_MEMORY = 120.0
LEVEL_PRIOR = 2.0
#: A room's own level: memory (a new doctor tomorrow) and shrinkage to the service level.
ROOM_MEMORY = 240.0
ROOM_PRIOR = 6.0
#: Fewer lengths than this and the shape is a generic right-skewed one.
SHAPE_MIN = 8
#: Idle gaps kept per service and for the first call of the day (pooled over services).
GAP_WINDOW = 400
START_WINDOW = 60
#: An idle room is "in a gap" only once it has been idle this long with someone waiting.
GAP_GRACE = 1.0
#: Counts (no-shows, leaving) decay by this factor per visit of the service.
COUNT_DECAY = 0.997
NO_SHOW_PRIOR = 0.03
LEAVE_RATE_PRIOR = 0.002
NO_SHOW_BLOCK_PRIOR = 1.5
#: Longest a no-show is taken to hold a room.
NO_SHOW_BLOCK_MAX = 10.0
#: Longest consultation taken seriously (longer ones are clipped).
DURATION_MAX = 240.0
#: Calibration: residuals kept per band of predicted wait, refreshed every few new ones.
CALIBRATION_WINDOW = 400
CALIBRATION_MIN = 30
CALIBRATION_REFRESH = 10
CALIBRATION_BANDS = (2.0, 20.0)
#: Adaptive coverage target: step per scored wait, and its bounds.
CALIBRATION_STEP = 0.005
COVERAGE_TARGET_MIN = 0.70
COVERAGE_TARGET_MAX = 0.97
#: Estimates waiting to be compared with the actual wait, pruned beyond this many.
PENDING_MAX = 20000
#: A room that has not called anyone today this long after the latest start seen is absent.
ABSENT_AFTER = 60.0
#: Assumed pause of a paused room when its services have no other room.
PAUSE_PRIOR = 15.0

_EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))


def _minutes(moment: datetime) -> float:
    """Minutes since the epoch (aware datetimes)."""
    return moment.timestamp() / 60.0


def _generic_shape() -> list[float]:
    """A right-skewed shape (lognormal, mean 1, coefficient of variation 0.6) as quantiles."""
    from statistics import NormalDist

    sigma = math.sqrt(math.log(1 + 0.6**2))
    mu = -sigma * sigma / 2
    normal = NormalDist()
    points = 40
    return [math.exp(mu + sigma * normal.inv_cdf((i + 0.5) / points)) for i in range(points)]


_GENERIC_SHAPE = _generic_shape()


class _Day:
    """One local day's calling periods, in epoch minutes: from ``opens`` on, minus breaks.

    After closing time calls still happen (the sample clinics see everyone who checked in),
    so the last period runs on.
    """

    __slots__ = ("start", "opens", "closes", "breaks")

    def __init__(self, hours: OpeningHours, day: date) -> None:
        tz = hours.timezone

        def at(moment: time) -> float:
            return _minutes(datetime.combine(day, moment, tzinfo=tz))

        self.start = _minutes(datetime.combine(day, time(0), tzinfo=tz))
        self.opens = at(hours.opens)
        self.closes = at(hours.closes)
        breaks = sorted((at(a), at(b)) for a, b in hours.breaks if b > a)
        self.breaks = tuple((a, b) for a, b in breaks if b > self.opens)

    def next_call(self, t: float) -> float:
        """Earliest moment at or after ``t`` at which a room may call."""
        if t < self.opens:
            t = self.opens
        for a, b in self.breaks:
            if a <= t < b:
                t = b
        return t

    def add(self, t: float, minutes: float) -> float:
        """``t`` moved to a calling moment, then ``minutes`` of calling time later."""
        t = self.next_call(t)
        if minutes <= 0:
            return t
        for a, b in self.breaks:
            if t < a:
                if t + minutes <= a:
                    return t + minutes
                minutes -= a - t
                t = b
        return t + minutes

    def in_break(self, t: float) -> bool:
        for a, b in self.breaks:
            if a <= t < b:
                return True
        return False

    def calling_minutes(self, a: float, b: float) -> float:
        """Calling time between ``a`` and ``b`` (only this day's part of it)."""
        a = max(a, self.start, self.opens)
        if b <= a:
            return 0.0
        total = b - a
        for x, y in self.breaks:
            lo, hi = max(a, x), min(b, y)
            if hi > lo:
                total -= hi - lo
        return total


class _Sample:
    """A window of values with a sorted copy made on demand."""

    __slots__ = ("values", "_sorted")

    def __init__(self, size: int) -> None:
        self.values: deque[float] = deque(maxlen=size)
        self._sorted: list[float] | None = None

    def add(self, value: float) -> None:
        self.values.append(value)
        self._sorted = None

    def __len__(self) -> int:
        return len(self.values)

    def sorted(self) -> list[float]:
        if self._sorted is None:
            self._sorted = sorted(self.values)
        return self._sorted


class _Decayed:
    """A sum and a weight forgetting exponentially in real time (an online weighted mean)."""

    __slots__ = ("total", "weight", "at")

    def __init__(self) -> None:
        self.total = 0.0
        self.weight = 0.0
        self.at = 0.0

    def add(self, t: float, value: float, memory: float) -> None:
        if self.weight:
            factor = math.exp(-max(0.0, t - self.at) / memory)
            self.total *= factor
            self.weight *= factor
        self.total += value
        self.weight += 1.0
        self.at = max(self.at, t)

    def mean(self, t: float, memory: float, prior: float, prior_weight: float) -> float:
        if not self.weight:
            return prior
        factor = math.exp(-max(0.0, t - self.at) / memory)
        return (self.total * factor + prior * prior_weight) / (self.weight * factor + prior_weight)


class _Service:
    """What has been learned about one service."""

    def __init__(self, default: float) -> None:
        self.default = default
        self.durations = _Sample(DURATION_WINDOW)
        self.level = _Decayed()
        self.gaps = _Sample(GAP_WINDOW)
        self.no_show_blocks = _Sample(50)
        self.calls = 0.0
        self.no_shows = 0.0
        self.left = 0.0
        self.exposure = 0.0
        self.ended = 0
        self.called = 0
        self._shape: list[float] | None = None

    def long_mean(self) -> float:
        values = self.durations.values
        n = len(values)
        weight = PRIOR_WEIGHT * max(0.0, 1.0 - n / FADE_AFTER)
        if n + weight == 0:
            return self.default
        return (sum(values) + weight * self.default) / (n + weight)

    def mean(self, t: float) -> float:
        return self.level.mean(t, LEVEL_MEMORY, self.long_mean(), LEVEL_PRIOR)

    def shape(self) -> list[float]:
        """Recent lengths divided by their mean, sorted (mean 1)."""
        if self._shape is None:
            values = self.durations.sorted()
            if len(values) < SHAPE_MIN:
                self._shape = _GENERIC_SHAPE
            else:
                mean = sum(values) / len(values)
                self._shape = [v / mean for v in values] if mean > 0 else [1.0]
        return self._shape

    def no_show_rate(self) -> float:
        weight = 20.0 * max(0.0, 1.0 - self.called / 50)
        if self.calls + weight == 0:
            return 0.0
        return (self.no_shows + weight * NO_SHOW_PRIOR) / (self.calls + weight)

    def leave_rate(self) -> float:
        """Patients leaving per minute of waiting."""
        weight = 500.0 * max(0.0, 1.0 - self.ended / 50)
        if self.exposure + weight <= 0:
            return 0.0
        return (self.left + weight * LEAVE_RATE_PRIOR) / (self.exposure + weight)

    def forget_a_little(self) -> None:
        self.calls *= COUNT_DECAY
        self.no_shows *= COUNT_DECAY
        self.left *= COUNT_DECAY
        self.exposure *= COUNT_DECAY


class _Calibration:
    """How far actual waits fell outside the simulated 10-90% range, in widths of the range."""

    def __init__(self, coverage: float) -> None:
        #: The share the shifts are fitted to hold; set by the estimator (see ``_Target``).
        self.coverage = coverage
        self.scores: deque[tuple[float, float]] = deque(maxlen=CALIBRATION_WINDOW)
        self.new = 0
        self.shift: tuple[float, float] = (0.0, 0.0)

    def add(self, low_score: float, high_score: float, coverage: float) -> None:
        self.scores.append((low_score, high_score))
        self.new += 1
        if len(self.scores) >= CALIBRATION_MIN and (
            self.new >= CALIBRATION_REFRESH or abs(coverage - self.coverage) > 0.02
        ):
            self.new = 0
            self.coverage = coverage
            self.shift = self._fit()

    def ready(self) -> bool:
        return len(self.scores) >= CALIBRATION_MIN

    def _fit(self) -> tuple[float, float]:
        """Shifts (low, high) so that ``coverage`` of the recorded waits fall inside.

        Misses are split evenly between the two sides; a wait cannot be below zero, so when
        the low end is mostly at zero the high end takes the whole allowance.
        """
        scores = list(self.scores)
        n = len(scores)
        miss = 1.0 - self.coverage
        lows = sorted(s[0] for s in scores)
        low_shift = _quantile(lows, 1.0 - miss / 2)
        kept = sorted(h for lo, h in scores if lo <= low_shift)
        inside = self.coverage * n
        if not kept:
            return low_shift, 0.0
        rank = min(len(kept), max(1, math.ceil(inside))) - 1
        return low_shift, kept[rank]


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of an already sorted, non-empty sequence."""
    n = len(sorted_values)
    if n == 1:
        return sorted_values[0]
    pos = q * (n - 1)
    i = int(pos)
    if i >= n - 1:
        return sorted_values[-1]
    frac = pos - i
    return sorted_values[i] * (1 - frac) + sorted_values[i + 1] * frac


def _deciles(sorted_times: list[float]) -> tuple[float, float, float]:
    """The 10th, 50th and 90th percentiles of sorted call times, none below zero.

    ``_quantile`` three times over, with where to look worked out once for each number of
    runs: a thousand waiting ask it a thousand times per estimate.
    """
    n = len(sorted_times)
    if n == 1:
        value = max(0.0, sorted_times[0])
        return value, value, value
    spots = _DECILE_SPOTS.get(n)
    if spots is None:
        spots = _DECILE_SPOTS[n] = tuple(_spot(n, q) for q in (0.10, 0.50, 0.90))
    out = []
    for i, frac in spots:
        value = sorted_times[i] if frac is None else sorted_times[i] * (1 - frac) + sorted_times[i + 1] * frac
        out.append(max(0.0, value))
    return out[0], out[1], out[2]


def _spot(n: int, q: float) -> tuple[int, float | None]:
    """Where ``_quantile`` looks in ``n`` sorted values for ``q``: (index, fraction or None)."""
    pos = q * (n - 1)
    i = int(pos)
    if i >= n - 1:
        return n - 1, None
    return i, pos - i


_DECILE_SPOTS: dict[int, tuple[tuple[int, float | None], ...]] = {}


def patience(seed: int, run: int, ticket_id: str, rate: float) -> float:
    """Minutes until a waiting patient gives up and leaves, in one run (exponential at ``rate``).

    Drawn from the patient and the run alone, not from a room's random numbers: a room that
    looks at a newcomer it does not call yet must not shift the draws of those it calls.
    """
    return _unit_patience(seed, run, ticket_id) / rate


def _unit_patience(seed: int, run: int, ticket_id: str) -> float:
    """``patience`` at a rate of one per minute (the draw itself, before the rate)."""
    u = (zlib.crc32(f"{seed}:{run}:{ticket_id}".encode()) + 0.5) / 4294967296.0
    return -math.log(1.0 - u)


class _Patience:
    """Each waiting patient's patience draws, kept: every estimate while they wait needs
    them again (a thousand waiting, forty runs: forty thousand hashes and logarithms), and
    they depend on nothing but the patient and the run."""

    #: Draws kept at most; past it they are made again (a day's patients are far fewer).
    LIMIT = 400_000

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._draws: dict[str, list[float]] = {}
        self._count = 0

    def units(self, ticket_id: str, runs: int) -> list[float]:
        """The patient's draws for runs ``0 .. runs - 1`` (at least)."""
        draws = self._draws.get(ticket_id)
        if draws is None or len(draws) < runs:
            if self._count >= self.LIMIT:
                self._draws.clear()
                self._count = 0
            draws = self._draws[ticket_id] = [_unit_patience(self.seed, run, ticket_id) for run in range(runs)]
            self._count += runs
        return draws


def _visit_key(service: str, checked_in: float) -> tuple[str, float]:
    """A visit as the calibration knows it between its first estimate and its end: the service
    and the check-in to the millisecond (minutes since the epoch in, seconds kept)."""
    return (service, round(checked_in * 60, 3))


#: A twister's 624 words as the C runs hand them back: native order, 32 bits each.
_WORDS = struct.Struct("=624I")


class _CountedRandom(random.Random):
    """A room's random numbers, counting the draws (the C runs take them on from there)."""

    drawn = 0

    def random(self) -> float:
        self.drawn += 1
        return super().random()


def _seed_bytes(seed: int) -> bytes:
    """``seed`` as ``random.seed`` takes a whole number: its 32-bit words, least significant first."""
    seed = abs(seed)
    return seed.to_bytes(max(1, (seed.bit_length() + 31) // 32) * 4, "little")


def _room_seed(seed: int, run: int, room_id: str) -> int:
    """The seed of one room's draws in one run: stable across processes (no ``hash()``)."""
    return (seed * 1009 + run) * 1_000_003 + zlib.crc32(room_id.encode("utf-8"))


@dataclass
class Forecast:
    """The simulation runs of one estimate, kept at their end: who is free when, in each run.

    A walk-in checking in at the back of a line is called, in each run, by the first room
    of their service to be free once everyone ahead is called, and draws from that room's
    own random numbers: so ``extend`` gives exactly what running the whole queue again
    with the newcomer would, at the cost of one step per run instead of the whole queue.
    Anything else (a call, a finish, a newcomer ahead of someone) needs a new forecast.
    """

    estimator: WaitEstimator
    t0: float
    size: int
    runs: int
    #: (priority, check-in minutes) of the last in line: a newcomer must come after it.
    last_key: tuple[int, float]
    service_index: dict[str, int]
    rooms_of: list[list[int]]
    leave: list[float]
    ends: list[tuple[int, list[random.Random], list[float]]]
    #: From the C runs: each room's (words, index) where its run ended, not yet given to its
    #: Random (``_settle``).  None: the Random objects are where the runs left them.
    unsettled: list | None
    rooms_next: Callable[[random.Random, int, int, float], float]
    #: Each waiting ticket's (minutes, low, high), in the order they were given: three
    #: columns from the C runs, or the estimates the Python runs made.  As the runs gave them:
    #: a newcomer carried on by ``extend`` is only in ``estimates``.
    ranges: Sequence[tuple[float, float, float]]
    #: The waiting tickets' ids, in the same order (the same caveat).
    ids: list[str]
    _estimates: dict[str, Estimate] | None = field(default=None, repr=False)

    @property
    def estimates(self) -> dict[str, Estimate]:
        """ticket id -> estimate, the newcomers ``extend`` added included.

        Made when first asked for: after a change the board takes ``ranges`` in order, and
        a thousand named tuples and a dictionary of them would be made for nothing.
        """
        if self._estimates is None:
            self._estimates = dict(zip(self.ids, map(Estimate._make, self.ranges), strict=True))
        return self._estimates

    def _settle(self) -> None:
        """Give each room's Random its numbers as the C runs left them (once, on first use)."""
        if self.unsettled is None:
            return
        for (_, rngs, _), states in zip(self.ends, self.unsettled, strict=True):
            for rng, (words, index) in zip(rngs, states, strict=True):
                rng.setstate((rng.VERSION, (*_WORDS.unpack(words), index), rng.gauss_next))
        self.unsettled = None

    def extend(self, ticket: WaitingTicket, now: datetime | None = None) -> Estimate | None:
        """The newcomer's estimate, and the runs carried on past them; None if it cannot be.

        ``now`` (default: the forecast's own moment) is when they check in; a room free
        before then calls them then.
        """
        si = self.service_index.get(ticket.service)
        key = (ticket.priority, ticket.minutes)
        settings = self.estimator.settings
        # Strictly after the last in line: at the same instant the rooms' order between two
        # lines would be decided by the order of the list, which a carried-on run cannot know.
        if si is None or key <= self.last_key or run_count(settings, self.size + 1) != self.runs:
            return None
        start = self._start(now)
        self._settle()
        times = [self._step(si, run, rngs, free, ticket.id, start) for run, rngs, free in self.ends]
        self.size += 1
        self.last_key = key
        estimate = self.estimator._estimate_of(times, ticket.service, key[1], start)
        self.estimates[ticket.id] = estimate
        return estimate

    def peek(self, service: str, now: datetime | None = None) -> Estimate | None:
        """The wait a walk-in of ``service`` checking in ``now`` would have (nothing is kept)."""
        si = self.service_index.get(service)
        if si is None:
            return None
        start = self._start(now)
        times = sorted(self._step(si, run, rngs, free, None, start) for run, rngs, free in self.ends)
        return self.estimator._range(
            max(0.0, _quantile(times, 0.10)), max(0.0, _quantile(times, 0.50)), max(0.0, _quantile(times, 0.90))
        )

    def _start(self, now: datetime | None) -> float:
        return self.t0 if now is None else max(self.t0, _minutes(now))

    def _step(
        self, si: int, run: int, rngs: list[random.Random], free: list[float], ticket_id: str | None, start: float
    ) -> float:
        """One run: when the newcomer of line ``si`` is reached (minutes after ``start``).

        With ``ticket_id`` the newcomer is kept (the room that calls them is busy after);
        without, it is a look only and nothing moves.
        """
        t, i = min((free[i], i) for i in self.rooms_of[si])
        t = max(t, start)
        rate = self.leave[si]
        seed = self.estimator.settings.seed
        gone = rate > 0 and start + patience(seed, run, ticket_id or "next", rate) < t
        if ticket_id is not None and not gone:
            free[i] = self.rooms_next(rngs[i], i, si, t)
        return t - start


#: The simulation runs in C when the extension was built (``pip install`` builds it where a
#: compiler is), else the Python loop of ``WaitEstimator.forecast``: the same figures.
try:
    from ._simulation import runs as _compiled_runs
except ImportError:  # pragma: no cover - no compiler where the service was installed
    _compiled_runs = None


#: The run count steps down in these steps as the queue grows, so that one more patient
#: rarely changes it (a changed count would move everyone's estimate).
RUN_STEP = 5


def run_count(settings: EstimatorSettings, size: int) -> int:
    """Simulation runs for a queue of ``size`` patients and rooms: fewer for long queues."""
    runs = settings.run_budget // max(1, size)
    runs -= runs % RUN_STEP
    return max(settings.min_runs, min(settings.max_runs, runs))


def _draw_above(values: list[float], threshold: float, rng: random.Random) -> float | None:
    """A random value among the sorted ``values`` above ``threshold`` (None if none is)."""
    i = bisect_right(values, threshold)
    n = len(values)
    if i >= n:
        return None
    return values[i + int(rng.random() * (n - i))]


class WaitEstimator:
    """Learns consultation lengths and answers "when will each waiting patient be called"."""

    def __init__(self, settings: EstimatorSettings) -> None:
        self.settings = settings
        self._services: dict[str, _Service] = {}
        #: (room, service) -> recent consultation lengths in that room
        self._rooms: dict[tuple[str, str], _Decayed] = {}
        self._room_last_end: dict[str, float] = {}
        self._start_gaps = _Sample(START_WINDOW)
        self._break_gaps = _Sample(START_WINDOW)
        self._all_gaps = _Sample(GAP_WINDOW)
        self._days: dict[date, _Day] = {}
        #: (service, checked-in second) -> (q10, q50, q90, low, high) of the first estimate
        self._pending: dict[tuple[str, float], tuple[float, float, float, float, float]] = {}
        self._calibration = [_Calibration(settings.coverage) for _ in range(len(CALIBRATION_BANDS) + 1)]
        self._pooled_calibration = _Calibration(settings.coverage)
        self._target = settings.coverage
        self._patience = _Patience(settings.seed)

    # -- learning ---------------------------------------------------------------------------

    def _service(self, service: str) -> _Service:
        stats = self._services.get(service)
        if stats is None:
            default = self.settings.default_minutes.get(service, self.settings.fallback_minutes)
            stats = self._services[service] = _Service(float(default))
        return stats

    def _day(self, t: float) -> _Day:
        moment = _EPOCH + timedelta(minutes=t)
        day = moment.astimezone(self.settings.hours.timezone).date()
        frame = self._days.get(day)
        if frame is None:
            if len(self._days) > 64:
                self._days.clear()
            frame = self._days[day] = _Day(self.settings.hours, day)
        return frame

    def learn(self, visit: PastVisit) -> None:
        """Take in one ended visit; call in the order the visits ended."""
        stats = self._service(visit.service)
        stats.forget_a_little()
        stats.ended += 1
        checked_in = _minutes(visit.checked_in_at)
        ended = _minutes(visit.ended_at)
        record = self._pending.pop(_visit_key(visit.service, checked_in), None)
        called = _minutes(visit.called_at) if visit.called_at is not None else None
        if visit.outcome in (SERVED, NO_SHOW) and called is not None:
            waited = max(0.0, called - checked_in)
            if record is not None:
                self._score(record, waited)
            stats.exposure += waited
            stats.calls += 1
            stats.called += 1
            day = self._day(called)
            if visit.outcome == NO_SHOW:
                stats.no_shows += 1
                block = min(NO_SHOW_BLOCK_MAX, day.calling_minutes(called, max(called, ended)))
                stats.no_show_blocks.add(block)
            if visit.room is not None:
                self._learn_gap(visit.room, stats, day, checked_in, called)
            if visit.outcome == SERVED and visit.finished_at is not None:
                minutes = min(DURATION_MAX, max(0.0, _minutes(visit.finished_at) - called))
                stats.durations.add(minutes)
                stats._shape = None
                stats.level.add(called, minutes, LEVEL_MEMORY)
                if visit.room is not None:
                    room = self._rooms.get((visit.room, visit.service))
                    if room is None:
                        room = self._rooms[(visit.room, visit.service)] = _Decayed()
                    room.add(called, minutes, ROOM_MEMORY)
        elif visit.outcome == LEFT:
            stats.left += 1
            stats.exposure += max(0.0, ended - checked_in)
        if visit.room is not None:
            last = self._room_last_end.get(visit.room)
            self._room_last_end[visit.room] = ended if last is None else max(last, ended)

    def _learn_gap(self, room: str, stats: _Service, day: _Day, checked_in: float, called: float) -> None:
        """How long the room stayed idle while this patient was already waiting."""
        previous = self._room_last_end.get(room)
        first_today = previous is None or previous < day.start
        since = checked_in if first_today else max(previous, checked_in)
        gap = day.calling_minutes(since, called)
        if first_today:
            self._start_gaps.add(gap)
        elif day.in_break(since):
            # Idle from within a break (a consultation ran into lunch): how late the room
            # starts calling again after the break.
            self._break_gaps.add(gap)
        else:
            stats.gaps.add(gap)
            self._all_gaps.add(gap)

    def _score(self, record: tuple[float, float, float, float, float], actual: float) -> None:
        q10, q50, q90, low, high = record
        width = max(1.0, (q90 - q10) / 2)
        low_score, high_score = (q10 - actual) / width, (actual - q90) / width
        # Adaptive target: a wait of zero is inside any range starting at zero, so short
        # predicted waits are covered more often than asked; the others make up for it, and
        # the share of actual waits inside the issued ranges stays at ``coverage`` overall.
        inside = 1.0 if low - 1e-9 <= actual <= high + 1e-9 else 0.0
        target = self._target + CALIBRATION_STEP * (self.settings.coverage - inside)
        self._target = min(COVERAGE_TARGET_MAX, max(COVERAGE_TARGET_MIN, target))
        self._band(q50).add(low_score, high_score, self._target)
        self._pooled_calibration.add(low_score, high_score, self._target)

    def _band(self, q50: float) -> _Calibration:
        return self._calibration[self._bands(q50)]

    @staticmethod
    def _bands(q50: float) -> int:
        """The calibration band of a median wait (its index)."""
        for i, edge in enumerate(CALIBRATION_BANDS):
            if q50 < edge:
                return i
        return len(CALIBRATION_BANDS)

    def _shifts(self, band: int) -> tuple[float, float]:
        """How far a range of ``band`` is widened (low, high): the band's own calibration once
        it has seen enough, else all bands' together, else not at all."""
        calibration = self._calibration[band]
        if not calibration.ready():
            calibration = self._pooled_calibration
        return calibration.shift if calibration.ready() else (0.0, 0.0)

    # -- estimating -------------------------------------------------------------------------

    def _gaps_for(self, stats: _Service) -> list[float]:
        if len(stats.gaps) >= 20:
            return stats.gaps.sorted()
        return self._all_gaps.sorted()

    def estimate(
        self,
        now: datetime,
        waiting: Sequence[WaitingTicket],
        rooms: Sequence[RoomNow],
    ) -> dict[str, Estimate]:
        """Estimate for every waiting ticket, keyed by ticket id."""
        forecast = self.forecast(now, waiting, rooms)
        return forecast.estimates if forecast is not None else {}

    def forecast(
        self,
        now: datetime,
        waiting: Sequence[WaitingTicket],
        rooms: Sequence[RoomNow],
        services: Sequence[str] = (),
    ) -> Forecast | None:
        """Estimate every waiting ticket, and keep the runs' end so a newcomer can be added.

        ``Forecast.extend`` then estimates a walk-in checking in at the back without running
        the whole queue again, and ``peek`` what one would wait (see ``Forecast``).
        ``services``: lines to simulate even with nobody in them, so that ``peek`` can
        answer for them too.  None when nobody waits.
        """
        if not waiting:
            return None
        t0 = _minutes(now)
        day = self._day(t0)
        settings = self.settings

        # The lines, by service, in the order given.
        service_names: list[str] = []
        service_index: dict[str, int] = {}
        lines: list[list[int]] = []
        keys: list[tuple[int, float, int]] = []
        for j, ticket in enumerate(waiting):
            si = service_index.get(ticket.service)
            if si is None:
                si = service_index[ticket.service] = len(service_names)
                service_names.append(ticket.service)
                lines.append([])
            lines[si].append(j)
            keys.append((ticket.priority, ticket.minutes, j))
        for service in services:
            if service not in service_index:
                service_index[service] = len(service_names)
                service_names.append(service)
                lines.append([])
        stats = [self._service(name) for name in service_names]
        means = [s.mean(t0) for s in stats]
        shapes = [s.shape() for s in stats]
        gaps = [self._gaps_for(s) for s in stats]
        no_show = [s.no_show_rate() for s in stats]
        blocks = [s.no_show_blocks.sorted() or [NO_SHOW_BLOCK_PRIOR] for s in stats]
        leave = [s.leave_rate() for s in stats]
        # Since when each line has waited (an empty one: a walk-in would come now).
        earliest = [min((keys[j][1] for j in line), default=t0) for line in lines]

        # The rooms that can call someone in these lines.
        room_ids: list[str] = []
        room_services: list[list[int]] = []
        room_means: list[dict[int, float]] = []
        room_start: list[tuple] = []
        served_by_open: set[int] = set()
        paused: dict[int, list[RoomNow]] = {}
        for room in rooms:
            mine = [service_index[s] for s in dict.fromkeys(room.services) if s in service_index]
            if not mine:
                continue
            if not room.open:
                for si in mine:
                    paused.setdefault(si, []).append(room)
                continue
            state = self._room_state(room, mine, t0, day, earliest, service_names, gaps)
            if state is None:  # not come in today, long after others did: as good as paused
                for si in mine:
                    paused.setdefault(si, []).append(replace(room, open=False))
                continue
            served_by_open.update(mine)
            room_ids.append(room.id)
            room_services.append(mine)
            room_means.append({si: self._room_mean(room.id, service_names[si], means[si], t0) for si in mine})
            room_start.append(state)
        for si in range(len(service_names)):
            if si in served_by_open:
                continue
            # Nobody open calls this line: a paused room will come back, or (a service no room
            # is set up for) a stand-in room with the service's own figures.
            stand_ins = paused.get(si) or [RoomNow(id=f"~{service_names[si]}", services=(service_names[si],))]
            for room in stand_ins:
                room_ids.append(room.id)
                room_services.append([si])
                room_means.append({si: self._room_mean(room.id, service_names[si], means[si], t0)})
                state = ("paused", PAUSE_PRIOR) if not room.open else ("idle", 0.0, [])
                room_start.append(state)
            served_by_open.add(si)

        n_tickets = len(waiting)
        n_rooms = len(room_services)
        runs = run_count(settings, n_tickets + n_rooms)
        heappush, heappop = heapq.heappush, heapq.heappop
        add = day.add
        in_break = day.in_break
        breaks = day.breaks
        break_gaps = self._break_gaps.sorted()
        patience_of = self._patience.units
        line_lengths = [len(line) for line in lines]
        gap_counts = [len(g) for g in gaps]
        shape_counts = [len(s) for s in shapes]

        # From here on no break lies ahead and rooms may call: ``add`` is a plain sum.
        quiet = max(day.opens, breaks[-1][1]) if breaks else day.opens

        def rooms_next(rng: random.Random, i: int, si: int, t: float) -> float:
            """When room ``i``, calling a patient of line ``si`` at ``t``, calls again."""
            rand = rng.random
            if rand() < no_show[si]:
                busy = blocks[si][int(rand() * len(blocks[si]))]
            else:
                busy = room_means[i][si] * shapes[si][int(rand() * shape_counts[si])]
            end = t + busy
            if end >= quiet:
                # What ``add`` gives past the last break (most of a long queue), without the walk.
                gap = gaps[si][int(rand() * gap_counts[si])] if gap_counts[si] else 0.0
                return end + gap if gap > 0 else end
            if breaks and in_break(end):
                gap = break_gaps[int(rand() * len(break_gaps))] if break_gaps else 0.0
            else:
                gap = gaps[si][int(rand() * gap_counts[si])] if gap_counts[si] else 0.0
            return add(end, gap)

        units = [patience_of(ticket.id, runs) for ticket in waiting]
        single = [mine[0] if len(mine) == 1 else -1 for mine in room_services]
        ends: list[tuple[int, list[random.Random], list[float]]] = []
        # Each room draws from a seed of its own in each run, in the order it reaches
        # patients: a newcomer at the back of a line changes no draw (and so no estimate)
        # of anyone ahead, and ``Forecast.extend`` can carry a run on exactly.
        seeds = [[_room_seed(settings.seed, run, room_id) for room_id in room_ids] for run in range(runs)]
        # Counted only where C takes the numbers on: the Python loop draws thousands more.
        make_rng = _CountedRandom if _compiled_runs is not None else random.Random
        all_rngs = [[make_rng(seed) for seed in run_seeds] for run_seeds in seeds]
        first_calls = [[self._first_call(room_start[i], t0, day, rngs[i]) for i in range(n_rooms)] for rngs in all_rngs]
        unsettled = None
        if _compiled_runs is not None:
            # The same runs in C (``_simulation.c``): the figures to the last bit, the time a
            # fraction.  Each room's numbers are taken on after its first calls: C seeds its
            # own twister as Python did and skips the words those calls drew.
            figures, free_at, unsettled = _compiled_runs(
                t0,
                [
                    [(_seed_bytes(seed), 2 * rng.drawn) for seed, rng in zip(run_seeds, rngs, strict=True)]
                    for run_seeds, rngs in zip(seeds, all_rngs, strict=True)
                ],
                first_calls,
                room_services,
                lines,
                [key[0] for key in keys],
                [key[1] for key in keys],
                leave,
                units,
                no_show,
                blocks,
                [[room_means[i].get(si, 0.0) for si in range(len(service_names))] for i in range(n_rooms)],
                shapes,
                gaps,
                break_gaps,
                [moment for pair in breaks for moment in pair],
                day.opens,
                quiet,
                CALIBRATION_BANDS,
                [shift for band in range(len(CALIBRATION_BANDS) + 1) for shift in self._shifts(band)],
            )
            # The rooms' numbers as the runs left them are given to the Random objects only
            # if a newcomer is carried on (``Forecast.extend``): most forecasts never are.
            ends.extend((run, all_rngs[run], free_at[run]) for run in range(runs))
        else:
            calls: list[list[float]] = [[] for _ in range(n_tickets)]
            for run, rngs in enumerate(all_rngs):
                heap = [(first_call, i) for i, first_call in enumerate(first_calls[run])]
                heapq.heapify(heap)
                free = [0.0] * n_rooms
                pointer = [0] * len(lines)
                remaining = n_tickets
                while heap and remaining:
                    t, i = heappop(heap)
                    # The room calls the first in line among its services; one who gave up
                    # waiting before the room got to them is gone, and the next is called.
                    only = single[i]
                    while True:
                        if only >= 0:  # a room of one service: no lines to compare
                            best = only if pointer[only] < line_lengths[only] else -1
                        else:
                            best = -1
                            best_key = None
                            for si in room_services[i]:
                                p = pointer[si]
                                if p < line_lengths[si]:
                                    key = keys[lines[si][p]]
                                    if best_key is None or key < best_key:
                                        best, best_key = si, key
                        if best < 0:
                            break
                        j = lines[best][pointer[best]]
                        pointer[best] += 1
                        remaining -= 1
                        calls[j].append(t - t0)
                        rate = leave[best]
                        if rate > 0 and t0 + units[j][run] / rate < t:
                            continue  # left before the room got to them: nobody comes
                        break
                    if best < 0:
                        free[i] = t  # nothing left for this room: free from now on
                        continue
                    heappush(heap, (rooms_next(rngs[i], i, best, t), i))
                for t, i in heap:
                    free[i] = t
                ends.append((run, rngs, free))

        if _compiled_runs is not None:
            q10s, q50s, q90s, lows, highs = figures
            ranges: Sequence[tuple[float, float, float]] = list(zip(q50s, lows, highs, strict=True))
            # Only visits not kept yet (a newcomer now and then) are looked at twice.
            pending = self._pending
            for j in [j for j, ticket in enumerate(waiting) if ticket.visit not in pending]:
                self._keep_first(waiting[j].visit, (q10s[j], q50s[j], q90s[j], lows[j], highs[j]))
        else:
            estimate_of = self._estimate_of
            ranges = [estimate_of(calls[j], ticket.service, keys[j][1], t0) for j, ticket in enumerate(waiting)]
        if len(self._pending) > PENDING_MAX:
            self._prune(t0)
        rooms_of = [[i for i in range(n_rooms) if si in room_services[i]] for si in range(len(service_names))]
        return Forecast(
            estimator=self,
            t0=t0,
            size=n_tickets + n_rooms,
            runs=runs,
            last_key=max(keys)[:2],
            service_index=service_index,
            rooms_of=rooms_of,
            leave=leave,
            ends=ends,
            unsettled=unsettled,
            rooms_next=rooms_next,
            ranges=ranges,
            ids=[ticket.id for ticket in waiting],
        )

    def _estimate_of(self, times: list[float], service: str, checked_in: float, t0: float) -> Estimate:
        """The estimate from one ticket's simulated call times (minutes after ``t0``).

        The first estimate of each visit is kept to learn, once the visit is called, how
        well the ranges cover (the calibration).
        """
        if not times:  # cannot happen with a stand-in room per line; kept for safety
            times = [0.0]
        times.sort()
        q10, q50, q90 = _deciles(times)
        estimate = self._range(q10, q50, q90)
        self._keep_first(_visit_key(service, checked_in), (q10, q50, q90, estimate.low, estimate.high))
        return estimate

    def _keep_first(self, visit: tuple[str, float], figures: tuple[float, ...]) -> None:
        """Keep a visit's first estimate (q10, q50, q90, low, high) for the calibration."""
        if visit not in self._pending:
            self._pending[visit] = figures

    def _range(self, q10: float, q50: float, q90: float) -> Estimate:
        low_shift, high_shift = self._shifts(self._bands(q50))
        width = max(1.0, (q90 - q10) / 2)
        low = max(0.0, min(q50, q10 - low_shift * width))
        high = max(q50, q90 + high_shift * width)
        return Estimate(q50, low, high)

    def _prune(self, t0: float) -> None:
        horizon = (t0 - 24 * 60) * 60
        self._pending = {k: v for k, v in self._pending.items() if k[1] >= horizon}
        if len(self._pending) > PENDING_MAX:
            self._pending.clear()

    def _room_mean(self, room: str, service: str, service_mean: float, t0: float) -> float:
        own = self._rooms.get((room, service))
        if own is None:
            return service_mean
        return own.mean(t0, ROOM_MEMORY, service_mean, ROOM_PRIOR)

    def _room_state(self, room: RoomNow, mine: list[int], t0: float, day: _Day, earliest, names, gaps):
        """How the room's next call is to be drawn: after the running consultation, or after
        an idle gap (a first call of the day is a late start)."""
        if room.serving_since is not None:
            service = room.serving_service or names[mine[0]]
            stats = self._service(service)
            elapsed = max(0.0, t0 - _minutes(room.serving_since))
            mean = self._room_mean(room.id, service, stats.mean(t0), t0)
            return ("busy", elapsed, mean, stats.shape(), self._gaps_for(stats), self._break_gaps.sorted())
        free = _minutes(room.free_since) if room.free_since is not None else self._room_last_end.get(room.id)
        started = free is not None and free >= day.start
        waiting_since = min(earliest[si] for si in mine)
        since = max(free, waiting_since) if started else waiting_since
        idle = day.calling_minutes(since, t0)
        if not started:
            pool = self._start_gaps.sorted()
            if idle > (pool[-1] if pool else 0.0) + ABSENT_AFTER:
                return None
        elif day.in_break(since):
            pool = self._break_gaps.sorted()
        else:
            pool = gaps[mine[0]]
        return ("idle", idle, pool)

    def _first_call(self, state, t0: float, day: _Day, rng: random.Random) -> float:
        kind = state[0]
        if kind == "busy":
            _, elapsed, mean, shape, gaps, break_gaps = state
            x = _draw_above(shape, elapsed / mean, rng) if mean > 0 else None
            left = x * mean - elapsed if x is not None else rng.expovariate(1.0 / max(2.0, 0.3 * elapsed))
            end = t0 + left
            pool = break_gaps if day.in_break(end) else gaps
            gap = pool[int(rng.random() * len(pool))] if pool else 0.0
            return day.add(end, gap)
        if kind == "paused":
            return day.add(t0, rng.expovariate(1.0 / state[1]))
        _, idle, pool = state
        if not pool:
            return day.next_call(t0)
        if idle < GAP_GRACE:
            return day.add(t0, pool[int(rng.random() * len(pool))])
        x = _draw_above(pool, idle, rng)
        rest = x - idle if x is not None else rng.expovariate(1.0 / max(5.0, idle))
        return day.add(t0, rest)
