"""Speed figures for the core: cold build, unchanged rebuild, startup, warm answer latency.

    python bench/bench_core.py            # uses a private temporary data dir; prints figures

Floors (issue 2): cold build of the five documents <= 60 s; unchanged rebuild <= 5 s;
warm answer latency median <= 100 ms and p95 <= 300 ms on the 2-core machine.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["POLICYQA_DATA"] = tmp
        import config
        from eval.runner import DEFAULT_SET, load_set
        from indexer.build import build_index
        from qa.answer import Assistant

        settings = config.get_settings()
        started = time.perf_counter()
        report = build_index(settings)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        again = build_index(settings)
        unchanged = time.perf_counter() - started
        started = time.perf_counter()
        forced = build_index(settings, force=True)
        cached = time.perf_counter() - started

        started = time.perf_counter()
        assistant = Assistant.open(settings, build_if_missing=False)
        startup = time.perf_counter() - started
        questions = [r["question"] for r in load_set(DEFAULT_SET)]
        assistant.ask(questions[0])  # first call warms jieba and the models
        latencies = []
        for q in questions:
            t = time.perf_counter()
            assistant.ask(q)
            latencies.append((time.perf_counter() - t) * 1000)
        latencies.sort()
        print(f"cold build            {cold:7.2f} s   ({report.documents} documents, {report.units} units, {report.embedded} passages embedded)")
        print(f"unchanged rebuild     {unchanged:7.2f} s   (skipped={again.skipped})")
        print(f"forced rebuild        {cached:7.2f} s   ({forced.embedded} passages embedded, rest from cache)")
        print(f"assistant startup     {startup:7.2f} s")
        print(f"warm answer latency   median {statistics.median(latencies):.1f} ms, "
              f"p95 {latencies[int(0.95 * (len(latencies) - 1))]:.1f} ms, max {latencies[-1]:.1f} ms over {len(latencies)} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
