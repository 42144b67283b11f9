"""The `queue-app` command: setup, demo, users, tokens, end of day, and clear refusals."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app.auth import principal_for_token
from queue_app.clock import ManualClock
from queue_app.config import EXAMPLE_CONFIG, load_settings
from queue_app.extensions import make_engine
from queue_app.models import StaffUser, Ticket
from queue_app.notify.channels import DemoChannel
from queue_app.queue import Actor, ClinicQueue

from .conftest import SEOUL


def run(tmp_path, *args, input=None, env=None, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "queue_app.cli", "--config", str(EXAMPLE_CONFIG), *args],
        cwd=tmp_path,
        env={**os.environ, "QUEUE_APP_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}", **(env or {})},
        capture_output=True,
        text=True,
        input=input,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


@pytest.fixture
def migrated(tmp_path):
    run(tmp_path, "db", "upgrade")
    return tmp_path


def engine_of(tmp_path):
    return make_engine(f"sqlite:///{tmp_path / 'q.db'}")


def test_commands_refuse_an_unmigrated_database(tmp_path):
    result = run(tmp_path, "create-token", "--role", "kiosk", "--name", "x", check=False)
    assert result.returncode != 0
    assert "queue-app db upgrade" in result.stderr


def test_bad_configuration_stops_with_the_key(tmp_path):
    result = run(tmp_path, "serve", env={"QUEUE_APP_SERVER_ASYNC_MODE": "asyncio"}, check=False)
    assert result.returncode == 2
    assert "[server] async_mode" in result.stderr


def test_demo_loads_once(migrated):
    first = run(migrated, "demo", "--if-empty")
    assert "staff / staff-demo-pass" in first.stdout
    again = run(migrated, "demo", "--if-empty")
    assert "demo not loaded" in again.stdout
    refused = run(migrated, "demo", check=False)
    assert refused.returncode != 0
    with Session(engine_of(migrated)) as session:
        assert {u.username for u in session.scalars(select(StaffUser))} == {"admin", "staff"}


def test_demo_device_tokens_are_shown_once_and_kept_nowhere_in_plain_text(migrated):
    shown = run(migrated, "demo").stdout
    tokens = dict(re.findall(r"/(kiosk|display)\?pair=(\S+)", shown))
    with Session(engine_of(migrated)) as session:
        assert principal_for_token(session, tokens["kiosk"]).role == "kiosk"
        assert principal_for_token(session, tokens["display"]).role == "display"
    for path in migrated.rglob("*"):
        if path.is_file() and not path.name.startswith("q.db"):
            assert tokens["kiosk"] not in path.read_text(errors="replace"), path


def test_the_database_file_and_its_new_folder_are_private(tmp_path):
    """Patients' phone numbers live in the SQLite file: only the clinic's service user may read it."""
    env = {"QUEUE_APP_DATABASE_URL": "sqlite:///instance/queue.db"}
    run(tmp_path, "db", "upgrade", env=env)
    run(tmp_path, "create-token", "--role", "kiosk", "--name", "lobby", env=env)  # a write: WAL files
    folder = tmp_path / "instance"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(folder.iterdir())
    assert "queue.db" in [f.name for f in files]
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}


def test_set_password_and_deactivate_user(migrated):
    from queue_app.auth import authenticate_user

    run(migrated, "create-user", "--username", "kim", "--password", "first-password")
    run(migrated, "set-password", "--username", "kim", input="second-password\nsecond-password\n")
    with Session(engine_of(migrated)) as session:
        assert authenticate_user(session, "kim", "first-password") is None
        assert authenticate_user(session, "kim", "second-password") is not None
        epoch = session.scalar(select(StaffUser.session_epoch).where(StaffUser.username == "kim"))
    assert epoch == 1  # the sessions signed in with the old password have ended
    short = run(migrated, "set-password", "--username", "kim", "--password", "short", check=False)
    assert short.returncode != 0 and "8 characters" in short.stderr

    run(migrated, "deactivate-user", "--username", "kim")
    with Session(engine_of(migrated)) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "kim"))
        assert user.active is False and user.session_epoch == 2
        assert authenticate_user(session, "kim", "second-password") is None
    unknown = run(migrated, "deactivate-user", "--username", "nobody", check=False)
    assert unknown.returncode != 0 and "nobody" in unknown.stderr


def test_create_token_prints_a_working_token_last(migrated):
    token = run(migrated, "create-token", "--role", "display", "--name", "Hall TV").stdout.strip().splitlines()[-1]
    with Session(engine_of(migrated)) as session:
        principal = principal_for_token(session, token)
    assert principal.role == "display" and principal.name == "Hall TV"


def test_create_user_with_password_from_the_prompt(migrated):
    run(migrated, "create-user", "--username", "kim", "--role", "staff", input="long-password\nlong-password\n")
    short = run(migrated, "create-user", "--username", "lee", input="short\nshort\n", check=False)
    assert short.returncode != 0 and "8 characters" in short.stderr
    duplicate = run(migrated, "create-user", "--username", "kim", input="long-password\nlong-password\n", check=False)
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr


def test_expire_day_closes_yesterday_and_keeps_today(migrated):
    engine = engine_of(migrated)
    yesterday = ManualClock(datetime.now(SEOUL) - timedelta(days=1))
    with Session(engine) as session:
        old, _ = ClinicQueue(session, yesterday, SEOUL).check_in("general", language="ko", actor=Actor("kiosk", "k"))
        session.commit()
        old_id = old.id
    with Session(engine) as session:
        new, _ = ClinicQueue(session, ManualClock(datetime.now(SEOUL)), SEOUL).check_in(
            "general", language="ko", actor=Actor("kiosk", "k")
        )
        session.commit()
        new_id = new.id
    output = run(migrated, "expire-day").stdout
    assert "expired 1 open ticket" in output
    with Session(engine) as session:
        assert session.get(Ticket, old_id).status == "expired"
        assert session.get(Ticket, new_id).status == "waiting"
    run(migrated, "expire-day", "--today")
    with Session(engine) as session:
        assert session.get(Ticket, new_id).status == "expired"


def test_backtest_command_on_a_sample_log(tmp_path):
    from pathlib import Path

    sample = Path(__file__).parent / "data" / "sample-visits-small_gp.csv"
    result = run(tmp_path, "backtest", str(sample), "--output", str(tmp_path / "p.csv"), "--no-progress")
    assert "baseline" in result.stdout.lower()
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "visit_id,predicted_wait_minutes,lower_minutes,upper_minutes"
    assert len(lines) == sum(1 for _ in open(sample))
    bad = tmp_path / "bad.csv"
    bad.write_text("visit_id,service\n1,general\n")
    refused = run(tmp_path, "backtest", str(bad), "--output", str(tmp_path / "q.csv"), check=False)
    assert refused.returncode != 0 and "bad.csv" in refused.stderr


def test_export_then_backtest_round_trips_the_clinics_own_visits(migrated):
    engine = engine_of(migrated)
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=SEOUL))
    with Session(engine) as session:
        queue = ClinicQueue(session, clock, SEOUL)
        staff = Actor("staff", "s")
        for _ in range(6):
            queue.check_in("general", language="ko", actor=Actor("kiosk", "k"))
            clock.advance(minutes=2)
        session.commit()
        for _ in range(5):
            ticket = queue.call_next("room1", staff)
            clock.advance(minutes=7)
            queue.finish(ticket.id, staff)
            session.commit()
        queue.leave(queue.waiting()[0])
        session.commit()
    out = migrated / "visits.csv"
    run(migrated, "export-visits", "--from", "2026-11-23", "--to", "2026-11-23", "--output", str(out))
    rows = out.read_text().splitlines()
    assert rows[0] == "visit_id,service,checked_in_at,called_at,finished_at,room,outcome"
    assert len(rows) == 7 and rows[-1].endswith(",,,,left")
    assert "+09:00" in rows[1] and "+821" not in out.read_text()
    result = run(migrated, "backtest", str(out), "--output", str(migrated / "p.csv"), "--no-progress")
    assert len((migrated / "p.csv").read_text().splitlines()) == 7
    assert "baseline" in result.stdout.lower()


def make_run_commands() -> list[tuple[dict[str, str], str]]:
    """Each `queue-app` command `make run` runs (as `make -n` prints it): its environment, its subcommand."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    printed = subprocess.run(
        ["make", "-n", "run"], cwd=EXAMPLE_CONFIG.parent, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    commands = []
    for line in printed.splitlines():
        words = shlex.split(line)
        program = next((i for i, word in enumerate(words) if word.endswith("/queue-app")), None)
        if program is not None:
            environ = dict(word.split("=", 1) for word in words[:program] if "=" in word)
            commands.append((environ, words[program + 1]))
    return commands


def test_make_run_serves_the_demo_with_the_demo_channel():
    """`make run`'s settings, loaded the way its commands load them: demo mode, demo phone on."""
    commands = make_run_commands()
    assert [subcommand for _, subcommand in commands] == ["db", "demo", "serve"]
    for environ, _ in commands:
        settings = load_settings(EXAMPLE_CONFIG, environ=environ)
        assert settings.demo is True
        assert settings.notify.order == ("demo",)
        assert isinstance(settings.notify.build_channels()["demo"], DemoChannel)


@pytest.mark.parametrize("demo", [True, False])
def test_the_welcome_text_gives_the_demo_phones_address_only_in_the_demo(tmp_path, monkeypatch, capsys, demo):
    from queue_app.commands import _print_welcome

    monkeypatch.chdir(tmp_path)
    settings = load_settings(EXAMPLE_CONFIG, environ={"QUEUE_APP_SERVER_DEMO": str(demo).lower()})
    _print_welcome("http://127.0.0.1:5000", settings)
    printed = capsys.readouterr().out
    assert "pair=" not in printed  # device tokens are shown once, by `demo`, not at every start
    assert ("http://127.0.0.1:5000/demo/messages" in printed) is demo
    assert "http://127.0.0.1:5000/staff" in printed
