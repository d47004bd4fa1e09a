"""Speed of draft screening (issue 16): a 20-sentence draft, warm, with the default settings.

    python bench/bench_screen.py         # uses the index in the data dir (builds it if missing); prints figures

The draft is 20 sentences taken in order from the open dev drafts (eval/dev_drafts.jsonl: greetings,
logistics and breaches, Chinese and English), screened 10 times after one warm-up. Beside it, in the
same run, the plain LangChain + Chroma pipeline (eval/baseline.py) retrieving the same 20 sentences
one similarity search each: the floor to beat is the issue's 1 s, the baseline shows what plain
retrieval alone costs. Screens here are not recorded in the audit trail.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_SENTENCES = 20
RUNS = 10


def draft() -> str:
    sentences = []
    for line in (ROOT / "eval" / "dev_drafts.jsonl").read_text(encoding="utf-8").splitlines():
        sentences += [s["text"] for s in json.loads(line)["sentences"]]
        if len(sentences) >= N_SENTENCES:
            break
    return "\n".join(sentences[:N_SENTENCES])


def timed(fn, runs: int = RUNS) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


def main() -> int:
    import config
    from eval.baseline import TutorialPipeline
    from qa.answer import Assistant
    from qa.screen import Screener

    settings = config.get_settings()
    assistant = Assistant.open(settings)
    screener = Screener(assistant)
    text = draft()
    screen = screener.screen(text)
    ours = timed(lambda: screener.screen(text))
    plain = TutorialPipeline(settings, assistant.index)
    sentences = [s.text for s in screen.sentences]
    theirs = timed(lambda: [plain.retriever.invoke(s) for s in sentences])
    print(f"draft: {len(screen.sentences)} sentences, {screen.summary()['flagged']} flagged; "
          f"index {len(assistant.index.units)} units; query threads {settings.query_threads}")
    for name, ms in (("policy-qa screen", ours), ("plain LangChain + Chroma, retrieval only", theirs)):
        print(f"{name:<42} median {statistics.median(ms):7.1f} ms   p95 {ms[int(0.95 * (len(ms) - 1))]:7.1f} ms"
              f"   max {ms[-1]:7.1f} ms")
    print(f"floor (issue 16): 20-sentence draft <= 1000 ms warm: {'met' if statistics.median(ours) <= 1000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
