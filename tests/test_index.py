"""Building, refreshing and protecting the on-disk index (real models, real Chroma)."""
from __future__ import annotations

import json

import pytest

from indexer.build import add_document, build_index, remove_document
from indexer.loaders import DocumentError
from indexer.store import IndexStore


def test_cold_build_reports_documents_units_and_the_duplicate(built, settings):
    assert built.documents == 5 and built.units > 400
    assert any("第四十二条" in w for w in built.warnings)
    index = IndexStore(settings.index_dir).open()
    assert index.collection("e5").count() == built.units
    assert index.collection("use").count() == built.units
    assert index.by_id["p1:第二十五条"].path[-1] == "第二节业务要求"


def test_unchanged_corpus_is_not_rebuilt(built, settings):
    before = IndexStore(settings.index_dir).current_dir()
    report = build_index(settings)
    assert report.skipped and IndexStore(settings.index_dir).current_dir() == before


def test_added_document_is_indexed_incrementally_and_can_be_removed(private_settings, tmp_path):
    settings = private_settings
    assert build_index(settings).embedded == 0  # a fresh data dir, but every unit is in the cache
    from indexer.build import add_document, remove_document

    source = tmp_path / "gifts.md"
    source.write_text("# 礼品管理办法\n1. 员工不得收受供应商赠送的高尔夫球卡。\n2. 价值100元以下的宣传品可以接受。\n", encoding="utf-8")
    doc, report = add_document(settings, source)
    assert report.embedded == 2 * 2  # two new units, two embedders; the five documents come from the cache
    assert "gifts:1." in IndexStore(settings.index_dir).open().by_id
    manifest = json.loads((settings.corpus_dir / "manifest.json").read_text(encoding="utf-8"))
    assert doc.id in {d["id"] for d in manifest["documents"]}
    remove_document(settings, doc.id)
    assert not (settings.corpus_dir / "gifts.md").exists()
    index = IndexStore(settings.index_dir).open()
    assert "gifts:1." not in index.by_id and "p1:第二十五条" in index.by_id


def test_an_add_writes_only_what_changed_and_serves_what_a_full_build_would(private_settings, tmp_path):
    """Adding or re-wording a document starts from the current build's Chroma folder and changes only
    its units; the vectors and tokens served are those a full rebuild gives."""
    import numpy as np

    settings = private_settings
    build_index(settings)
    store = IndexStore(settings.index_dir)
    source = tmp_path / "charges.md"
    source.write_text("# 收费办法\n1. 员工不得私下收取客户手续费。\n2. 宣传品可以免费发放。\n", encoding="utf-8")
    first = store.current_id()
    add_document(settings, source)
    assert store.current_meta()["incremental_from"] == first
    source.write_text("# 收费办法\n1. 员工不得私下收取客户手续费。\n2. 宣传品须经合规部批准后方可发放。\n", encoding="utf-8")
    second = store.current_id()
    add_document(settings, source, replace=True)
    assert store.current_meta()["incremental_from"] == second
    incremental = store.open()
    assert "须经合规部批准" in incremental.by_id["charges:2."].text
    build_index(settings, force=True)  # a full write: no copy, every unit tokenised again
    full = store.open()
    assert full.meta["incremental_from"] == ""
    assert [u.id for u in incremental.units] == [u.id for u in full.units]
    assert incremental.tokens == full.tokens
    for name in settings.embedders:
        assert incremental.collection(name).count() == len(full.units)
        assert np.allclose(incremental.vectors(name), full.vectors(name), atol=1e-6)
    remove_document(settings, "charges")  # the module's other tests expect the five documents
    assert "charges:1." not in store.open().by_id and store.current_meta()["incremental_from"] == full.build_id


