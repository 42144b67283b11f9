"""`pip install .` (not editable) serves the kiosk and the display from a clean virtualenv.

A clinic installs a wheel, not a checkout: the devices' pages and the default configuration
must travel inside it.  The wheel is built from a copy of the project (so no earlier build
folder leaks in), installed without dependencies into a fresh virtualenv that borrows this
one's site-packages for them (fast, and nothing is downloaded), and run from a folder far
from the source tree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
import requests

from ..support.loopback import free_port

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).resolve().parents[2]
#: What the build does not need: the copy stays small and carries no old build output.
NOT_BUILT = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "instance",
    "tests",
    "bench",
    "docs",
    "deployment",
    "config.toml",
    "test-results",
)


def installed_venv(tmp_path: Path) -> Path:
    """A fresh virtualenv holding the project's wheel, with this environment's packages as its dependencies."""
    source = tmp_path / "source"
    shutil.copytree(PROJECT, source, ignore=NOT_BUILT)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source)], check=True, timeout=300)
    [wheel] = wheels.glob("queue_app-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # Installed before the borrowed packages are visible, so pip sees (and touches) nothing of this environment.
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], check=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A path line in a .pth file adds the folder only; this environment's own .pth files (the
    # editable install pointing at the source tree among them) are not read.
    Path(site, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_an_installed_wheel_serves_the_kiosk_and_the_display_from_elsewhere(tmp_path):
    venv = installed_venv(tmp_path)
    clinic = tmp_path / "clinic"  # no config.toml here: the packaged example is the default
    clinic.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "QUEUE_APP_"))},
        "QUEUE_APP_DATABASE_URL": f"sqlite:///{clinic / 'queue.db'}",
        "QUEUE_APP_SERVER_SECRET_KEY": "installed-wheel-test-secret-key-0123456789",
        "PYTHONUNBUFFERED": "1",
    }

    def queue_app(*args: str) -> str:
        result = subprocess.run(
            [str(venv / "bin" / "queue-app"), *args], cwd=clinic, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import queue_app; print(queue_app.__file__)"],
        cwd=clinic,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(venv), f"queue_app came from {where}, not the wheel"

    queue_app("db", "upgrade")
    queue_app("demo")
    kiosk_token = queue_app("create-token", "--role", "kiosk", "--name", "Lobby kiosk").strip().splitlines()[-1]
    display_token = queue_app("create-token", "--role", "display", "--name", "Hall TV").strip().splitlines()[-1]

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(venv / "bin" / "queue-app"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=clinic,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"server exited: {log.read_text()}"
            assert time.monotonic() < deadline, f"server did not start: {log.read_text()}"
            try:
                if requests.get(url + "/api/v1/services", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)

        for device, token in (("kiosk", kiosk_token), ("display", display_token)):
            browser = requests.Session()
            paired = browser.get(f"{url}/{device}?pair={token}", timeout=10)
            assert paired.status_code == 200, paired.text
            index = (PROJECT / device / "index.html").read_text(encoding="utf-8")
            assert paired.text == index
            assets = re.findall(rf'(?:src|href)="/{device}/([\w.-]+\.(?:js|css))"', index)
            assert any(a.endswith(".js") for a in assets), f"{device}/index.html names no script"
            for asset in assets:
                served = browser.get(f"{url}/{device}/{asset}", timeout=10)
                assert served.status_code == 200, f"/{device}/{asset}: {served.status_code}"
                assert served.text == (PROJECT / device / asset).read_text(encoding="utf-8")
            setup = browser.get(f"{url}/{device}/setup.json", timeout=10)
            assert setup.status_code == 200
            assert setup.json()["clinic"] == "Hanbit Family Clinic"  # the packaged example configuration
    finally:
        server.terminate()
        server.wait(timeout=15)
