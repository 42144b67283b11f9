"""`queue-app check-config`: each unsafe default of the demo is named, with its key and its fix."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from queue_app.auth import create_user
from queue_app.clinic_setup import load_demo
from queue_app.config import EXAMPLE_CONFIG, load_settings
from queue_app.extensions import make_engine
from queue_app.production_check import (
    database_findings,
    demo_password_findings,
    file_findings,
    files_to_check,
    settings_findings,
)

from .conftest import prepare_database

SECRET = "k" * 48
#: What a clinic behind nginx sets: its own key, its https address, PostgreSQL and Redis.
PRODUCTION = {
    "server": {
        "secret_key": SECRET,
        "public_url": "https://queue.example-clinic.kr",
        "trusted_proxies": ["127.0.0.1"],
        "demo": False,
    },
    "database": {"url": "postgresql+psycopg://queue@db/queue"},
    "realtime": {"message_queue": "redis://redis:6379/0"},
}


def production(**sections):
    """The production settings with some sections' keys changed."""
    overrides = {name: dict(values) for name, values in PRODUCTION.items()}
    for name, values in sections.items():
        overrides[name].update(values)
    return load_settings(EXAMPLE_CONFIG, overrides=overrides, environ={})


def test_a_production_configuration_has_nothing_unsafe():
    assert settings_findings(production()) == []


@pytest.mark.parametrize(
    ("sections", "key", "words"),
    [
        ({"server": {"secret_key": ""}}, "[server] secret_key", "QUEUE_APP_SERVER_SECRET_KEY"),
        ({"server": {"public_url": ""}}, "[server] public_url", "https address"),
        ({"server": {"public_url": "http://127.0.0.1:5000"}}, "[server] public_url", "this computer only"),
        ({"server": {"public_url": "https://localhost"}}, "[server] public_url", "this computer only"),
        ({"server": {"public_url": "http://queue.example-clinic.kr"}}, "[server] public_url", "no TLS"),
        ({"server": {"trusted_proxies": []}}, "[server] trusted_proxies", '["127.0.0.1"]'),
        ({"server": {"demo": True}}, "[server] demo", "demo = false"),
        ({"database": {"url": "sqlite:///instance/queue.db"}}, "[database] url", "PostgreSQL"),
    ],
)
def test_each_unsafe_setting_is_one_line_naming_its_key_and_fix(sections, key, words):
    [finding] = settings_findings(production(**sections))
    assert finding.key == key
    line = str(finding)
    assert line.startswith(f"{key}: ") and words in line and "\n" not in line


def test_sqlite_for_one_process_is_not_unsafe():
    settings = production(database={"url": "sqlite:///instance/queue.db"}, realtime={"message_queue": ""})
    assert settings_findings(settings) == []


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_demo_passwords_are_found_until_the_clinic_has_its_own_users(request, tmp_path, database):
    url = f"sqlite:///{tmp_path / 'queue.db'}" if database == "sqlite" else request.getfixturevalue("postgres_url")
    settings = production(database={"url": url})
    prepare_database(settings)
    engine = make_engine(url)
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        create_user(session, "kim", "a-long-password", "staff", now)
    assert database_findings(engine, url) == []
    with Session(engine) as session, session.begin():
        load_demo(session, settings, now)
    assert sorted(f.key for f in database_findings(engine, url)) == ["user admin", "user staff"]
    engine.dispose()


def test_an_unmigrated_or_missing_database_has_no_demo_users_and_is_not_created(tmp_path):
    missing = tmp_path / "nowhere" / "queue.db"
    url = f"sqlite:///{missing}"
    assert database_findings(make_engine(url), url) == []
    assert not missing.parent.exists()
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with Session(empty) as session:
        assert demo_password_findings(session) == []


