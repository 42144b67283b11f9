"""Reading and writing the visit log."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queue_app.visits import HEADER, Visit, read_visits, visits_to_text, write_visits

SEOUL = ZoneInfo("Asia/Seoul")
DATA = Path(__file__).resolve().parent.parent / "data"
HEAD = ",".join(HEADER)


def visits() -> list[Visit]:
    t = datetime(2026, 3, 2, 8, 46, 3, tzinfo=SEOUL)
    return [
        Visit("20260302-0001", "general", t, t + timedelta(minutes=14), t + timedelta(minutes=20), "1", "served"),
        Visit("20260302-0002", "general", t + timedelta(minutes=1), t + timedelta(minutes=20), None, "2", "no_show"),
        Visit("20260302-0003", "pediatrics", t + timedelta(minutes=2, microseconds=250000), None, None, None, "left"),
        # Another offset is kept as written.
        Visit(
            "20260302-0004",
            "vaccination",
            datetime(2026, 3, 2, 0, 0, 5, tzinfo=UTC),
            datetime(2026, 3, 2, 0, 9, 0, tzinfo=UTC),
            datetime(2026, 3, 2, 0, 12, 30, tzinfo=UTC),
            "V1",
            "served",
        ),
    ]


def test_round_trip_through_a_file(tmp_path):
    path = tmp_path / "visits.csv"
    assert write_visits(visits(), path) == 4
    text = path.read_text()
    assert text.splitlines()[0] == HEAD
    assert "2026-03-02T08:46:03+09:00" in text
    again = read_visits(path)
    assert again == sorted(visits(), key=lambda v: v.checked_in_at)
    assert again[0].checked_in_at.utcoffset() == timedelta(hours=9)
    # Writing what was read gives the same bytes.
    assert visits_to_text(again) == text


def test_round_trip_through_text_streams():
    buffer = io.StringIO()
    write_visits(visits(), buffer)
    buffer.seek(0)
    assert read_visits(buffer) == sorted(visits(), key=lambda v: v.checked_in_at)


def test_rows_are_written_and_returned_in_check_in_order():
    shuffled = list(reversed(visits()))
    lines = visits_to_text(shuffled).splitlines()[1:]
    assert [line.split(",")[0] for line in lines] == [
        "20260302-0001",
        "20260302-0002",
        "20260302-0003",
        "20260302-0004",
    ]
    unsorted = HEAD + "\n" + "\n".join(reversed(lines)) + "\n"
    assert [v.visit_id for v in read_visits(io.StringIO(unsorted))] == [line.split(",")[0] for line in lines]


def test_empty_cells_mean_none_and_wait_is_computed():
    by_id = {v.visit_id: v for v in read_visits(io.StringIO(visits_to_text(visits())))}
    left = by_id["20260302-0003"]
    assert left.called_at is None and left.finished_at is None and left.room is None
    assert left.wait_minutes is None
    assert by_id["20260302-0001"].wait_minutes == pytest.approx(14)
    assert by_id["20260302-0002"].finished_at is None


def test_reads_the_sample_log():
    log = read_visits(DATA / "sample-visits-small_gp.csv")
    assert len(log) == 1691
    assert {v.outcome for v in log} == {"served", "no_show", "left"}
    assert all(a.checked_in_at <= b.checked_in_at for a, b in zip(log, log[1:], strict=False))


GOOD = "v1,general,2026-03-02T08:46:03+09:00,2026-03-02T09:00:00+09:00,2026-03-02T09:05:52+09:00,1,served"


@pytest.mark.parametrize(
    "row, message",
    [
        ("v2,general,2026-03-02 nine,,,,left", "checked_in_at '2026-03-02 nine' is not an ISO 8601"),
        ("v2,general,2026-03-02T08:47:00,,,,left", "no UTC offset"),
        ("v2,general,2026-03-02T08:47:00+09:00,,,left", "expected 7 columns, found 6"),
        ("v2,general,2026-03-02T08:47:00+09:00,,,,gone", "outcome 'gone'"),
        ("v2,general,2026-03-02T08:47:00+09:00,2026-03-02T09:00:00+09:00,,1,served", "needs finished_at"),
        ("v2,general,2026-03-02T08:47:00+09:00,,,1,left", "'left' visit has no"),
        ("v2,general,2026-03-02T08:47:00+09:00,,,,no_show", "needs called_at"),
        ("v2,general,2026-03-02T08:47:00+09:00,2026-03-02T08:40:00+09:00,,1,no_show", "before checked_in_at"),
        (
            "v2,general,2026-03-02T08:47:00+09:00,2026-03-02T09:00:00+09:00,2026-03-02T08:59:00+09:00,1,served",
            "finished_at is before called_at",
        ),
        ("v2,,2026-03-02T08:47:00+09:00,,,,left", "service is empty"),
        ("v1,general,2026-03-02T08:47:00+09:00,,,,left", "already used on line 2"),
    ],
)
def test_malformed_rows_name_their_line(row, message):
    text = f"{HEAD}\n{GOOD}\n{row}\n"
    with pytest.raises(ValueError, match="line 3") as caught:
        read_visits(io.StringIO(text))
    assert message in str(caught.value)


def test_a_bad_header_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,service,checked_in_at,called_at,finished_at,room,outcome\n" + GOOD + "\n")
    with pytest.raises(ValueError, match=r"bad\.csv: line 1: the header must be"):
        read_visits(path)
    with pytest.raises(ValueError, match="line 1: the file is empty"):
        read_visits(io.StringIO(""))


def test_blank_lines_and_a_byte_order_mark_are_tolerated():
    text = "\ufeff" + HEAD + "\n" + GOOD + "\n\n"
    assert [v.visit_id for v in read_visits(io.StringIO(text))] == ["v1"]


def test_writing_a_naive_time_is_refused_and_writes_nothing(tmp_path):
    naive = Visit("x", "general", datetime(2026, 3, 2, 9), None, None, None, "left")
    path = tmp_path / "out.csv"
    with pytest.raises(ValueError, match="no time zone"):
        write_visits([naive], path)
    assert not path.exists() or path.read_text() == ""
