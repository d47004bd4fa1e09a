"""Embedding backends: the sentence-transformers one loads a local model offline; one thread policy; pooled models answer in parallel."""
from __future__ import annotations

import numpy as np

import config  # noqa: F401  (offline mode)
from indexer.embed import SentenceTransformerEmbedder


def test_sentence_transformers_backend_with_the_bundled_minilm():
    embedder = SentenceTransformerEmbedder()
    q = embedder.embed_queries(["Can I sign a contract on behalf of the company?"])
    p = embedder.embed_passages(["Staff must not sign agreements in the company's name.", "The canteen opens at noon."])
    assert q.shape == (1, 384) and np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    scores = p @ q[0]
    assert scores[0] > scores[1]


def test_one_thread_policy_answers_on_query_threads(assistant, settings):
    """Answering embeds one question at a time: every model of an open assistant runs on
    `query_threads` (1 by default), and BLAS is back at one thread after USE has run."""
    from threadpoolctl import threadpool_info

    assert settings.query_threads == 1
    assistant.ask("Can I tell a client a fund is sure to make money?")
    assert {e.threads for e in assistant.retriever.embedders.values()} == {settings.query_threads}
    assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")


def test_answers_from_several_threads_at_once_equal_the_answers_one_at_a_time(assistant, settings):
    """The models are pooled (one instance per answer worker, each borrowed for one call), so the web
    app answers users in parallel without a lock around the answer: each thread must get exactly the
    answer it would get alone."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    pools = assistant.retriever.embedders.values()
    assert all(p.size == settings.answer_workers for p in pools)  # one per core by default
    deadline = time.monotonic() + 60
    while any(p._free.qsize() < p.size for p in pools) and time.monotonic() < deadline:
        time.sleep(0.2)  # the further instances load in the background
    assert all(p._free.qsize() == p.size for p in pools)
    questions = ["我能以公司名义和客户签合同吗？", "Can I accept a gift card from a client?", "外场活动要提前多少天申请？",
                 "客户的交易密码可以告诉我吗？", "Do I need approval to post research on WeChat?", "会议结束后要做什么？"] * 3
    alone = [(a.verdict, [c.id for c in a.citations]) for a in map(assistant.ask, questions)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = [(a.verdict, [c.id for c in a.citations]) for a in pool.map(assistant.ask, questions)]
    assert together == alone
