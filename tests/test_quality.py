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
    # Measured 2026-11-27 (docs/retrieval.md), deterministic from run to run: dev top-1 0.906,
    # top-3 0.977; all questions: verdict 0.893, out-of-scope refused 0.833, in-scope refused 0.052.
    # A change that drops below these guards made answers worse.
    assert dev["top1"] >= 0.89 and dev["top3"] >= 0.96
    assert overall["verdict"] >= 0.87
    assert overall["oos_refusal"] >= 0.80 and overall["false_refusal"] <= 0.07
