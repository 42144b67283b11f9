"""Importing the clinic's booking export: every bad line listed, nothing or everything imported."""

from __future__ import annotations

from sqlalchemy import func, select

from queue_app.appointment_import import import_appointments
from queue_app.models import Appointment

from .test_cli import run

HEADER = "service,starts_at,phone,language,preparation,reference\n"
GOOD = HEADER + (
    "general,2026-11-24T10:30:00+09:00,010-1234-5678,ko,endoscopy,EMR-1\n"
    "vaccination,2026-11-24 11:00,010-2222-3333,en,,EMR-2\n"
)


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Appointment))


def test_a_good_file_is_imported_once_however_often_it_is_run(session, clock, settings):
    first = import_appointments(session, clock, settings, GOOD, "https://clinic.example")
    session.commit()
    again = import_appointments(session, clock, settings, GOOD, "https://clinic.example")
    session.commit()
    assert (first.added, first.already, first.bad) == (2, 0, [])
    assert (again.added, again.already) == (0, 2)
    assert count(session) == 2
    local = session.scalar(select(Appointment).where(Appointment.reference == "EMR-2"))
    # A time without an offset is the clinic's own (Seoul).
    assert local.starts_at.isoformat() == "2026-11-24T02:00:00+00:00"


def test_one_bad_line_imports_nothing_and_every_bad_line_is_listed(session, clock, settings):
    text = GOOD + (
        "dentistry,2026-11-24T12:00:00+09:00,,,,EMR-3\n"
        "general,24/11/2026 12:00,,,,EMR-4\n"
        "general,2026-11-20T12:00:00+09:00,,,,EMR-5\n"
        "general,2026-11-24T12:00:00+09:00,12,,,EMR-6\n"
        "general,2026-11-24T12:00:00+09:00,,,fasting,EMR-7\n"
        "general,2026-11-24T12:00:00+09:00\n"
    )
    result = import_appointments(session, clock, settings, text, "")
    session.commit()
    assert [(bad.line, bad.reason.split(":")[0]) for bad in result.bad] == [
        (4, "service"),
        (5, "starts_at"),
        (6, "starts_at"),
        (7, "phone"),
        (8, "preparation"),
        (9, "2 columns, expected 6"),
    ]
    assert result.added == 0 and count(session) == 0


def test_a_wrong_header_imports_nothing(session, clock, settings):
    result = import_appointments(session, clock, settings, "service,time\ngeneral,2026-11-24 10:00\n", "")
    assert [str(bad) for bad in result.bad] == [
        "line 1: the header must be service,starts_at,phone,language,preparation,reference"
    ]
    assert count(session) == 0


def test_the_command_imports_all_or_nothing(tmp_path):
    run(tmp_path, "db", "upgrade")
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "general,2030-01-07T10:30:00+09:00,010-1234-5678,ko,,EMR-1\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "general,2030-01-07T11:30:00+09:00,,,,EMR-2\ngeneral,soon,,,,EMR-3\n", encoding="utf-8")
    refused = run(tmp_path, "import-appointments", str(bad), check=False)
    assert refused.returncode == 1
    assert "line 3: starts_at" in refused.stderr and "nothing imported: 1 bad line(s)" in refused.stderr
    assert "imported 1 appointment(s); 0 already there" in run(tmp_path, "import-appointments", str(good)).stdout
    assert "imported 0 appointment(s); 1 already there" in run(tmp_path, "import-appointments", str(good)).stdout