def test_add_that_fails_while_indexing_changes_nothing(private_settings, tmp_path, monkeypatch):
    from indexer.build import add_document

    settings = private_settings
    build_index(settings)
    manifest = (settings.corpus_dir / "manifest.json").read_bytes()
    before = IndexStore(settings.index_dir).current_dir()
    source = tmp_path / "fees.txt"
    source.write_text("第一条 营销人员不得私下收取手续费。\n", encoding="gbk")

    def broken_write(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("chromadb.api.models.Collection.Collection.add", broken_write)
    with pytest.raises(OSError):
        add_document(settings, source)
    assert not (settings.corpus_dir / "fees.txt").exists()
    assert (settings.corpus_dir / "manifest.json").read_bytes() == manifest
    assert IndexStore(settings.index_dir).current_dir() == before


def test_removing_an_unknown_document_is_refused(private_settings):
    from indexer.build import remove_document
    from indexer.loaders import DocumentError

    with pytest.raises(DocumentError, match="no document"):
        remove_document(private_settings, "nope")


def test_failed_build_leaves_previous_index_serving(private_settings, monkeypatch):
    settings = private_settings
    build_index(settings)
    store = IndexStore(settings.index_dir)
    before = store.current_dir()
    (settings.corpus_dir / "extra.txt").write_text("第一条 新增的规定内容，营销人员不得私下收取手续费。\n", encoding="utf-8")

    def broken_write(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("chromadb.api.models.Collection.Collection.add", broken_write)
    try:
        with pytest.raises(OSError):
            build_index(settings)
    finally:
        (settings.corpus_dir / "extra.txt").unlink()
    assert store.current_dir() == before
    assert len(list(store.builds.iterdir())) <= settings.keep_builds
    assert store.open().by_id["p1:第二十五条"]


def test_bad_file_in_corpus_is_reported_and_the_rest_indexed(private_settings):
    settings = private_settings
    bad = settings.corpus_dir / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    try:
        report = build_index(settings)
    finally:
        bad.unlink()
    assert any("scan.pdf" in e for e in report.errors)
    meta = IndexStore(settings.index_dir).current_meta()
    assert {d["id"] for d in meta["documents"]} >= {"p1", "p2", "p3", "p4", "p5"}
    assert json.dumps(meta)  # meta stays serialisable


def test_a_file_named_like_a_document_is_refused_unless_replacing_explicitly(private_settings, tmp_path):
    """Uploading another p1.txt must not silently replace 营销活动规范: refused with a clear error and
    nothing changed; with replace, the old file is kept in corpus/.versions/."""
    settings = private_settings
    corpus = settings.corpus_dir
    before = (corpus / "p1.txt").read_bytes(), (corpus / "manifest.json").read_bytes()
    other = tmp_path / "p1.txt"
    other.write_text("第一条 员工出差须提前申请。\n第二条 住宿标准不得超过每晚500元。\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="already holds a file of that name"):
        add_document(settings, other, "travel")
    assert ((corpus / "p1.txt").read_bytes(), (corpus / "manifest.json").read_bytes()) == before
    doc, report = add_document(settings, other, "p1", "营销活动规范", replace=True)
    kept = list((corpus / ".versions").glob("*-p1.txt"))
    assert len(kept) == 1 and kept[0].read_bytes() == before[0]
    units = {d["id"]: d["units"] for d in IndexStore(settings.index_dir).current_meta()["documents"]}
    assert doc.id == "p1" and units["p1"] == 2 and report.documents == 5
    (corpus / "p1.txt").write_bytes(before[0])  # put the real document back for the tests after this one
    (corpus / "manifest.json").write_bytes(before[1])
    build_index(settings)


def test_a_damaged_build_is_not_served_and_index_rebuilds_it(private_settings):
    from indexer.store import IndexMissing

    settings = private_settings
    store = IndexStore(settings.index_dir)
    build_index(settings, force=True)  # a previous whole build to fall back to
    previous = store.current_id()
    build_index(settings, force=True)
    damaged = store.current_dir()
    (damaged / "units.json").write_text("{ truncated", encoding="utf-8")
    index = store.open()
    assert index.build_id == previous and any("damaged" in w for w in index.meta["warnings"])
    report = build_index(settings)  # `index` no longer says "up to date" over a damaged build
    assert not report.skipped and any("damaged" in w for w in report.warnings)
    assert store.damage(store.current_dir()) == "" and store.open().build_id == store.current_id()
    for build in store.builds.iterdir():
        (build / "units.json").write_text("", encoding="utf-8")
    with pytest.raises(IndexMissing, match=r"index --force"):
        store.open()
    build_index(settings)  # whole again for the tests after this one
    assert store.damage(store.current_dir()) == ""


def test_bm25_indexes_are_saved_with_the_build_and_rebuilt_for_an_older_build(private_settings):
    """The three BM25 fields are written at index time and memory-mapped at open; a build without them
    (made before they were saved) opens with them built in memory, and `index` adds the files to it."""
    import shutil

    import numpy as np

    from indexer import lexical
    from qa.retrieve import Retriever

    settings = private_settings
    build_index(settings, force=True)
    store = IndexStore(settings.index_dir)
    build = store.current_dir()
    assert (build / lexical.MARKER).exists() and sorted(p.name for p in (build / "lexical").iterdir()) == sorted(lexical.FIELDS)
    saved = store.open()
    question = "我可以收客户送的礼品吗"
    scores = {name: bm25.scores(tokenize(question)) for name, (bm25, tokenize) in Retriever(saved, {})._lexical.items()}
    assert saved.lexical_source == "saved" and scores["bm25"].max() > 0 and scores["bigram"].max() > 0

    (build / lexical.MARKER).unlink()
    shutil.rmtree(build / "lexical")  # as a build made before the indexes were saved
    older = store.open()
    rebuilt = Retriever(older, {})
    assert older.lexical_source == "built"
    for name, (bm25, tokenize) in rebuilt._lexical.items():
        assert np.allclose(bm25.scores(tokenize(question)), scores[name])
    report = build_index(settings)
    assert report.skipped and any("BM25" in w for w in report.warnings) and lexical.saved(build, len(older.units))
    again = store.open()
    again.lexical()
    assert again.lexical_source == "saved"


def test_bm25_scores_are_okapi_with_the_negative_idf_floor():
    """BM25Okapi as rank_bm25 computed it (k1 1.5, b 0.75, a word in over half the documents floored at
    0.25 × the average idf), worked by hand on three documents."""
    import math

    import numpy as np

    from indexer.lexical import Lexical

    corpus = [["礼品", "客户"], ["客户", "签字"], ["客户", "礼品", "礼品", "承诺"]]
    n, avgdl, k1, b = 3, 8 / 3, 1.5, 0.75
    idf = {w: math.log(n - df + 0.5) - math.log(df + 0.5) for w, df in {"礼品": 2, "客户": 3, "签字": 1, "承诺": 1}.items()}
    floor = 0.25 * sum(idf.values()) / len(idf)
    idf = {w: (floor if v < 0 else v) for w, v in idf.items()}

    def okapi(doc, query):
        return sum(idf[q] * doc.count(q) * (k1 + 1) / (doc.count(q) + k1 * (1 - b + b * len(doc) / avgdl))
                   for q in query if q in idf)

    index = Lexical.build(corpus)
    for query in (["礼品"], ["客户"], ["客户", "礼品", "礼品"], ["签字", "未知"], []):
        assert np.allclose(index.scores(query), [okapi(doc, query) for doc in corpus])


def test_past_the_exact_scan_size_chroma_hnsw_finds_the_same_neighbours(assistant):
    """Large indexes ask Chroma's HNSW index instead of reading every vector; on the real index both
    give the same nearest units with the same cosine scores."""
    from dataclasses import replace

    index = assistant.index
    ann = replace(index, exact_scan_max=0)
    questions = ["我能以公司名义和客户签合同吗？", "Can I accept a gift from a client?", "外场活动要提前多少天申请？"]
    for name, embedder in assistant.retriever.embedders.items():
        for vector in embedder.embed_queries(questions):
            exact, approximate = index.dense_search(name, vector, 10), ann.dense_search(name, vector, 10)
            assert list(approximate) == list(exact)
            assert all(abs(approximate[u] - exact[u]) < 1e-4 for u in exact)
    assert ann._vectors == {}  # the HNSW path read no vectors
