"""The sentence-transformers backend loads a model from a local path, offline."""
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
