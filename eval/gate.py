"""The regression gate: what the last accepted run got right must stay right.

`python app.py eval --record` stores every question's outcome with a hash of its gold row, and the
summary, in eval/expected.json. The test suite re-runs the eval and fails when
- any answer is not grounded in the units it cites;
- a question that passed now fails although its gold row is unchanged;
- a core floor that held when recorded no longer holds.
A question whose gold row changed is judged afresh; re-record once the change is reviewed.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from eval.metrics import Outcome, failed_floors


def row_hash(row: dict) -> str:
    return hashlib.sha256(json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def record(outcomes: list[Outcome], rows: list[dict], summary: dict, path: Path) -> None:
    hashes = {r["id"]: row_hash(r) for r in rows}
    data = {
        "summary": summary,
        "floors_missed": failed_floors(summary),
        "questions": {o.id: {"passed": o.passed, "row": hashes[o.id]} for o in outcomes},
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def check(outcomes: list[Outcome], rows: list[dict], summary: dict, expected: dict) -> list[str]:
    """Every way this run is worse than the recorded one, or [] if it is not."""
    problems = [f"{o.id}: {f}" for o in outcomes for f in o.grounding]
    hashes = {r["id"]: row_hash(r) for r in rows}
    for o in outcomes:
        before = expected["questions"].get(o.id)
        if before and before["passed"] and before["row"] == hashes[o.id] and not o.passed:
            problems.append(f"{o.id} passed before and fails now: {o.question} (got {o.ranked[:1]} {o.verdict})")
    was_missed = {f.split()[0] for f in expected["floors_missed"]}
    for failure in failed_floors(summary):
        if failure.split()[0] not in was_missed:
            problems.append(f"core floor broken: {failure}")
    return problems
