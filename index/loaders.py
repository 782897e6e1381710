"""Read articles from files and folders.

Formats: ``.txt``/``.md`` (optional front matter), ``.html``, ``.jsonl``/``.jsonl.gz`` records,
and folders recursively.

Loaders never raise for bad input: each problem becomes a :class:`Rejection` naming the file
(and line), and loading goes on with the rest. Folder walks skip hidden files and ``README``,
``LICENSE`` and ``NOTICE`` files; a file named explicitly is always read.
"""

from __future__ import annotations

import codecs
import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from index.language import detect_language
from index.types import Article, Rejection

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
SUPPORTED = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES
_SKIPPED_NAMES = ("readme", "license", "licence", "notice")
# Limits that keep one bad input from exhausting memory (a "gzip bomb", a log file fed by mistake).
MAX_FILE_BYTES = 64 * 1024 * 1024  # a text or HTML file
MAX_RECORD_BYTES = 8 * 1024 * 1024  # one JSONL line, after decompression
MAX_ARTICLE_CHARS = 2_000_000  # about a 300,000-word book
_DATE_FIELDS = ("date", "published", "date_published", "date_extracted")
_TITLE_MAX_CHARS = 150


class UnreadableFile(ValueError):
    """A file whose bytes are not text in any encoding we can recognise."""


def load_paths(paths: list[Path], source: str = "") -> Iterator[Article | Rejection]:
    """Yield every article found under ``paths`` and a rejection for every input that failed.

    ``source`` is given to articles that do not name their own.
    """
    for root in paths:
        if root.is_dir():
            files = sorted(p for p in root.rglob("*") if p.is_file() and _wanted(p.relative_to(root)))
            for path in files:
                yield from load_file(path, path.relative_to(root).as_posix(), source)
        elif root.is_file():
            yield from load_file(root, root.name, source)
        else:
            yield Rejection(str(root), "no such file or folder")


def load_file(path: Path, article_id: str, source: str = "") -> Iterator[Article | Rejection]:
    """Yield the article(s) in one file; ``article_id`` names it (records in JSONL carry their own)."""
    name = path.name.lower()
    try:
        if name.endswith(JSONL_SUFFIXES):
            yield from _load_jsonl(path, article_id, source)
        elif name.endswith(HTML_SUFFIXES):
            yield _load_html(path, article_id, source)
        elif name.endswith(TEXT_SUFFIXES):
            yield _load_text(path, article_id, source)
        else:
            yield Rejection(str(path), f"unsupported file type (supported: {', '.join(SUPPORTED)})")
    except (OSError, UnreadableFile, EOFError, zlib.error, gzip.BadGzipFile) as e:
        yield Rejection(str(path), _describe(e))


def decode_bytes(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or a detected legacy encoding.

    Legacy encodings such as cp1256 (Arabic Windows) are found by charset-normalizer.
    Raises :class:`UnreadableFile` for binary data.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data[:65536]:
        raise UnreadableFile("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise UnreadableFile("not text in any recognised encoding")
    return str(best)


def _wanted(relative: Path) -> bool:
    if any(part.startswith(".") for part in relative.parts):
        return False
    return not relative.name.lower().startswith(_SKIPPED_NAMES)


def _describe(e: Exception) -> str:
    if isinstance(e, UnreadableFile):
        return str(e)
    if isinstance(e, (EOFError, zlib.error, gzip.BadGzipFile)):
        return f"corrupt gzip data ({e})"
    return f"cannot read file ({e.strerror or e})" if isinstance(e, OSError) else str(e)


def _read_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(f"file too large ({size // 2**20} MB; at most {MAX_FILE_BYTES // 2**20} MB)")
    text = decode_bytes(path.read_bytes())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _article(article_id: str, text: str, origin: str, **meta: Any) -> Article | Rejection:
    if not text.strip():
        return Rejection(origin, "no text")
    if len(text) > MAX_ARTICLE_CHARS:
        return Rejection(origin, f"article too long ({len(text):,} characters; at most {MAX_ARTICLE_CHARS:,})")
    fields = {k: "" if v is None else str(v).strip() for k, v in meta.items()}
    fields["lang"] = fields.get("lang") or detect_language(text)
    return Article(id=article_id, text=text, origin=origin, **fields)


def _load_text(path: Path, article_id: str, source: str) -> Article | Rejection:
    text = _read_text(path)
    meta, text = _front_matter(text)
    title = meta.pop("title", "") or _title_line(text) or path.stem
    return _article(
        article_id,
        text,
        str(path),
        title=title,
        source=meta.pop("source", "") or source,
        url=meta.pop("url", ""),
        date=meta.pop("date", ""),
        lang=meta.pop("lang", ""),
    )


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split a leading ``---`` YAML block (title, date, source, url, lang) from the text."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    try:
        meta = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return {}, text
    if not isinstance(meta, dict):
        return {}, text
    body = text[end + 4 :].lstrip("-").lstrip("\n")
    return {str(k).lower(): v for k, v in meta.items()}, body


def _title_line(text: str) -> str:
    """The first line when it reads like a title: a Markdown heading, or short and not the only line."""
    first, _, rest = text.strip().partition("\n")
    first = first.strip()
    if first.startswith("#"):
        return first.lstrip("#").strip()
    return first if rest.strip() and len(first) <= _TITLE_MAX_CHARS else ""


def _load_html(path: Path, article_id: str, source: str) -> Article | Rejection:
    import trafilatura

    html = decode_bytes(path.read_bytes())
    doc: Any = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    text = (doc.text or "") if doc is not None else ""
    if not text.strip():
        return Rejection(str(path), "no article text found in the HTML")
    return _article(
        article_id,
        text,
        str(path),
        title=doc.title or path.stem,
        source=doc.sitename or source,
        url=doc.url or "",
        date=doc.date or "",
    )


def _load_jsonl(path: Path, file_id: str, source: str) -> Iterator[Article | Rejection]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    found = False
    with opener(path, "rb") as f:
        for lineno, raw in enumerate(iter(lambda: f.readline(MAX_RECORD_BYTES + 1), b""), 1):
            origin = f"{path}:{lineno}"
            if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
                while (rest := f.readline(MAX_RECORD_BYTES)) and not rest.endswith(b"\n"):
                    pass  # skip the rest of the oversized line without holding it
                yield Rejection(origin, f"record too large (more than {MAX_RECORD_BYTES // 2**20} MB)")
                continue
            if not raw.strip():
                continue
            found = True
            try:
                record = json.loads(decode_bytes(raw))
            except (ValueError, UnreadableFile) as e:
                yield Rejection(origin, f"not a JSON record ({e})")
                continue
            yield article_from_record(record, origin, f"{file_id}#{lineno}", source)
    if not found:
        yield Rejection(str(path), "no records (the file is empty)")


def article_from_record(record: Any, origin: str, fallback_id: str, source: str = "") -> Article | Rejection:
    """An article from one JSON record ``{"id","title","text","url","date","lang","source"}``."""
    if not isinstance(record, dict):
        return Rejection(origin, "a line must hold a JSON object")
    text = record.get("text")
    if not isinstance(text, str):
        return Rejection(origin, "record has no 'text' string")
    return _article(
        str(record.get("id") or fallback_id),
        text.replace("\r\n", "\n"),
        origin,
        title=record.get("title") or "",
        source=record.get("source") or source,
        url=record.get("url") or "",
        date=next((record[k] for k in _DATE_FIELDS if record.get(k)), ""),
        lang=record.get("lang") or "",
    )
