"""The ``queue-app`` command.

``serve`` and ``dispatch`` run under the async mode the configuration names (eventlet by
default), and that library must patch the standard library before anything else imports it.  So this module
imports nothing heavy: it looks at the command line, prepares the async mode when serving or dispatching,
and only then loads the commands (and with them Flask, Socket.IO and the database driver).
"""

from __future__ import annotations

import sys


def _config_argument(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def _async_mode(config_path: str | None) -> str:
    """The configured async mode, read with nothing but the standard library.

    The full validation comes after the patch, as it imports the HTTP clients that the
    patch must see first.  An unreadable file or mode is left to that validation to report.
    """
    import os
    import tomllib
    from pathlib import Path

    from .bundled import bundled_path

    # The same default as config.default_config_path, which cannot be imported yet.
    example = bundled_path("config.example.toml")
    path = Path(config_path) if config_path else (Path("config.toml") if Path("config.toml").exists() else example)
    try:
        with open(path, "rb") as fh:
            mode = tomllib.load(fh).get("server", {}).get("async_mode", "eventlet")
    except (OSError, tomllib.TOMLDecodeError):
        mode = "threading"
    return os.environ.get("QUEUE_APP_SERVER_ASYNC_MODE", mode)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``queue-app``."""
    argv = sys.argv[1:] if argv is None else argv
    if "serve" in argv or "dispatch" in argv:
        from .serving import prepare_async_mode

        prepare_async_mode(_async_mode(_config_argument(argv)))
        from .config import ConfigError, load_settings

        try:
            load_settings(_config_argument(argv))
        except ConfigError as exc:
            print(f"queue-app: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    from .commands import cli

    cli.main(args=argv, prog_name="queue-app")


if __name__ == "__main__":
    main()