def test_an_unreachable_database_is_a_finding_of_its_own():
    url = "postgresql+psycopg://nobody@127.0.0.1:1/queue?connect_timeout=2"
    [finding] = database_findings(make_engine(url), url)
    assert finding.key == "[database] url" and "not checked" in finding.problem


def test_files_every_account_can_read_are_named_with_the_chmod_that_fixes_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "instance").mkdir()
    secret = tmp_path / "instance" / "secret_key"
    secret.write_text(SECRET)
    database = tmp_path / "instance" / "queue.db"
    database.write_bytes(b"")
    settings = load_settings(config, environ={"QUEUE_APP_DATABASE_URL": "sqlite:///instance/queue.db"})
    for path in (config, secret, database):
        path.chmod(0o644)
    paths = files_to_check(settings)
    assert sorted(p.resolve() for p in paths) == sorted(p.resolve() for p in (config, secret, database))
    assert {str(f) for f in file_findings(paths)} == {
        f"{path}: readable by every account on this machine; chmod o-rwx {path}"
        for path in (config, "instance/queue.db", "instance/secret_key")
    }
    for path in (config, secret, database):
        path.chmod(0o640)
    assert file_findings(files_to_check(settings)) == []


def test_the_packaged_example_configuration_is_not_a_secret_file():
    assert files_to_check(load_settings(EXAMPLE_CONFIG, environ={"QUEUE_APP_DATABASE_URL": "sqlite://"})) == []


def check_config(workdir, env):
    return subprocess.run(
        [sys.executable, "-m", "queue_app.cli", "--config", str(EXAMPLE_CONFIG), "check-config"],
        cwd=workdir,
        env={k: v for k, v in os.environ.items() if not k.startswith("QUEUE_APP_")} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_key_too_short_to_use_stops_check_config_with_the_key(tmp_path):
    result = check_config(tmp_path, {"QUEUE_APP_SERVER_SECRET_KEY": "k" * 31})
    assert result.returncode != 0
    assert "[server] secret_key" in result.stderr


def test_check_config_exits_non_zero_until_the_install_is_safe(tmp_path):
    queue_app = [sys.executable, "-m", "queue_app.cli", "--config", str(EXAMPLE_CONFIG)]
    env = {"QUEUE_APP_DATABASE_URL": f"sqlite:///{tmp_path / 'queue.db'}", "QUEUE_APP_SERVER_DEMO": "true"}
    subprocess.run([*queue_app, "db", "upgrade"], cwd=tmp_path, env=os.environ | env, check=True, capture_output=True)
    subprocess.run([*queue_app, "demo"], cwd=tmp_path, env=os.environ | env, check=True, capture_output=True)

    demo = check_config(tmp_path, env)
    assert demo.returncode == 1
    lines = demo.stdout.splitlines()
    assert all(line.startswith("UNSAFE ") for line in lines)
    named = " ".join(lines)
    for key in ("[server] secret_key", "[server] public_url", "[server] demo", "user admin", "user staff"):
        assert key in named

    safe = {
        "QUEUE_APP_DATABASE_URL": env["QUEUE_APP_DATABASE_URL"],
        "QUEUE_APP_SERVER_SECRET_KEY": SECRET,
        "QUEUE_APP_SERVER_PUBLIC_URL": "https://queue.example-clinic.kr",
        "QUEUE_APP_SERVER_TRUSTED_PROXIES": "127.0.0.1",
    }
    still = check_config(tmp_path, safe)
    assert still.returncode == 1 and "user admin" in still.stdout and "[server]" not in still.stdout

    (tmp_path / "queue.db").unlink()
    subprocess.run([*queue_app, "db", "upgrade"], cwd=tmp_path, env=os.environ | safe, check=True, capture_output=True)
    for path in [tmp_path / "queue.db", *tmp_path.glob("instance/*")]:
        path.chmod(0o600)
    clean = check_config(tmp_path, safe)
    assert clean.returncode == 0, clean.stdout
    assert "nothing unsafe" in clean.stdout
