"""bench/bench_scale.py's 50,000-unit figures rest on its varied copies parsing into the same units and
chunks as the original, while the statutes it copies get new passage texts (so the embedding cache
cannot make them free). Checked on the shipped documents and, when ../shared/external is there, on
six statutes."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import bench_scale  # noqa: E402

STATUTES = ("价格法", "拍卖法", "禁毒法", "工会法", "反洗钱法", "劳动合同法")


def _copy(source: Path, tmp_path: Path) -> tuple[list[str], list[str]]:
    copy = tmp_path / f"{source.stem}-v3.md"
    copy.write_text(bench_scale.vary(source.read_text(encoding="utf-8"), 3), encoding="utf-8")
    assert len(bench_scale._chunks(copy)) == len(bench_scale._chunks(source))
    assert bench_scale.COPY_NAME.sub(".md", copy.name) == f"{source.stem}.md"
    original, varied = bench_scale._unit_passages(source), bench_scale._unit_passages(copy)
    assert len(varied) == len(original)
    return original, varied


def test_a_varied_copy_keeps_units_and_chunks(tmp_path: Path) -> None:
    for source in sorted((ROOT / "corpus").glob("p*.txt")):
        _copy(source, tmp_path)


def test_a_varied_statute_has_new_passages(tmp_path: Path) -> None:
    bulk = bench_scale.DEFAULT_EXTERNAL / "bulk"
    if not bulk.exists():
        pytest.skip(f"no {bulk}")
    for name in STATUTES:
        original, varied = _copy(bulk / f"{name}.md", tmp_path)
        assert sum(a != b for a, b in zip(original, varied)) >= 0.9 * len(original)


def test_percentile_is_nearest_rank() -> None:
    assert bench_scale.percentile([float(x) for x in range(1, 101)], 0.95) == 95.0
    assert bench_scale.percentile([3.0], 0.5) == 3.0
