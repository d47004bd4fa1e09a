"""The eval suite on the real gold sets: groundedness is a hard failure, the regression gate holds,
the checker catches fabrications, and the report (with the tutorial baseline beside ours) is written."""
from __future__ import annotations

import copy
import json

import pytest

from eval import gate
from eval.grounding import failures
from eval.metrics import groups, summarize
from eval.runner import EXPECTED, all_sets, collect, default_sets, evaluate


@pytest.fixture(scope="session")
def gold_rows(assistant):
    """The dev questions as the runner asks them (evidence rows resolved to the index's unit ids)."""
    return collect([s for s in all_sets() if s.split == "dev"], {"five": assistant})[0]["five"]


@pytest.fixture(scope="session")
def outcomes(assistant, gold_rows):
    return evaluate(assistant.ask, gold_rows, assistant.index)


@pytest.fixture(scope="session")
def sealed_outcomes(assistant, external_assistant):
    """The sealed splits, answered; read in aggregate only."""
    assistants = {"five": assistant, "external": external_assistant}
    chosen = [s for s in all_sets() if s.sha256]
    rows, _, _ = collect(chosen, assistants)
    return [o for c, a in assistants.items() for o in evaluate(a.ask, rows[c], a.index)]


def test_gold_sets_cover_what_the_suite_promises(gold_rows, assistant):
    rows = [r for _, r in gold_rows]
    assert len(rows) >= 250 and all(r["why"].strip() for r in rows)
    from eval.metrics import tags_of

    tags = [t for r in rows for t in tags_of(r)]
    for tag, least in {"english": 100, "out_of_scope": 50, "two_articles": 20, "traditional": 8, "typo": 5,
                       "colloquial": 10, "paraphrase": 5, "near_miss": 8}.items():
        assert tags.count(tag) >= least, tag
    assert all(g in assistant.index.by_id for r in rows for g in r["gold"] + r.get("accept", []))
    sets = json.loads((EXPECTED.parent / "sets.json").read_text(encoding="utf-8"))["sets"]
    assert all(s["editors"] and s["owner"] for s in sets)


def test_every_answer_is_grounded(outcomes):
    ungrounded = [(o.id, f) for o in outcomes for f in o.grounding]
    assert ungrounded == []


def test_regression_gate(outcomes, sealed_outcomes, gold_rows):
    """Nothing that passed when eval/expected.json was recorded fails now (unless its gold row changed),
    no core floor that held then is broken now, and no split gives more unsafe 可以/Yes answers than
    it did. Re-record with `python app.py eval --record`."""
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert set(expected["splits"]) == {"dev", "added", "sealed", "external"}
    problems = gate.check(outcomes + sealed_outcomes, [r for _, r in gold_rows], summarize(outcomes), expected)
    assert problems == []


def test_sealed_splits_are_answered_grounded_and_measured(sealed_outcomes):
    assert {o.split for o in sealed_outcomes} == {"sealed", "external"}
    assert [f for o in sealed_outcomes for f in o.grounding] == []
    for split in ("sealed", "external"):
        m = summarize([o for o in sealed_outcomes if o.split == split])
        assert m["questions"] >= 150 and m["unsafe_yes"] is not None and m["missed_prohibition"] is not None
        # the questions are about the documents, so retrieval finds the right unit for most of them
        assert m["top3"] > 0.3


def test_gate_counts_an_unsafe_yes(sealed_outcomes, gold_rows):
    """An answer turned into 可以 where the gold says otherwise raises unsafe_yes above the record."""
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    broken = copy.deepcopy(sealed_outcomes)
    victim = next(o for o in broken if o.split == "external" and o.gold_verdict == "prohibited" and o.verdict != "allowed")
    victim.verdict = "allowed"
    problems = gate.check(broken, [], {"top1": None, "top3": None, "verdict": None, "oos_refusal": None,
                                       "false_refusal": None}, expected)
    assert any(p.startswith("external:") and "unsafe" in p for p in problems)


