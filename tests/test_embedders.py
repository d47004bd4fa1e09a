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
