"""Screen the gold drafts (issue 16) and report per-sentence precision and recall of the flags.

    python -m eval.drafts [--split dev-drafts|added-drafts|sealed-drafts|external-drafts|all] [--verbose] [--json]

(also run by `python app.py eval`). Draft sets are listed in eval/drafts.json, with their corpus (the
five documents, or the five plus added regulations, eval/external.py) and, for sealed sets, their SHA-256.
Row format: eval/README.md, "Drafts".

A gold sentence is matched to the screen's sentences it overlaps (character spans of the draft), so
the screen may split a little differently. Per sentence:
- recall: gold `breach`/`risk` sentences the screen flagged (either label);
- right article: of those, the share whose citations include a unit holding the gold evidence;
- precision: flagged sentences that are gold `breach`/`risk`;
- clean passed: gold `ok` sentences the screen left `ok`; clean drafts passed: drafts with no flag at all.
Sealed sets are read in aggregate only (--verbose lists the dev sets' misses alone).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from eval.runner import EVAL_DIR, resolve
from qa.screen import LABELS

DRAFT_SETS = EVAL_DIR / "drafts.json"
OPEN = ("dev-drafts", "added-drafts")
FLOORS = {"recall": 0.90, "right_article": 0.85, "clean_passed": 0.85}


@dataclass(frozen=True)
class DraftSet:
    file: str
    split: str
    corpus: str
    sha256: str = ""

    @property
    def path(self) -> Path:
        return EVAL_DIR / self.file


def draft_sets() -> list[DraftSet]:
    data = json.loads(DRAFT_SETS.read_text(encoding="utf-8"))["sets"]
    return [DraftSet(s["file"], s["split"], s["corpus"], s.get("sha256", "")) for s in data]


def sealed_problems() -> list[str]:
    return [f"{s.file} changed after it was sealed (eval/drafts.json): replace it, don't edit it"
            for s in draft_sets() if s.sha256 and hashlib.sha256(s.path.read_bytes()).hexdigest() != s.sha256]


def load(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if not {"id", "draft", "sentences", "lang"} <= row.keys():
                raise SystemExit(f"{path}:{n}: a draft row needs id, draft, sentences and lang")
            rows.append(row)
    return rows


def gold_spans(row: dict, index, draft: str) -> list[dict]:
    """The row's gold sentences with their (start, end) in the draft as screened and their gold unit ids."""
    out, at = [], 0
    for s in row["sentences"]:
        start = draft.find(s["text"].strip(), at)
        if start < 0:
            raise SystemExit(f"{row['id']}: a sentence is not in its draft")
        at = start + len(s["text"].strip())
        gold = resolve({"evidence": s.get("evidence", []), "doc": s.get("doc")}, index)["gold"] if s["label"] != "ok" else []
        out.append({"start": start, "end": at, "label": s["label"], "gold": gold, "text": s["text"]})
    return out


@dataclass
class SentenceOutcome:
    draft: str
    split: str
    lang: str
    gold_label: str
    flagged: bool
    label: str
    right_article: bool
    gold: list[str]
    cited: list[str]
    text: str = ""
    probability: float = 0.0


@dataclass
class DraftOutcome:
    id: str
    split: str
    lang: str
    clean: bool
    flagged: int
    latency_ms: float
    sentences: list[SentenceOutcome] = field(default_factory=list)


def score(row: dict, split: str, screen, index) -> DraftOutcome:
    """Compare one screened draft with its gold sentences."""
    found = screen.sentences
    outs = []
    for g in gold_spans(row, index, screen.draft):
        over = [s for s in found if s.start < g["end"] and g["start"] < s.end]
        flagged = [s for s in over if s.label != "ok"]
        cited = [c.id for s in flagged for c in s.citations]
        label = max((s.label for s in over), key=LABELS.index, default="ok")
        outs.append(SentenceOutcome(row["id"], split, row["lang"], g["label"], bool(flagged), label,
                                    bool(set(cited) & set(g["gold"])), g["gold"], cited, g["text"],
                                    max((s.probability for s in over), default=0.0)))
    clean = all(s["label"] == "ok" for s in row["sentences"])
    return DraftOutcome(row["id"], split, row["lang"], clean, sum(s.label != "ok" for s in found), screen.latency_ms, outs)


