"""The index in a real Chroma server (`chroma run` on localhost), shared by two app instances:
retrieval gives the same answers as the embedded store, and a rebuild by one instance reaches the other."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from conftest import free_port

from eval.runner import default_sets, evaluate, load_set, resolve
from indexer.build import add_document, build_index
from qa.answer import Assistant
from service import Service


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = Path(sys.executable).with_name("chroma")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = open(path / "server.log", "w")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma did not start:\n" + (path / "server.log").read_text())
    yield port
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def instance(settings, tmp_path_factory, port: int):
    """An app instance of its own (own data dir and corpus copy) pointing at the shared Chroma server."""
    base = tmp_path_factory.mktemp("instance")
    shutil.copytree(settings.corpus_dir, base / "corpus", dirs_exist_ok=True)
    (base / "data").mkdir()
    shutil.copyfile(settings.cache_path, base / "data" / settings.cache_path.name)  # no re-embedding
    return replace(settings, corpus_dir=base / "corpus", data_dir=base / "data", chroma_host="127.0.0.1",
                   chroma_port=port)


@pytest.fixture(scope="module")
def first(built, settings, tmp_path_factory, chroma_server):
    shared = instance(settings, tmp_path_factory, chroma_server)
    report = build_index(shared)
    assert report.units == built.units and not report.skipped
    return shared


def test_retrieval_on_the_server_matches_the_embedded_store(first, assistant):
    served = Assistant.open(first, build_if_missing=False)
    assert [u.id for u in served.index.units] == [u.id for u in assistant.index.units]
    assert [u.path for u in served.index.units] == [u.path for u in assistant.index.units]
    rows = [(name, resolve(r, assistant.index)) for name, path in default_sets() for r in load_set(path)][::4]
    ours = evaluate(served.ask, rows, served.index)
    local = evaluate(assistant.ask, rows, assistant.index)
    assert [o.ranked[:3] for o in ours] == [o.ranked[:3] for o in local]
    assert [o.verdict for o in ours] == [o.verdict for o in local]
    answer = served.ask("我能以公司名义和客户签合同吗？")
    assert answer.citations[0].label == "第二十五条" and answer.verdict == "prohibited"


def test_a_second_instance_shares_the_index_and_follows_rebuilds(first, settings, tmp_path_factory, chroma_server, tmp_path):
    second = instance(settings, tmp_path_factory, chroma_server)
    assert build_index(second).skipped  # same corpus: the server's index is already current
    other = Service(second)
    assert other.ask("Can I accept a gift from a client?").citations[0].label == "第三十条"
    source = tmp_path / "车辆管理办法.md"
    source.write_text("# 车辆管理办法\n1. 公司车辆不得私用。\n", encoding="utf-8")
    add_document(first, source)  # instance one adds a policy
    time.sleep(0.6)
    answer = other.ask("公司车辆可以私用吗？")  # instance two answers from it
    assert answer.citations and answer.citations[0].doc_title == "车辆管理办法"


def test_two_app_servers_share_one_chroma_server_and_one_postgresql(first, settings, tmp_path_factory, chroma_server,
                                                                   postgres_url, tmp_path):
    """docs/deploy.md's layout, for real: two `python app.py serve` processes, one Chroma server for the
    index and one PostgreSQL for the audit trail. Either answers; both answers land in the one trail;
    a policy added through one instance is answered by the other."""
    from gradio_client import Client

    from audit.log import AuditLog
    from conftest import fresh_postgres_database, start_app

    database = fresh_postgres_database(postgres_url)
    env = {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(chroma_server), "DATABASE_URL": database}
    one, two = start_app(settings, tmp_path_factory, env), start_app(settings, tmp_path_factory, env)
    try:
        a, b = next(one), next(two)
        assert a["url"] != b["url"]
        answers = [Client(s["url"], verbose=False).predict(question, "", api_name="/ask")
                   for s, question in ((a, "我能以公司名义和客户签合同吗？"), (b, "Can I accept a gift from a client?"))]
        assert [x["citations"][0]["label"] for x in answers] == ["第二十五条", "第三十条"]
        trail = AuditLog(database)
        assert [trail.answer(x["id"])["channel"] for x in answers] == ["api", "api"]
        source = tmp_path / "差旅管理办法.md"
        source.write_text("# 差旅管理办法\n1. 出差不得乘坐头等舱。\n", encoding="utf-8")
        add_document(replace(first, database_url=database), source)  # an admin adds a policy on instance one's side
        time.sleep(0.6)
        reply = Client(b["url"], verbose=False).predict("出差可以坐头等舱吗？", "", api_name="/ask")
        assert reply["citations"][0]["doc_title"] == "差旅管理办法" and reply["verdict"] == "prohibited"
    finally:
        one.close()
        two.close()
