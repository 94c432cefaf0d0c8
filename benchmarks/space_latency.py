"""Time from clicking submit to highlighted entities in the Space, in a real browser, for a 250-word abstract, and
the Space's peak memory, on each CPU runtime.

    .venv/bin/python benchmarks/space_latency.py [--model DIR_OR_REPO] [--runtimes torch,onnx,onnx-int8]
                                                [--screenshot space.png]

For each runtime, starts `vaner serve` on 127.0.0.1 (default model unless --model; `VANER_RUNTIME`), drives Debian's
Chromium with Playwright, and records the seconds for a cold first request, the median of three more, and the
server's peak resident memory (VmHWM); saves a screenshot of the last. Writes benchmarks/results/space_latency.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from modeling_vaner.files import write_json_atomically
from tests.local_hub import free_port, wait_for

RESULTS = REPO_ROOT / "benchmarks" / "results" / "space_latency.json"

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
    parser.add_argument("--runtimes", default="torch,onnx,onnx-int8")
    parser.add_argument("--screenshot", default="space.png")
    args = parser.parse_args()
    report = {"command": "python benchmarks/space_latency.py " + " ".join(sys.argv[1:]), "words": len(ABSTRACT.split())}
    report["model"] = args.model or "the default model"
    report["runtimes"] = {
        runtime: latency(args.model, runtime, args.screenshot) for runtime in args.runtimes.split(",")
    }
    write_json_atomically(RESULTS, report)
    print(json.dumps(report, indent=2))


def peak_memory_mb(pid: int) -> float:
    """A process's peak resident memory (Linux: VmHWM in /proc/PID/status), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmHWM for process {pid}")


def latency(model: str | None, runtime: str, screenshot: str) -> dict:
    """The Space on `runtime`: seconds from submit to highlighted entities (cold first, then the median of three),
    the spans highlighted, and the server's peak memory."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "VANER_RUNTIME": runtime}
    if model:
        env["VANER_MODEL"] = model
    log = Path(screenshot).with_suffix(f".{runtime}.server.log")
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
        with sync_playwright() as playwright:
            times, marks = in_the_browser(playwright, port, screenshot)
        result = {
            "first_s": round(times[0], 2),
            "median_s": round(statistics.median(times[1:]), 2),
            "highlighted_spans": marks,
            "peak_memory_mb": peak_memory_mb(server.pid),
        }
        print(runtime, result, flush=True)
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)


def in_the_browser(playwright, port: int, screenshot: str) -> tuple[list[float], int]:
    """Four submissions of the abstract, each on a fresh page: their seconds, and the spans the last highlighted."""
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
    for _ in range(4):
        # A fresh page each time: the status line starts empty, so its first text is this run's result.
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator("#vaner-text textarea").fill(ABSTRACT)
        start = time.perf_counter()
        page.locator("#vaner-submit").click()
        page.locator("#vaner-status").get_by_text("entities,").wait_for(timeout=300_000)
        page.locator("#vaner-highlighted mark.vaner-entity").first.wait_for(timeout=60_000)
        times.append(time.perf_counter() - start)
    page.locator(".progress-text").first.wait_for(state="detached", timeout=60_000)
    marks = page.locator("#vaner-highlighted mark.vaner-entity").count()
    page.screenshot(path=screenshot, full_page=True)
    browser.close()
    return times, marks


if __name__ == "__main__":
    main()