def summarize(drafts: list[DraftOutcome]) -> dict:
    sents = [s for d in drafts for s in d.sentences]
    bad = [s for s in sents if s.gold_label != "ok"]
    ok = [s for s in sents if s.gold_label == "ok"]
    caught = [s for s in bad if s.flagged]
    flagged = [s for s in sents if s.flagged]
    clean = [d for d in drafts if d.clean]
    latencies = sorted(d.latency_ms for d in drafts)

    def share(part, whole):
        return round(len(part) / len(whole), 3) if whole else None

    return {
        "drafts": len(drafts), "sentences": len(sents), "gold_flagged": len(bad),
        "recall": share(caught, bad),
        "right_article": share([s for s in caught if s.right_article], caught),
        "right_article_of_all": share([s for s in bad if s.right_article], bad),
        "precision": share([s for s in flagged if s.gold_label != "ok"], flagged),
        "clean_passed": share([s for s in ok if not s.flagged], ok),
        "clean_drafts_passed": share([d for d in clean if d.flagged == 0], clean),
        "latency_median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_max_ms": latencies[-1] if latencies else None,
    }


def failed_floors(m: dict) -> list[str]:
    return [f"{k} {m[k]} < {v}" for k, v in FLOORS.items() if m.get(k) is not None and m[k] < v]


def run(splits: tuple[str, ...] | None = None, assistants: dict | None = None, model=None) -> list[DraftOutcome]:
    """Screen every draft of the chosen splits (all by default), each against its corpus's index
    (with ``model``, a qa.screen.ScreenModel other than the shipped one: eval/fit_screen.py's cross-fit)."""
    from eval.runner import open_assistants
    from qa.screen import Screener

    chosen = [s for s in draft_sets() if splits is None or s.split in splits]
    if assistants is None or not {s.corpus for s in chosen} <= assistants.keys():
        _, assistants = open_assistants({s.corpus for s in chosen})
    outs = []
    for s in chosen:
        assistant = assistants[s.corpus]
        screener = Screener(assistant, model)
        for row in load(s.path):
            outs.append(score(row, s.split, screener.screen(row["draft"]), assistant.index))
    return outs


COLUMNS = ["drafts", "sentences", "gold_flagged", "recall", "right_article", "precision", "clean_passed",
           "clean_drafts_passed", "latency_median_ms", "latency_max_ms"]
HEADS = ["drafts", "sentences", "flagged", "recall", "right art.", "precision", "ok passed", "clean drafts",
         "median ms", "max ms"]


def tables(outs: list[DraftOutcome]) -> dict[str, dict]:
    """The summaries: all drafts, per split, per language."""
    table = {"drafts: all": summarize(outs)}
    for split in dict.fromkeys(o.split for o in outs):
        table[f"drafts: {split}"] = summarize([o for o in outs if o.split == split])
    for lang in ("zh", "en"):
        table[f"drafts: lang {lang}"] = summarize([o for o in outs if o.lang == lang])
    return table


def report(outs: list[DraftOutcome], verbose: bool = False) -> dict[str, dict]:
    """Print the table (by split and language) and return the summaries."""
    from eval.runner import print_table

    table = tables(outs)
    print_table(table, COLUMNS, HEADS)
    if verbose:
        for o in outs:
            if o.split not in OPEN:
                continue
            for s in o.sentences:
                wrong = (s.gold_label != "ok") != s.flagged or (s.flagged and s.gold_label != "ok" and not s.right_article)
                if wrong:
                    print(json.dumps({"draft": s.draft, "gold": s.gold_label, "got": s.label, "p": s.probability,
                                      "gold_units": s.gold, "cited": s.cited, "text": s.text}, ensure_ascii=False))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="all")
    parser.add_argument("--verbose", action="store_true", help="list the dev drafts' wrong sentences")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    problems = sealed_problems()
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    outs = run(None if args.split == "all" else (args.split,))
    table = report(outs, args.verbose)
    if args.json:
        print(json.dumps(table, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
