"""The ``queue-app`` command.

``serve`` runs under the async mode the configuration names (eventlet by default), and that
library must patch the standard library before anything else imports it.  So this module
imports nothing heavy: it looks at the command line, prepares the async mode when serving,
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


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``queue-app``."""
    argv = sys.argv[1:] if argv is None else argv
    if "serve" in argv:
        from .config import ConfigError, load_settings
        from .serving import prepare_async_mode

        try:
            settings = load_settings(_config_argument(argv))
        except ConfigError as exc:
            print(f"queue-app: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        prepare_async_mode(settings.async_mode)
    from .commands import cli

    cli.main(args=argv, prog_name="queue-app")


if __name__ == "__main__":
    main()
