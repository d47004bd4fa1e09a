"""Speed figures for the web app, measured in a real browser (Debian's headless Chromium).

    python bench/bench_ui.py [--runs 15]

1. Time to first page: from starting `python app.py serve` on an existing index to the question box
   being visible in the browser (and, separately, to the first HTTP 200).
2. Time to the answer: from the Enter keydown in the page to the answer (its verdict badge, shown
   whole with its citations: nothing is replayed as fake streaming) appearing in the page, timed
   inside the page with performance.now() and a MutationObserver.

Floors (issue 3): first page <= 10 s; answer shown <= 300 ms.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "我能以公司名义和客户签合同吗？", "Can I accept a gift from a client?", "投资咨询合同要保存多少年？",
    "外场活动要提前多少天申请？", "客户开发主管有哪些职责？", "公司的年假有几天？", "会议结束后怎么送客户？",
    "Can I tell a client the stock will surely go up?", "我能替客户签字吗", "窜货怎么处理？",
]
WATCH = """() => {
  const box = document.querySelector('#question textarea');
  const seen = document.querySelectorAll('.pq-badge, .pq-error').length;
  window.__first = null; window.__start = null;
  box.addEventListener('keydown', e => { if (e.key === 'Enter') window.__start = performance.now(); }, {once: true});
  const obs = new MutationObserver(() => {
    if (window.__start !== null && document.querySelectorAll('.pq-badge, .pq-error').length > seen) {
      window.__first = performance.now(); obs.disconnect(); }
  });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15, help="questions to time (cycling through a fixed list)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    import config
    from indexer.build import build_index

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        settings = config.get_settings()
        if settings.index_dir.exists():  # start from a copy of the existing index, as a user would
            shutil.copytree(settings.data_dir, data, ignore=shutil.ignore_patterns("audit.sqlite*"))
        env = os.environ | {"POLICYQA_DATA": str(data)}
        os.environ["POLICYQA_DATA"] = str(data)
        build_index(config.get_settings())  # an existing index: a no-op when copied
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page()
            started = time.perf_counter()
            server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "serve", "--port", str(port)],
                                      cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                while True:
                    try:
                        urllib.request.urlopen(url, timeout=1)
                        break
                    except OSError:
                        if server.poll() is not None:
                            raise SystemExit("the server exited")
                        time.sleep(0.05)
                http_ready = time.perf_counter() - started
                page.goto(url)
                page.locator("#question textarea").wait_for()
                first_page = time.perf_counter() - started

                first_tokens = []
                for i in range(args.runs):
                    page.evaluate(WATCH)
                    box = page.locator("#question textarea")
                    box.fill(QUESTIONS[i % len(QUESTIONS)])
                    box.press("Enter")
                    page.wait_for_function("() => window.__first !== null", timeout=15000)
                    first_tokens.append(page.evaluate("() => window.__first - window.__start"))
                    page.wait_for_timeout(400)  # let the page settle before the next one
            finally:
                server.terminate()
                server.wait(timeout=10)
                browser.close()

    ordered = sorted(first_tokens)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    print(f"server answering HTTP after start    {http_ready:6.2f} s")
    print(f"first page usable after start        {first_page:6.2f} s   (floor 10 s)")
    print(f"Enter -> answer shown                median {statistics.median(first_tokens):5.0f} ms  "
          f"p95 {p95:5.0f} ms  max {max(first_tokens):5.0f} ms  over {len(first_tokens)} questions   (floor 300 ms)")
    ok = first_page <= 10 and p95 <= 300
    print("floors met" if ok else "FLOOR MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
