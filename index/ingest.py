"""Ingestion pipeline: articles in, passages with vectors out, idempotently.

An article whose content hash is already stored is skipped; a changed article gets its new
passages written before its old ones are deleted, so a crash at any point leaves either
version retrievable and the next run repairs the rest (passage ids are content hashes).
Embedding runs in the calling thread while a writer thread stores the previous batch.

Each passage's sentences are embedded too and stored beside it (re-ranking reads them at
question time). Passages stored without them (by an older version, or with
``embed_sentences`` off) get them on the next run that has it on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from index.chunking import Span, split_passages, split_sentences
from index.hybrid import HybridIndex
from index.types import Article, IngestReport, Passage, Rejection, passage_id, sentence_id

_PLAN_BATCH = 200  # articles looked up in the store at once
_BATCH_CHARS = 20_000_000  # and at most this much text held at once
_EMBED_BATCH = 256  # passages per encode call (sentence-transformers sorts these by length)


@dataclass
class _Work:
    """Passages to write and stale passages to delete once all of an article's are written."""

    passages: list[Passage] = field(default_factory=list)
    stale: dict[str, set[str]] = field(default_factory=dict)  # article id -> passage ids
    sentences_only: list[Passage] = field(default_factory=list)  # stored passages without their sentences


@dataclass(frozen=True)
class Chunking:
    """How articles become passages."""

    target_words: int = 90
    max_words: int = 160
    embed_titles: bool = True  # the title is embedded with every passage
    embed_sentences: bool = True  # each passage's sentences are embedded and stored beside it


