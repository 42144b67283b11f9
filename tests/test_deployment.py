"""deployment/: the nginx site, the systemd units, the compose file and the image, read as their tools read them.

nginx and systemd check their own files (``nginx -t``, ``systemd-analyze verify``) where the
machine has them.  Docker cannot pull images here, so the compose file is read as YAML and
held to what it promises: two web processes and one sender behind the ports nginx names, a
configuration ``check-config`` finds nothing unsafe in, and commands the CLI accepts.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from queue_app.commands import cli
from queue_app.config import EXAMPLE_CONFIG, load_settings
from queue_app.production_check import settings_findings

from .support.nginx import NGINX_CONF, nginx_binary, runnable_config

DEPLOYMENT = Path(__file__).resolve().parents[1] / "deployment"
SYSTEMD = DEPLOYMENT / "systemd"
INSTALLED_QUEUE_APP = "/opt/queue-app/venv/bin/queue-app"
#: The values deployment/.env gives (compose stops when one is missing).
ENV_FILE = {
    "QUEUE_APP_SERVER_SECRET_KEY": "s" * 48,
    "QUEUE_APP_SERVER_PUBLIC_URL": "https://queue.example-clinic.kr",
    "POSTGRES_PASSWORD": "database-password",
}


def test_the_nginx_site_passes_nginx_t(tmp_path):
    nginx = nginx_binary()
    config = runnable_config(tmp_path)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify insists that ExecStart exists: this environment's queue-app stands in for the installed one.
    here = str(Path(sys.executable).parent / "queue-app")
    names = []
    for unit in SYSTEMD.iterdir():
        name = unit.name.replace("@.", "@5001.")  # a template is verified as one of its instances
        (tmp_path / name).write_text(unit.read_text(encoding="utf-8").replace(INSTALLED_QUEUE_APP, here))
        names.append(name)
    result = subprocess.run([analyze, "verify", *names], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    ours = [line for line in result.stderr.splitlines() if any(name in line for name in names)]
    assert result.returncode == 0 and not ours, result.stderr


def compose() -> dict:
    return yaml.safe_load((DEPLOYMENT / "compose.yaml").read_text(encoding="utf-8"))


def app_services() -> dict[str, dict]:
    """The compose services that run the queue service's image."""
    return {name: spec for name, spec in compose()["services"].items() if spec.get("image") == "queue-app:latest"}


def interpolated(value: str) -> str:
    """``${NAME:?message}`` replaced by deployment/.env's value, as compose does."""
    return re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: ENV_FILE[m.group(1)], value)


def test_compose_runs_two_web_processes_one_sender_postgresql_and_redis():
    services = compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    commands = {name: spec["command"] for name, spec in app_services().items()}
    web = [name for name, command in commands.items() if command[0] == "serve"]
    assert len(web) == 2
    assert all("--without-dispatcher" in commands[name] for name in web)
    assert [name for name, command in commands.items() if command == ["dispatch"]] == ["dispatch"]


def test_compose_publishes_the_web_processes_on_the_ports_nginx_sends_to():
    upstream = re.search(r"upstream queue_app \{(.*?)\}", NGINX_CONF.read_text(encoding="utf-8"), re.S).group(1)
    nginx_ports = sorted(int(port) for port in re.findall(r"server 127\.0\.0\.1:(\d+);", upstream))
    published = []
    for spec in app_services().values():
        for mapping in spec.get("ports", []):
            address, host_port, _ = mapping.split(":")
            assert address == "127.0.0.1", "only nginx on this machine may reach a web process"
            published.append(int(host_port))
    assert sorted(published) == nginx_ports == [5001, 5002]
    assert "ip_hash;" in upstream


def test_compose_gives_the_app_a_configuration_check_config_finds_safe():
    for name, spec in app_services().items():
        environ = {key: interpolated(str(value)) for key, value in spec["environment"].items()}
        settings = load_settings(EXAMPLE_CONFIG, environ=environ)
        assert settings.database_url.startswith("postgresql+psycopg://queue:database-password@db:5432/")
        assert settings.message_queue == "redis://redis:6379/0"
        assert settings_findings(settings) == [], name


def parse_command(args: list[str]) -> None:
    """Parse ``args`` as ``queue-app`` would (options and all), without running anything."""
    args = list(args)
    if args[:1] == ["--config"]:
        args = args[2:]
    command: click.Command = cli
    while isinstance(command, click.Group):
        name, *args = args
        command = command.get_command(click.Context(cli), name)
        assert command is not None, f"queue-app has no command {name!r}"
    command.make_context(command.name, args)


def deployment_commands() -> list[list[str]]:
    """Every `queue-app` command line in the units, the compose file and the image."""
    found = []
    for unit in SYSTEMD.glob("*.service"):
        for line in unit.read_text(encoding="utf-8").splitlines():
            if line.startswith("ExecStart="):
                words = shlex.split(line.removeprefix("ExecStart=").replace("%i", "5001"))
                assert words[0] == INSTALLED_QUEUE_APP
                found.append(words[1:])
    dockerfile = (DEPLOYMENT / "Dockerfile").read_text(encoding="utf-8")
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.*)$", dockerfile, re.M).group(1))
    assert entrypoint[0] == "queue-app"
    found.append([*entrypoint[1:], *json.loads(re.search(r"^CMD (.*)$", dockerfile, re.M).group(1))])
    found.extend([*entrypoint[1:], *spec["command"]] for spec in app_services().values())
    return found


def test_every_command_the_deployment_runs_is_one_queue_app_accepts():
    commands = deployment_commands()
    assert {tuple(c[2:3]) for c in commands} >= {("serve",), ("dispatch",), ("expire-day",), ("db",)}
    for command in commands:
        parse_command(command)
    with pytest.raises(click.UsageError):
        parse_command(["--config", "x", "serve", "--no-such-option"])


def test_docker_compose_config_accepts_the_compose_file(tmp_path):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose is not installed")
    result = subprocess.run(
        [docker, "compose", "-f", str(DEPLOYMENT / "compose.yaml"), "config", "--quiet"],
        env={**os.environ, **ENV_FILE},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_env_example_lists_every_value_compose_requires():
    required = set(re.findall(r"\$\{(\w+):\?", (DEPLOYMENT / "compose.yaml").read_text(encoding="utf-8")))
    listed = {
        line.split("=", 1)[0]
        for line in (DEPLOYMENT / "env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert required == listed == set(ENV_FILE)
