"""Quiz items from the real corpus: every key follows from its article, exports parse back by the
formats' published rules, the same seed gives the same quiz, and bad options get clear errors."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest

from quiz.formats import LETTERS, export, parse_aiken, parse_gift
from quiz.generate import TYPES, QuizError, make_quiz, norm


@pytest.fixture(scope="module")
def units(assistant):
    return assistant.index.units


@pytest.fixture(scope="module")
def quiz(units):
    return make_quiz(units, 200, seed=7)


def test_200_items_over_every_document_and_type(quiz):
    assert len(quiz.items) == 200
    assert {i.source.doc_id for i in quiz.items} == {"p1", "p2", "p3", "p4", "p5"}
    assert {i.type for i in quiz.items} == set(TYPES)
    for item in quiz.items:
        d = item.to_dict()
        assert {"type", "stem", "options", "answer", "explanation", "source"} <= d.keys()
        assert {"doc_id", "label", "text"} <= d["source"].keys()


def test_answer_keys_follow_from_the_article_text(quiz, units):
    """Checked here from the article text alone, not with the generator's own validator."""
    by_id = {u.id: u for u in units}
    for item in quiz.items:
        source = by_id[item.source.unit_id]
        assert item.source.text == source.text  # the unit's full text, as in the corpus
        text = norm(source.text)
        if item.type == "tf" and item.kind in ("faithful", "flipped", "number"):
            statement = norm(item.stem.removeprefix("判断正误："))
            assert (statement in text) == (item.answer == ["正确"]), item.stem
        elif item.type == "cloze":
            assert item.answer[0] in source.text
            assert norm(item.stem.removeprefix("填空：").replace("____", item.answer[0], 1)) in text
        elif item.type in ("choice", "multi"):
            sources = " ".join(norm(by_id[s.unit_id].text) for s in (item.sources or [item.source]))
            assert all(norm(a) in sources for a in item.answer)
            assert not any(norm(o) in sources for o in item.options if o not in item.answer)
        if item.type == "tf" and item.kind == "duty":
            from qa.verdict import topic

            duty = norm(re.search(r"“(.+)”", item.stem, re.S).group(1))
            role = [norm(u.text) for u in units if topic(u) == topic(source)]
            assert any(duty in r for r in role) == (item.answer == ["正确"]), item.stem
        if item.kind == "forbidden":
            assert all(re.search(r"不得|严禁|禁止|不准", s.text) for s in (item.sources or [item.source]))
        if item.kind == "permitted":
            assert all("可以" in s.text for s in (item.sources or [item.source]))


def test_no_duplicates_and_validation_is_counted(quiz):
    keys = [(i.type, i.stem, tuple(i.options), tuple(i.answer)) for i in quiz.items]
    assert len(set(keys)) == len(keys)
    assert sum(quiz.dropped.values()) > 0  # some candidates fail validation, and are counted, not emitted


def test_same_seed_same_quiz_other_seed_other_quiz(units, quiz):
    again = make_quiz(units, 200, seed=7)
    assert [i.to_dict() for i in again.items] == [i.to_dict() for i in quiz.items]
    assert [i.id for i in make_quiz(units, 200, seed=8).items] != [i.id for i in quiz.items]


def test_english_stems_quote_the_chinese_article(units):
    items = make_quiz(units, 40, seed=1, lang="en").items
    assert all(re.search(r"[A-Za-z]", i.stem) for i in items)
    quoted = [i for i in items if i.type in ("tf", "cloze")]
    assert quoted and all(re.search(r"“.*[\u4e00-\u9fff].*”", i.stem, re.S) for i in quoted)
    assert all(i.answer[0] in ("True", "False") for i in items if i.type == "tf")


def test_documents_and_types_can_be_chosen(units):
    items = make_quiz(units, 30, types=("cloze",), seed=2, docs=["p1", "p3"]).items
    assert {i.type for i in items} == {"cloze"} and {i.source.doc_id for i in items} <= {"p1", "p3"}


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 10, "docs": ["p9"]}, "unknown document"),
    ({"n": 0}, "positive"),
    ({"n": -3}, "positive"),
    ({"n": 10, "types": ("essay",)}, "unknown item type"),
    ({"n": 100000}, "only"),
    ({"n": 500, "docs": ["p2"], "types": ("multi",)}, "only"),
])
def test_bad_options_give_clear_errors(units, kwargs, message):
    with pytest.raises(QuizError, match=message):
        make_quiz(units, **kwargs)


def test_gift_export_parses_back(quiz):
    text, _ = export(quiz.items, "gift", {})
    parsed = parse_gift(text)
    assert len(parsed) == len(quiz.items)
    for item, q in zip(quiz.items, parsed):
        assert q["title"].endswith(item.id) and q["feedback"] == item.explanation
        if item.type == "tf":
            assert q["kind"] == "tf" and q["right"] == [item.answer[0] == "正确"]
            assert q["stem"].strip() == item.stem
        elif item.type == "choice":
            assert q["kind"] == "choice" and q["options"] == item.options and q["right"] == item.answer
        elif item.type == "multi":
            assert q["kind"] == "multi" and q["options"] == item.options and sorted(q["right"]) == sorted(item.answer)
        else:
            assert q["kind"] == "short" and q["right"] == item.answer and q["stem"] == item.stem


def test_gift_escapes_its_special_characters(units):
    from quiz.formats import gift_escape

    assert gift_escape("a{b}=c~d#e:f") == "a\\{b\\}\\=c\\~d\\#e\\:f"
    items = make_quiz(units, 60, seed=3).items
    text, _ = export(items, "gift", {})
    assert len(parse_gift(text)) == 60  # stems with ':' (活动申请时间:…) and '%' survive


def test_aiken_export_parses_back(quiz):
    text, notes = export(quiz.items, "aiken", {})
    single = [i for i in quiz.items if i.type in ("tf", "choice")]
    parsed = parse_aiken(text)
    assert len(parsed) == len(single) and notes  # multi and cloze are left out, and the user is told
    for item, q in zip(single, parsed):
        assert q["options"] == [" ".join(o.split()) for o in item.options]
        assert q["options"][LETTERS.index(q["answer"])] == " ".join(item.answer[0].split())


def test_json_csv_and_markdown_exports(quiz):
    data = json.loads(export(quiz.items, "json", {"seed": 7})[0])
    assert data["meta"]["seed"] == 7 and len(data["items"]) == 200
    multi = next(r for r in data["items"] if r["type"] == "multi")
    assert isinstance(multi["answer"], list) and multi["answer_letters"]
    rows = list(csv.DictReader(io.StringIO(export(quiz.items, "csv", {})[0])))
    assert len(rows) == 200 and rows[0]["source_text"] == quiz.items[0].source.text
    md = export(quiz.items, "md", {})[0]
    assert md.count("\n1. ") >= 1 and "## 答案与依据" in md


def test_cli_writes_a_file_and_refuses_bad_options(settings, built, tmp_path, capsys):
    import app

    out = tmp_path / "quiz.gift"
    assert app.main(["quiz", "--n", "12", "--seed", "4", "--format", "gift", "--out", str(out)]) == 0
    assert len(parse_gift(out.read_text(encoding="utf-8"))) == 12
    assert app.main(["quiz", "--n", "5", "--doc", "nope"]) == 2
    assert "unknown document" in capsys.readouterr().err
