"""Time from clicking submit to highlighted entities in the Space, in a real browser, for a 250-word abstract.

    .venv/bin/python benchmarks/space_latency.py [--model DIR_OR_REPO] [--screenshot space.png]

Starts `vaner serve` on 127.0.0.1 (default model unless --model), drives Debian's Chromium with Playwright, prints
the seconds for a cold first request and the median of three more, and saves a screenshot.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.local_hub import free_port, wait_for

ABSTRACT = (
    "Cisplatin is one of the most effective chemotherapeutic agents against solid tumours, but its use is limited by "
    "nephrotoxicity. We investigated whether aspirin protects the kidney in a rat model of cisplatin-induced acute "
    "renal failure. Forty male Wistar rats received a single dose of cisplatin with or without aspirin. Serum "
    "creatinine and urea rose sharply in rats given cisplatin alone, and tubular necrosis was found in all of them. "
    "Aspirin reduced both markers and the extent of necrosis. Expression of the p53 and BRCA1 genes in kidney tissue "
    "increased after cisplatin and returned towards normal with aspirin, while TNF-alpha and interleukin-6 fell. No "
    "animal showed signs of infection with Escherichia coli or Staphylococcus aureus, and blood glucose remained "
    "stable throughout. In a second experiment, mice lacking p53 were protected from cisplatin nephrotoxicity, "
    "suggesting that the protective effect of aspirin is mediated at least in part through p53 signalling. "
    "Patients with breast cancer or ovarian cancer who receive cisplatin may therefore benefit from aspirin, "
    "although bleeding and gastric ulcer are known risks of long-term treatment. Clinical trials are needed to test "
    "whether low-dose aspirin preserves renal function in patients with cancer who are treated with cisplatin or "
    "carboplatin, and whether it changes the response of the tumour to chemotherapy in humans. Pharmacokinetic "
    "studies should also measure whether aspirin alters the clearance of cisplatin, and whether patients with "
    "diabetes mellitus, hypertension or chronic kidney disease, who are at higher risk of renal injury, respond "
    "differently. Genetic variants of ERCC1 and glutathione S-transferase genes may modify the risk as well."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--screenshot", default="space.png")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    if args.model:
        env["VANER_MODEL"] = args.model
    log = Path(args.screenshot).with_suffix(".server.log")
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "modeling_vaner.commands.cli", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(port, server, log, seconds=300)
        print(f"{len(ABSTRACT.split())} words")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            times = []
            for attempt in range(4):
                # A fresh page each time: the status line starts empty, so its first text is this run's result.
                page.goto(f"http://127.0.0.1:{port}/")
                page.locator("#vaner-text textarea").fill(ABSTRACT)
                start = time.perf_counter()
                page.locator("#vaner-submit").click()
                page.locator("#vaner-status").get_by_text("entities,").wait_for(timeout=300_000)
                page.locator("#vaner-highlighted .token.highlighted").first.wait_for(timeout=60_000)
                times.append(time.perf_counter() - start)
            page.locator(".progress-text").first.wait_for(state="detached", timeout=60_000)
            marks = page.locator("#vaner-highlighted .token.highlighted").count()
            page.screenshot(path=args.screenshot, full_page=True)
            browser.close()
        print(
            f"submit -> highlighted: first {times[0]:.2f} s, then median {statistics.median(times[1:]):.2f} s "
            f"({marks} highlighted spans); screenshot {args.screenshot}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