def ingest(
    items: Iterable[Article | Rejection],
    index: HybridIndex,
    chunking: Chunking | None = None,
    progress: bool = False,
    on_passages: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Store every article of ``items``; rejections are passed through into the report.

    ``progress`` shows a bar on the console; ``on_passages(embedded, planned)`` is told the same
    counts after every embedding batch (the start-up page's progress).

    ``items`` is read as a stream, a batch of articles at a time: a large (or decompressing)
    input is never held in memory whole.
    """
    started = time.perf_counter()
    chunking = chunking or Chunking()
    report = IngestReport()
    seen = _Seen()
    bar = tqdm(total=0, desc="embedding", unit=" passages", disable=not progress)
    revision = ""
    try:
        for batch in _batches(items, report, seen, progress):
            work = _Work()
            _plan(batch, index, report, work, chunking)
            if work.passages or work.stale:
                revision = revision or index.begin_change()
                bar.total += len(work.passages)
                bar.refresh()
                _write(work, index, report, chunking, bar, on_passages)
            if work.sentences_only:  # the passages are unchanged: no new revision for the lexical mirror
                bar.total += len(work.sentences_only)
                _write_sentences(work.sentences_only, index, report, bar)
    except BaseException:
        if revision:
            index.abandon_change()
        raise
    finally:
        bar.close()
    if revision:
        index.end_change(revision)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Seen:
    """Ids and texts already read in this run: the first article of each wins."""

    origins: dict[str, str] = field(default_factory=dict)  # article id -> where it came from
    texts: set[str] = field(default_factory=set)


def _batches(
    items: Iterable[Article | Rejection], report: IngestReport, seen: _Seen, progress: bool
) -> Iterator[list[Article]]:
    """Articles in batches of at most ``_PLAN_BATCH`` articles or ``_BATCH_CHARS`` characters."""
    batch: list[Article] = []
    chars = 0
    for item in tqdm(items, desc="reading", unit=" articles", disable=not progress):
        if isinstance(item, Rejection):
            report.rejected.append(item)
        elif item.id in seen.origins:
            report.rejected.append(Rejection(item.origin, f"id {item.id!r} already used by {seen.origins[item.id]}"))
        elif item.text_hash in seen.texts:
            report.duplicates += 1
        else:
            seen.origins[item.id] = item.origin
            seen.texts.add(item.text_hash)
            batch.append(item)
            chars += len(item.text)
            if len(batch) >= _PLAN_BATCH or chars >= _BATCH_CHARS:
                yield batch
                batch, chars = [], 0
    if batch:
        yield batch


def _plan(articles: list[Article], index: HybridIndex, report: IngestReport, work: _Work, chunking: Chunking) -> None:
    """Sort a batch of articles into unchanged, duplicate, added and updated ones."""
    stored = index.dense.stored_articles([a.id for a in articles])
    holders = index.dense.articles_with_text([a.text_hash for a in articles if a.id not in stored])
    held: set[str] = set()
    if chunking.embed_sentences:
        held = index.dense.sentences.passages_held([pid for old in stored.values() for pid in old.passage_ids])
    for article in articles:
        old = stored.get(article.id)
        if old is None and article.text_hash in holders:
            report.duplicates += 1
            continue
        passages = make_passages(article, chunking.target_words, chunking.max_words)
        new_ids = {p.id for p in passages}
        if old is not None and old.content_hash == article.content_hash and old.passage_ids == new_ids:
            report.unchanged += 1
            if chunking.embed_sentences:
                work.sentences_only.extend(p for p in passages if p.id not in held)
            continue
        if old is None:
            report.added += 1
        else:
            report.updated += 1
            stale = set(old.passage_ids) - new_ids
            if stale:
                work.stale[article.id] = stale
        kept = old.passage_ids if old is not None else frozenset()
        work.passages.extend(p for p in passages if p.id not in kept)
        if chunking.embed_sentences:
            work.sentences_only.extend(p for p in passages if p.id in kept and p.id not in held)


def make_passages(article: Article, target_words: int = 90, max_words: int = 160) -> list[Passage]:
    """Split an article into passages with content-derived ids."""
    return [
        Passage(passage_id(article, s.start, s.end), article, n, s.start, s.end, article.text[s.start : s.end])
        for n, s in enumerate(split_passages(article.text, target_words, max_words))
    ]


def embedding_text(passage: Passage, with_title: bool) -> str:
    """What the model sees for a passage: its text, after the article title when asked."""
    title = passage.article.title.replace("_", " ").strip()
    return f"{title}\n{passage.text}" if with_title and title else passage.text


def _write(
    work: _Work,
    index: HybridIndex,
    report: IngestReport,
    chunking: Chunking,
    bar: tqdm,
    on_passages: Callable[[int, int], None] | None = None,
) -> None:
    remaining: dict[str, int] = {}
    for p in work.passages:
        remaining[p.article.id] = remaining.get(p.article.id, 0) + 1
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sanad-writer") as writer:
        for i in range(0, len(work.passages), _EMBED_BATCH):
            batch = work.passages[i : i + _EMBED_BATCH]
            vectors = index.encoder.encode_passages([embedding_text(p, chunking.embed_titles) for p in batch])
            sentences = _embed_sentences(batch, index) if chunking.embed_sentences else None
            if pending is not None:
                pending.result()  # one batch in flight: bounded memory, errors surface promptly
            done = []
            for p in batch:
                remaining[p.article.id] -= 1
                if remaining[p.article.id] == 0:
                    done.append(p.article.id)
            stale = sorted(set().union(*(work.stale.pop(a, set()) for a in done)))
            pending = writer.submit(_store_batch, index, batch, vectors, sentences, stale)
            report.passages_deleted += len(stale)
            report.passages_written += len(batch)
            report.sentences_written += len(sentences[0]) if sentences else 0
            bar.update(len(batch))
            if on_passages is not None:
                on_passages(bar.n, int(bar.total))
        if pending is not None:
            pending.result()
    # Updated articles with no new passages to write (only passages removed) end here.
    for leftover in work.stale.values():
        index.delete(sorted(leftover))
        report.passages_deleted += len(leftover)


def _store_batch(
    index: HybridIndex, batch: list[Passage], vectors: np.ndarray, sentences: _Sentences | None, stale: list[str]
) -> None:
    index.write(batch, vectors)
    if sentences is not None:
        index.dense.sentences.write(*sentences)
    if stale:
        index.delete(stale)


_Sentences = tuple[list[str], list[str], np.ndarray]  # sentence ids, their passages' ids, vectors


def passage_sentences(passage_id: str, start: int, text: str) -> list[tuple[str, Span]]:
    """The sentences of a passage starting at ``start`` in its article: each one's id and span in ``text``.

    Ingestion stores the vectors under these ids and re-ranking looks them up by them, so both
    name sentences here.
    """
    return [(sentence_id(passage_id, start + s.start, start + s.end), s) for s in split_sentences(text)]


def sentence_rows(passages: list[Passage]) -> tuple[list[str], list[str], list[str]]:
    """Every sentence of ``passages``: its id (:func:`sentence_id`), its passage's id, its text."""
    ids, owners, texts = [], [], []
    for p in passages:
        for sid, s in passage_sentences(p.id, p.start, p.text):
            ids.append(sid)
            owners.append(p.id)
            texts.append(p.text[s.start : s.end])
    return ids, owners, texts


def _embed_sentences(passages: list[Passage], index: HybridIndex) -> _Sentences:
    """Every sentence of ``passages``; a text shared by two passages (their overlap) is embedded once."""
    ids, owners, texts = sentence_rows(passages)
    unique = list(dict.fromkeys(texts))
    by_text = dict(zip(unique, index.encoder.encode_passages(unique))) if unique else {}
    vectors = np.stack([by_text[t] for t in texts]) if texts else np.zeros((0, index.encoder.dimension), np.float32)
    return ids, owners, vectors


def _write_sentences(passages: list[Passage], index: HybridIndex, report: IngestReport, bar: tqdm) -> None:
    """Embed and store the sentences of passages that are stored without them."""
    for i in range(0, len(passages), _EMBED_BATCH):
        batch = passages[i : i + _EMBED_BATCH]
        sentences = _embed_sentences(batch, index)
        index.dense.sentences.write(*sentences)
        report.sentences_written += len(sentences[0])
        bar.update(len(batch))
