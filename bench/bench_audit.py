"""Audit trail at size: seed 50,000 answers (bulk insert) in a fresh SQLite file, then time a filtered
count plus the first page of results, as 审计's 查询 does (target ≤ 300 ms, issue 14 #4)."""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from audit.log import AuditLog, Filters  # noqa: E402
from test_audit_history import seed  # noqa: E402

ROWS = 50_000
PAGE = 500  # rows 审计's table shows (ui.audit.TABLE_ROWS)
RUNS = 5
CASES = {"no filter": Filters(), "verdict+doc": Filters(verdict="info", doc="p1"),
         "review=incorrect": Filters(review="incorrect"), "feedback=down": Filters(feedback="down"),
         "one old day": Filters(since="2026-10-27", until="2026-10-27")}


def timed(log: AuditLog, filters: Filters) -> float:
    """Milliseconds for the count and one page: what one search in 审计 costs."""
    started = time.perf_counter()
    log.count(filters)
    list(log.iter_rows(filters, limit=PAGE))
    return (time.perf_counter() - started) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(f"sqlite:///{Path(tmp) / 'audit.sqlite'}")
        started = time.perf_counter()
        seed(log, ROWS)
        print(f"seeded {ROWS} answers in {time.perf_counter() - started:.1f} s")
        for name, filters in CASES.items():
            figures = [timed(log, filters) for _ in range(RUNS)]
            print(f"{name:18s} count + first {PAGE} rows: median {statistics.median(figures):.0f} ms, "
                  f"max {max(figures):.0f} ms")


if __name__ == "__main__":
    main()
