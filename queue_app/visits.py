"""The visit log: one CSV row per visit, read and written here.

Header (exactly)::

    visit_id,service,checked_in_at,called_at,finished_at,room,outcome

Timestamps are ISO 8601 with a UTC offset (``2026-03-02T09:05:52+09:00``).  ``outcome`` is

* ``served``: called and finished; every column is filled in;
* ``no_show``: called but did not come; ``finished_at`` is empty;
* ``left``: left before being called; ``called_at``, ``finished_at`` and ``room`` are empty.

Rows are sorted by ``checked_in_at`` (``write_visits`` sorts; ``read_visits`` accepts any
order and returns the visits sorted, keeping the file's order among equal times).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO

HEADER = ("visit_id", "service", "checked_in_at", "called_at", "finished_at", "room", "outcome")
OUTCOMES = ("served", "no_show", "left")


@dataclass(frozen=True)
class Visit:
    """One visit of the log."""

    visit_id: str
    service: str
    checked_in_at: datetime
    called_at: datetime | None
    finished_at: datetime | None
    room: str | None
    outcome: str

    @property
    def wait_minutes(self) -> float | None:
        """Minutes from check-in to call, for visits that were called."""
        if self.called_at is None:
            return None
        return (self.called_at - self.checked_in_at).total_seconds() / 60

    @property
    def ended_at(self) -> datetime | None:
        """The finish of a served visit; ``None`` otherwise (the log does not say)."""
        return self.finished_at


class VisitLogError(ValueError):
    """A visit log that cannot be read; the message names the file's line."""


def _open(path_or_file, mode: str):
    if isinstance(path_or_file, (str, os.PathLike)):
        return open(path_or_file, mode, newline="", encoding="utf-8"), True
    return path_or_file, False


def _parse_time(text: str, column: str, line: int, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise VisitLogError(f"{where}line {line}: {column} {text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise VisitLogError(f"{where}line {line}: {column} {text!r} has no UTC offset (write e.g. +09:00)")
    return moment


def _parse_row(row: list[str], line: int, where: str) -> Visit:
    if len(row) != len(HEADER):
        raise VisitLogError(f"{where}line {line}: expected {len(HEADER)} columns, found {len(row)}")
    visit_id, service, checked_in, called, finished, room, outcome = (cell.strip() for cell in row)
    if not visit_id:
        raise VisitLogError(f"{where}line {line}: visit_id is empty")
    if not service:
        raise VisitLogError(f"{where}line {line}: service is empty")
    if outcome not in OUTCOMES:
        raise VisitLogError(f"{where}line {line}: outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    if not checked_in:
        raise VisitLogError(f"{where}line {line}: checked_in_at is empty")
    checked_in_at = _parse_time(checked_in, "checked_in_at", line, where)
    called_at = _parse_time(called, "called_at", line, where) if called else None
    finished_at = _parse_time(finished, "finished_at", line, where) if finished else None
    if outcome == "left":
        if called_at or finished_at or room:
            raise VisitLogError(f"{where}line {line}: a 'left' visit has no called_at, finished_at or room")
    else:
        if called_at is None:
            raise VisitLogError(f"{where}line {line}: a {outcome!r} visit needs called_at")
        if not room:
            raise VisitLogError(f"{where}line {line}: a {outcome!r} visit needs a room")
        if called_at < checked_in_at:
            raise VisitLogError(f"{where}line {line}: called_at is before checked_in_at")
        if outcome == "served":
            if finished_at is None:
                raise VisitLogError(f"{where}line {line}: a 'served' visit needs finished_at")
            if finished_at < called_at:
                raise VisitLogError(f"{where}line {line}: finished_at is before called_at")
        elif finished_at is not None:
            raise VisitLogError(f"{where}line {line}: a 'no_show' visit has no finished_at")
    return Visit(visit_id, service, checked_in_at, called_at, finished_at, room or None, outcome)


def read_visits(path_or_file: str | os.PathLike | IO[str]) -> list[Visit]:
    """Read a visit log (a path or an open text file); visits sorted by check-in.

    Raises ``VisitLogError`` (a ``ValueError``) naming the line of the first bad row.
    """
    fh, owned = _open(path_or_file, "r")
    where = f"{os.fspath(path_or_file)}: " if owned else ""
    try:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise VisitLogError(f"{where}line 1: the file is empty (expected the header {','.join(HEADER)})") from None
        except csv.Error as exc:
            raise VisitLogError(f"{where}line 1: {exc}") from None
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        if tuple(h.strip() for h in header) != HEADER:
            raise VisitLogError(f"{where}line 1: the header must be {','.join(HEADER)}, found {','.join(header)}")
        visits: list[Visit] = []
        seen: dict[str, int] = {}
        try:
            for row in reader:
                line = reader.line_num
                if not row or all(not cell.strip() for cell in row):
                    continue
                visit = _parse_row(row, line, where)
                if visit.visit_id in seen:
                    raise VisitLogError(
                        f"{where}line {line}: visit_id {visit.visit_id!r} already used on line {seen[visit.visit_id]}"
                    )
                seen[visit.visit_id] = line
                visits.append(visit)
        except csv.Error as exc:
            raise VisitLogError(f"{where}line {reader.line_num}: {exc}") from None
    finally:
        if owned:
            fh.close()
    visits.sort(key=lambda v: v.checked_in_at)
    return visits


def _format_time(moment: datetime | None, column: str, visit_id: str) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"visit {visit_id}: {column} has no time zone")
    return moment.isoformat()


def format_visit(visit: Visit) -> list[str]:
    """One visit as the log's cells."""
    return [
        visit.visit_id,
        visit.service,
        _format_time(visit.checked_in_at, "checked_in_at", visit.visit_id),
        _format_time(visit.called_at, "called_at", visit.visit_id),
        _format_time(visit.finished_at, "finished_at", visit.visit_id),
        visit.room or "",
        visit.outcome,
    ]


def write_visits(visits: Iterable[Visit], path_or_file: str | os.PathLike | IO[str]) -> int:
    """Write a visit log sorted by check-in (a path or an open text file); return the count."""
    rows = sorted(visits, key=lambda v: v.checked_in_at)
    cells = []
    for visit in rows:
        if visit.outcome not in OUTCOMES:
            raise ValueError(f"visit {visit.visit_id}: outcome {visit.outcome!r} is not one of {', '.join(OUTCOMES)}")
        cells.append(format_visit(visit))
    fh, owned = _open(path_or_file, "w")
    try:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(cells)
    finally:
        if owned:
            fh.close()
    return len(rows)


def visits_to_text(visits: Iterable[Visit]) -> str:
    """The log as a string (handy for tests and small exports)."""
    buffer = io.StringIO()
    write_visits(visits, buffer)
    return buffer.getvalue()
