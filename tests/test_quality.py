"""Answers stay grounded and the gold-set figures do not fall (a regression guard, not the floors)."""
from __future__ import annotations

import re

from eval.runner import DEFAULT_SET, load_set, run


def test_every_answer_is_grounded_in_what_it_cites(assistant):
    """Cited ids exist, citation text is the unit's text, and a quoted clause occurs in the top unit."""
    rows = load_set(DEFAULT_SET)
    for row in rows:
        answer = assistant.ask(row["question"])
        if answer.verdict == "not_covered":
            assert answer.citations == []
            continue
        for c in answer.citations:
            assert assistant.index.by_id[c.id].text == c.text
        quoted = re.split(r"[：:]\s*", answer.answer, maxsplit=1)
        if answer.verdict in ("required", "info"):
            assert quoted[1] in answer.citations[0].text, (row["question"], answer.answer)
        if answer.verdict == "prohibited" and "除非经" in answer.answer:
            condition = answer.answer.split("除非经")[1].rstrip("。")
            assert condition in answer.citations[0].text


def test_gold_set_figures_do_not_regress(assistant):
    rows = load_set(DEFAULT_SET)
    report, _ = run(assistant, rows)
    dev, overall = report["split:dev"], report["all"]
    # Measured 2026-11-27 (docs/retrieval.md): dev top-1 0.90, top-3 0.97, verdict 0.92;
    # all questions: out-of-scope refusal 0.80, false refusal 0.03. A change that drops below these
    # guards made answers worse.
    assert dev["top1"] >= 0.88 and dev["top3"] >= 0.95
    assert overall["verdict"] >= 0.88
    assert overall["oos_refusal"] >= 0.75 and overall["false_refusal"] <= 0.06
