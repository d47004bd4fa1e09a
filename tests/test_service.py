"""The service the web app, API and CLI share: answers are recorded, and a long-running process
follows the index when it is rebuilt (real index; the audit trail in an SQLite file, then in PostgreSQL)."""
from __future__ import annotations

import time

import pytest

from indexer.build import add_document
from service import Service


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request, private_settings):
    from dataclasses import replace

    from conftest import fresh_postgres_database

    if request.param == "postgresql":
        url = fresh_postgres_database(request.getfixturevalue("postgres_url"))
        return Service(replace(private_settings, database_url=url))
    return Service(private_settings)


def test_every_answer_is_recorded_with_its_evidence(service):
    answer = service.ask("我能以公司名义和客户签合同吗？", channel="cli", user="alice")
    stored = service.audit.answer(answer.id)
    assert stored["user"] == "alice" and stored["channel"] == "cli"
    assert stored["question"] == answer.question and stored["answer"] == answer.answer
    assert [c["id"] for c in stored["citations"]] == [c.id for c in answer.citations]
    assert stored["index_version"].startswith(service.assistant.index.meta["fingerprint"])
    assert stored["answerer"] == "rules" and "weights" in stored["settings"]


def test_feedback_is_appended_and_checked(service):
    answer = service.ask("Can I accept a gift from a client?")
    service.feedback(answer.id, -1)
    service.feedback(answer.id, 0, "  should also cite 第二十七条 ")
    notes = service.audit.answer(answer.id)["feedback"]
    assert [(n["rating"], n["comment"]) for n in notes] == [(-1, ""), (0, "should also cite 第二十七条")]
    with pytest.raises(KeyError):
        service.feedback("no-such-answer", 1)
    with pytest.raises(ValueError):
        service.feedback(answer.id, 5)


def test_a_running_service_follows_a_rebuild_made_elsewhere(service, tmp_path):
    before = service.assistant.index.build_id
    source = tmp_path / "车辆管理办法.md"
    source.write_text("# 车辆管理办法\n1. 公司车辆不得私用。\n", encoding="utf-8")
    add_document(service.settings, source)  # as `python app.py add` in another process would
    time.sleep(0.6)  # the service looks at the pointer at most twice a second
    answer = service.ask("公司车辆可以私用吗？")
    assert service.assistant.index.build_id != before
    assert service.assistant.memory is not None  # the reopened index keeps the reviewed-answer memory
    assert answer.citations and answer.citations[0].doc_title == "车辆管理办法"
    service.remove("车辆管理办法")
    assert "车辆管理办法" not in {d["id"] for d in service.documents()}


def test_neighbours_stay_inside_the_document(service):
    around = service.neighbours("p1:第二十五条")
    assert [u.label for u in around] == ["第二十四条", "第二十五条", "第二十六条"]
    first = service.assistant.index.units[0]
    assert all(u.doc_id == first.doc_id for u in service.neighbours(first.id))


def test_a_card_made_just_before_a_rebuild_still_renders(service, tmp_path):
    """An answer made on the build a removal just replaced cites a unit the new build lacks: the
    card shows the cited text without neighbours instead of failing the whole answer."""
    source = tmp_path / "礼品管理办法.txt"
    source.write_text("第一条 员工不得收受供应商赠送的高尔夫球会员卡等礼品。\n", encoding="utf-8")
    service.add(source)
    time.sleep(0.6)
    answer = service.ask("供应商送的高尔夫球会员卡能收吗？")
    assert answer.citations[0].id == "礼品管理办法:第一条"
    service.remove("礼品管理办法")
    time.sleep(0.6)
    assert service.neighbours(answer.citations[0].id) == []
