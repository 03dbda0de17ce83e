"""Retake the README's screenshots from a demo's result: the six reports, a custom report, each
Explore analysis the demo saved, and the Data Management catalogue.

    .venv/bin/clickstream demo --dir /tmp/readme_demo --days 14 --users 150 --seed 7
    .venv/bin/python -m docs.screenshots.take /tmp/readme_demo

Serves `clickstream console` on the demo's project, signs in as its administrator and saves one
PNG per page of the web app here (the browser tests' driver, tests/browser/console_driver.mjs).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from clickstream_console.explore.seed import DEMO_ANALYSES
from clickstream_console.studio.registry import REPORTS
from tests.console.console_browser import browse, local_sign_in_steps, running_console

HERE = Path(__file__).resolve().parent
READY = "[data-testid=report][data-state=ready]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("demo_dir", type=Path, help="the --dir of a finished `clickstream demo`")
    parser.add_argument("--app", default="shop_web", help="the app whose reports are shown (default: shop_web)")
    args = parser.parse_args()
    password = (args.demo_dir / "console-admin.txt").read_text().strip()
    steps = [*local_sign_in_steps("admin@example.com", password)]
    for report in REPORTS:
        steps += [{"goto": f"/studio/{args.app}/{report}?range=last7"}, {"waitFor": READY}, {"screenshot": f"studio-{report}"}]
    steps += [
        {"goto": f"/studio/{args.app}/custom"},
        {"click": "[data-testid=custom-reports] tbody a", "navigate": True},
        {"waitFor": READY},
        {"screenshot": "studio-custom"},
        {"goto": f"/studio/{args.app}/catalogue"},
        {"screenshot": "catalogue"},
    ]
    # The demo's saved analyses (clickstream_console/explore/seed.py), one of each type, in its order.
    for number, (_name, kind, _spec) in enumerate(DEMO_ANALYSES, start=1):
        steps += [
            {"goto": "/explore"},
            {"click": f"[data-testid=saved-analyses-{args.app}] tbody tr:nth-child({_listed(number)}) a", "navigate": True},
            {"waitFor": READY},
            {"screenshot": f"explore-{kind}"},
        ]
    with tempfile.TemporaryDirectory() as scratch:
        with running_console(args.demo_dir / "clickstream.yaml", Path(scratch) / "console.log") as url:
            run = browse(url, steps, Path(scratch))
        run.assert_clean()
        for shot in run.screenshots:
            shutil.copy(shot, HERE / Path(shot).name)
            print(f"saved {HERE / Path(shot).name}")


def _listed(number: int) -> int:
    """The row of the ``number``-th demo analysis in Explore's list, which sorts by name."""
    names = sorted(name for name, _kind, _spec in DEMO_ANALYSES)
    return names.index(DEMO_ANALYSES[number - 1][0]) + 1


if __name__ == "__main__":
    main()
