"""Would patients told "your turn is near" be back in time?  A table for docs/estimates.md.

    .venv/bin/python bench/lead_time.py [--data DIR] [LOG ...]

Replays each sample visit log through the live estimator (``backtest.lead_time_check``) and
tells each patient as the server does: after every queue change and once a minute, by place
(3 or fewer ahead) or when the early end of their 80% range reaches their lead time (with the
server's margin, ``notify.outbox.LEAD_MARGIN``).  A patient is back in time when called at
least their lead time after being told.  The first week of each log teaches the estimator and
is not scored.  Patients near already when they checked in (told at the desk) are counted apart.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queue_app.backtest import lead_time_check  # noqa: E402
from queue_app.config import EXAMPLE_CONFIG, load_settings  # noqa: E402
from queue_app.notify.outbox import LEAD_MARGIN  # noqa: E402
from queue_app.notify.settings import LEAD_CHOICES  # noqa: E402
from queue_app.visits import read_visits  # noqa: E402

SAMPLES = ("sample-visits-small_gp.csv", "sample-visits-polyclinic.csv", "sample-visits-hard.csv")
#: (label, margin, minute-by-minute look)
RULES = (
    ("at changes only, no margin", 1.0, 0.0),
    ("every minute, no margin", 1.0, 1.0),
    (f"every minute, margin {LEAD_MARGIN:g} (the server)", LEAD_MARGIN, 1.0),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="*")
    parser.add_argument("--data", default=os.environ.get("QUEUE_APP_SAMPLE_DATA", "/work/shared/data"))
    args = parser.parse_args()
    logs = args.logs or [str(Path(args.data) / name) for name in SAMPLES]
    settings = load_settings(EXAMPLE_CONFIG, environ={}).estimator
    tz = settings.hours.timezone
    print("| log | rule | lead | told while away | back in time | median notice | told at the desk |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for path in logs:
        visits = read_visits(path)
        first_day = min(v.checked_in_at for v in visits).astimezone(tz).date()
        for label, margin, tick in RULES:
            for lead in LEAD_CHOICES:
                report = lead_time_check(
                    visits,
                    settings,
                    lead,
                    near_positions=3,
                    from_day=first_day + timedelta(days=7),
                    tick_minutes=tick,
                    tell_minutes=lead * margin,
                )
                print(
                    f"| {Path(path).stem.replace('sample-visits-', '')} | {label} | {lead} | {report.told} "
                    f"| {100 * report.share:.1f}% | {report.median_notice:.1f} min | {report.at_the_desk} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
