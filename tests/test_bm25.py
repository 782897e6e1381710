"""The incremental BM25 scores exactly as bm25s (its default "lucene" variant) on the same documents."""

import random

import bm25s
import numpy as np

from index.bm25 import IncrementalBM25


def test_scores_equal_bm25s_whatever_the_batches_and_removals():
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(200)]
    docs = [[rng.choice(vocab) for _ in range(rng.randint(1, 30))] for _ in range(600)]
    removed = set(rng.sample(range(600), 60))

    incremental = IncrementalBM25()
    start = 0
    while start < len(docs):
        size = rng.randint(1, 50)
        incremental.add(docs[start : start + size])
        start += size
    incremental.remove(sorted(removed))
    assert incremental.segments <= 12

    kept = [i for i in range(600) if i not in removed]
    reference = bm25s.BM25()
    reference.index([docs[i] for i in kept], show_progress=False)
    for _ in range(30):
        query = [rng.choice(vocab) for _ in range(rng.randint(1, 5))] + ["unknown"]
        want = reference.get_scores_from_ids(reference.get_tokens_ids(query))
        got = incremental.scores(query)
        np.testing.assert_allclose(got[kept], want, rtol=1e-4, atol=1e-6)
        assert not got[sorted(removed)].any()
