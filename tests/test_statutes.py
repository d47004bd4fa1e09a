"""Public regulations added as a customer would add them are read as statutes: an article with its
lead-in, items and later paragraphs is one unit, and no Markdown or promulgation metadata leaks."""
from __future__ import annotations

from eval.external import DOCUMENTS, external_dir
from indexer.loaders import read_document
from indexer.parse import parse


def test_every_article_of_every_regulation_is_one_clean_unit():
    counts = {"securities-law": 226, "fund-law": 154, "consumer-law": 63, "advisory-measures": 38,
              "private-fund-regulation": 62, "ecommerce-law": 89}  # external/README.md
    for name in DOCUMENTS:
        result = parse(name, name, read_document(external_dir() / f"{name}.md"))
        assert len(result.units) == counts[name], name
        assert result.warnings == [], name
        for unit in result.units:
            assert unit.kind == "article" and unit.label.startswith("第") and unit.label.endswith("条")
            shown = " ".join(unit.path) + unit.text + unit.label
            assert "#" not in shown and "INFO END" not in shown and "<!--" not in shown


def test_lead_in_items_and_following_paragraph_stay_together():
    result = parse("securities-law", "证券法", read_document(external_dir() / "securities-law.md"))
    unit = next(u for u in result.units if u.label == "第二十九条")
    assert unit.id == "securities-law:第二十九条"
    assert unit.path == ["中华人民共和国证券法", "第二章  证券发行"]
    lines = unit.text.splitlines()
    assert lines[0].startswith("第二十九条") and "证券公司承销证券，不得有下列行为：" in lines
    assert [line[:3] for line in lines if line.startswith("（")] == ["（一）", "（二）", "（三）"]
    assert lines[-1].startswith("证券公司有前款所列行为")  # the paragraph after the list is the article's


def test_added_regulation_answers_with_its_article(external_assistant):
    answer = external_assistant.ask("证券公司承销证券时可以做虚假广告宣传吗？")
    assert answer.verdict == "prohibited"
    assert answer.citations[0].id == "securities-law:第二十九条"
    english = external_assistant.ask("Can a securities firm run misleading ads when underwriting a share issue?")
    assert english.verdict == "prohibited" and english.citations[0].id == "securities-law:第二十九条"
