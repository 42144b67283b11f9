"""The wait estimator: when will each waiting patient be called, with an 80% range.

The same code serves the live server and `queue-app backtest`, so it knows nothing of the
database, Flask or CSV files.  It is fed what has happened (``learn``) and asked about the
queue as it stands now (``estimate``).  Everything it is given was known at ``now``, which
keeps it strictly causal: the backtest replays a log and asks at each check-in.

This first version is deliberately simple (people ahead x recent mean duration / open
rooms); issue 4 replaces the model behind the same interface.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

#: Priority ranks: lower goes first.  Stored on tickets and passed through here.
PRIORITY_URGENT = 0
PRIORITY_APPOINTMENT = 1
PRIORITY_WALK_IN = 2


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


@dataclass(frozen=True)
class Estimate:
    """Minutes from ``now`` until the patient is called: a central figure and an 80% range."""

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


@dataclass(frozen=True)
class RoomNow:
    """A room as it stands now.  A paused room serves nobody until it resumes."""

    id: str
    services: tuple[str, ...]
    open: bool = True
    #: When the patient now in the room was called; ``None`` when the room is free.
    serving_since: datetime | None = None
    serving_service: str | None = None


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


class WaitEstimator:
    """Learns consultation lengths and answers "when will each waiting patient be called"."""

    def __init__(self, settings: EstimatorSettings) -> None:
        self.settings = settings
        self._durations: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=10))

    def learn(self, visit: PastVisit) -> None:
        """Take in one ended visit; call in the order the visits ended."""
        if visit.outcome == "served" and visit.called_at and visit.finished_at:
            minutes = (visit.finished_at - visit.called_at).total_seconds() / 60
            self._durations[visit.service].append(minutes)

    def _mean_minutes(self, service: str) -> float:
        durations = self._durations.get(service)
        if durations:
            return sum(durations) / len(durations)
        return self.settings.default_minutes.get(service, self.settings.fallback_minutes)

    def estimate(
        self,
        now: datetime,
        waiting: Sequence[WaitingTicket],
        rooms: Sequence[RoomNow],
    ) -> dict[str, Estimate]:
        """Estimate for every waiting ticket, keyed by ticket id."""
        open_rooms: dict[str, int] = defaultdict(int)
        for room in rooms:
            if room.open:
                for service in room.services:
                    open_rooms[service] += 1
        ahead: dict[str, int] = defaultdict(int)
        result: dict[str, Estimate] = {}
        for ticket in waiting:
            mean = self._mean_minutes(ticket.service)
            minutes = ahead[ticket.service] * mean / max(open_rooms[ticket.service], 1)
            result[ticket.id] = Estimate(minutes, minutes * 0.7, minutes * 1.4 + mean / 2)
            ahead[ticket.service] += 1
        return result