def test_gate_and_grounding_catch_a_broken_answer(assistant, outcomes, gold_rows):
    answer = assistant.ask("我能以公司名义和客户签合同吗？")
    assert failures(answer, assistant.index) == []
    forged = copy.deepcopy(answer)
    forged.citations[0].quote = "营销人员可以以公司名义签订合同。"
    forged.answer = "不可以，除非经总经理批准。"
    problems = failures(forged, assistant.index)
    assert any("quoted span" in p for p in problems) and any("condition" in p for p in problems)
    forged.citations[0].id = "p1:第九十九条"
    assert any("not in the index" in p for p in failures(forged, assistant.index))

    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    passing = next(o for o in outcomes if o.passed and expected["questions"].get(o.id, {}).get("passed"))
    broken = copy.deepcopy(outcomes)
    victim = next(o for o in broken if o.id == passing.id)
    victim.ranked = ["p1:第一条"] + victim.ranked
    problems = gate.check(broken, [r for _, r in gold_rows], summarize(broken), expected)
    assert any(passing.id in p for p in problems)


def test_report_with_baseline_charts_and_diff(settings, assistant, outcomes, gold_rows, tmp_path):
    from eval.baseline import TutorialPipeline
    from eval.report import write_report

    baseline = evaluate(TutorialPipeline(settings, assistant.index).ask, gold_rows[:120], verdicts=False)
    ours = outcomes[:120]
    assert summarize(baseline)["top1"] < summarize(ours)["top1"]
    assert summarize(baseline)["verdict"] is None
    report = write_report(tmp_path, ours, baseline, sets=default_sets())
    text = report.read_text(encoding="utf-8")
    for section in ("## Summary", "## Core floors", "## Groundedness", "## Breakdown", "## Verdicts",
                    "baseline", "doc:p1", "lang:en", "verdict:prohibited"):
        assert section in text
    for png in ("per_document.png", "confusion.png", "latency.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a previous run in which one passing question failed: the new report lists it as better
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    flipped = next(o for o in results["outcomes"] if o["passed"])
    flipped["passed"] = False
    (tmp_path / "results.json").write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    text = write_report(tmp_path, ours, baseline, sets=default_sets()).read_text(encoding="utf-8")
    assert "1 better, 0 worse" in text and flipped["id"] in text


def test_breakdowns_cover_every_document_language_and_verdict(outcomes):
    names = set(groups(outcomes))
    assert {"doc:p1", "doc:p2", "doc:p3", "doc:p4", "doc:p5", "lang:zh", "lang:en"} <= names
    assert {f"verdict:{v}" for v in ("allowed", "prohibited", "required", "info", "not_covered")} <= names


def test_weight_fit_sees_exactly_what_the_retriever_sums(assistant):
    """eval.tune_weights fits one coefficient per feature; the features must be the very terms the
    retriever adds up, or fitted weights would not reproduce the ranking they were fitted for."""
    import numpy as np

    from eval.tune_weights import candidate_features, every_signal

    switched_off = assistant.retriever.with_weights(heading=0.0)
    assert "heading" not in switched_off.signals("客户投诉")  # a signal at weight 0 is not computed …
    assert "heading" in every_signal(switched_off).signals("客户投诉")  # … but the fit must see it
    retriever = every_signal(assistant.retriever)
    questions = ("我能以公司名义和客户签合同吗？", "What does the sales department manager do?", "会前几天要开摸底会")
    for question in questions:
        names, ids, x = candidate_features(retriever, question)
        coefficients = np.array([retriever.weights.coefficients()[n] for n in names])
        fused = {h.unit.id: h.score for h in retriever.retrieve(question, k=10_000).hits}
        assert len(ids) > 10 and {"rule", "stub", "role", "e5", "heading"} <= set(names)
        assert np.allclose(x @ coefficients, [fused[i] for i in ids], atol=0.01)
