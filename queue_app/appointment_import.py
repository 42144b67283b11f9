"""``queue-app import-appointments FILE.csv``: the clinic's booking export, all or nothing.

Every row is validated first (the same rules as ``POST /api/v1/appointments``); one bad row
and nothing is imported, and every bad row is listed with its line number and reason, so the
clinic fixes the file in one go.  The same reference at the same time is the same appointment:
importing a file twice adds nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from .appointments import Appointments, Booking, read_booking
from .config import Settings
from .queue import Actor, QueueError

COLUMNS = ("service", "starts_at", "phone", "language", "preparation", "reference")
IMPORTER = Actor("import", "csv")


@dataclass(frozen=True)
class BadLine:
    """A row that cannot be imported: its line in the file (the header is line 1) and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportResult:
    """What an import did: added, already there (same reference and time), refused lines."""

    added: int = 0
    already: int = 0
    bad: list[BadLine] = field(default_factory=list)


def read_bookings(text: str, settings: Settings, now) -> tuple[list[Booking], list[BadLine]]:
    """Every row as a booking, and every bad row with its reason (times without an offset are
    the clinic's local time)."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(rows, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        return [], [BadLine(1, f"the header must be {','.join(COLUMNS)}")]
    bookings: list[Booking] = []
    bad: list[BadLine] = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(COLUMNS):
            bad.append(BadLine(number, f"{len(row)} columns, expected {len(COLUMNS)}"))
            continue
        try:
            bookings.append(
                read_booking(dict(zip(COLUMNS, row, strict=True)), settings, now, zone_if_missing=settings.timezone)
            )
        except QueueError as exc:
            bad.append(BadLine(number, f"{exc.field}: {exc.message}"))
    return bookings, bad


def import_appointments(session: Session, clock, settings: Settings, text: str, base_url: str) -> ImportResult:
    """Validate every row, then book them all in the caller's transaction, or none."""
    bookings, bad = read_bookings(text, settings, clock.now())
    result = ImportResult(bad=bad)
    if bad:
        return result
    desk = Appointments(session, clock, settings, base_url)
    for booking in bookings:
        _, created = desk.book(booking, IMPORTER)
        if created:
            result.added += 1
        else:
            result.already += 1
    return result
