"""The regression gate: what the last accepted run got right must stay right.

`python app.py eval --record` stores every question's outcome with a hash of its gold row, and the
summary, in eval/expected.json. The test suite re-runs the eval and fails when
- any answer is not grounded in the units it cites;
- a question that passed now fails although its gold row is unchanged;
- a core floor that held when recorded no longer holds;
- on any split, the share of unsafe 可以/Yes answers (`unsafe_yes`) is above its recorded level.
Questions are compared one by one on the dev split only: the sealed splits are read in aggregate.
A question whose gold row changed is judged afresh; re-record once the change is reviewed.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from eval.metrics import Outcome, failed_floors, summarize


def row_hash(row: dict) -> str:
    return hashlib.sha256(json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def record(outcomes: list[Outcome], rows: list[dict], summary: dict, path: Path,
           splits: dict[str, dict] | None = None) -> None:
    hashes = {r["id"]: row_hash(r) for r in rows}
    dev = [o for o in outcomes if o.split == "dev"]
    data = {
        "summary": summary,
        "floors_missed": failed_floors(summarize(dev)) if dev else [],
        "splits": {s: {k: v for k, v in m.items() if not k.startswith("latency")} for s, m in (splits or {}).items()},
        "questions": {o.id: {"passed": o.passed, "row": hashes[o.id]} for o in dev},
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def check(outcomes: list[Outcome], rows: list[dict], summary: dict, expected: dict) -> list[str]:
    """Every way this run is worse than the recorded one, or [] if it is not. ``summary`` is the dev split's."""
    problems = [f"{o.id}: {f}" for o in outcomes for f in o.grounding]
    hashes = {r["id"]: row_hash(r) for r in rows}
    for split, before in expected.get("splits", {}).items():
        now = [o for o in outcomes if o.split == split]
        if now and before.get("unsafe_yes") is not None:
            # counted, not compared as a rate: a question left out (reviewed by a supervisor) must not
            # turn the same answers into a higher share
            unsafe = sum(o.verdict == "allowed" and o.gold_verdict != "allowed" for o in now)
            recorded = round(before["unsafe_yes"] * before["questions"])
            if unsafe > recorded:
                problems.append(f"{split}: {unsafe} unsafe 可以/Yes answers, {recorded} when recorded")
    for o in outcomes:
        if o.split != "dev":
            continue
        before = expected["questions"].get(o.id)
        if before and before["passed"] and before["row"] == hashes[o.id] and not o.passed:
            problems.append(f"{o.id} passed before and fails now: {o.question} (got {o.ranked[:1]} {o.verdict})")
    was_missed = {f.split()[0] for f in expected["floors_missed"]}
    for failure in failed_floors(summary):
        if failure.split()[0] not in was_missed:
            problems.append(f"core floor broken: {failure}")
    return problems
