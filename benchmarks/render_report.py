"""Render a loop report (``report.html`` of ``echolite-edge run ... --cine`` or ``echolite measure --sequence``) in a
real browser, to look at it as a reader sees it: a screenshot at a desktop width and the A4 pages it prints to.

Headless Chromium (Debian: ``apt-get install -y chromium poppler-utils``) takes the screenshot and prints the PDF;
``pdftoppm`` (poppler) turns each A4 page into a PNG. Not part of the test suite (it needs the browser); the tests
check the page's content with ``html.parser``. Writes nothing into the repository: ``--out`` must lie outside it.

    python benchmarks/render_report.py /tmp/run/report.html --out /tmp/report-shots
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path, help="the report.html to render")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs and the PDF (outside the repo)")
    parser.add_argument("--width", type=int, default=1280, help="window width of the screenshot in pixels")
    parser.add_argument("--height", type=int, default=2400, help="window height of the screenshot in pixels")
    parser.add_argument("--dpi", type=int, default=80, help="resolution of the A4 page PNGs")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out == REPO or REPO in out.parents:
        parser.error(f"--out {args.out}: inside the repository; write the renders elsewhere")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None or shutil.which("pdftoppm") is None:
        parser.error("needs chromium and pdftoppm: apt-get install -y chromium poppler-utils")
    out.mkdir(parents=True, exist_ok=True)
    page = args.report.resolve().as_uri()
    stem = args.report.stem
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    screen = out / f"{stem}-{args.width}px.png"
    pdf = out / f"{stem}.pdf"
    _run([*common, f"--screenshot={screen}", f"--window-size={args.width},{args.height}", page])
    _run([*common, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page])
    _run(["pdftoppm", "-png", "-r", str(args.dpi), str(pdf), str(out / f"{stem}-a4")])
    for path in sorted(out.glob(f"{stem}*")):
        print(path)
    return 0


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        sys.exit(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-500:]}")


if __name__ == "__main__":
    sys.exit(main())
