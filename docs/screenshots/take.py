"""Retake the README's screenshots of the six reports and a custom report from a demo's result.

    .venv/bin/clickstream demo --dir /tmp/readme_demo --days 14 --users 150 --seed 7
    .venv/bin/python -m docs.screenshots.take /tmp/readme_demo

Serves `clickstream console` on the demo's project, signs in as its administrator and saves one
PNG per report of the web app here (the browser tests' driver, tests/browser/console_driver.mjs).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

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
    ]
    with tempfile.TemporaryDirectory() as scratch:
        with running_console(args.demo_dir / "clickstream.yaml", Path(scratch) / "console.log") as url:
            run = browse(url, steps, Path(scratch))
        run.assert_clean()
        for shot in run.screenshots:
            shutil.copy(shot, HERE / Path(shot).name)
            print(f"saved {HERE / Path(shot).name}")


if __name__ == "__main__":
    main()
