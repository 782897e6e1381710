"""Read articles from files and folders.

Formats: ``.txt``/``.md`` (optional front matter), ``.html``, ``.jsonl``/``.jsonl.gz`` records,
and folders recursively.

Loaders never raise for bad input: each problem becomes a :class:`Rejection` naming the file
(and line), and loading goes on with the rest. Folder walks skip hidden files and ``README``,
``LICENSE`` and ``NOTICE`` files; a file named explicitly is always read.
"""

from __future__ import annotations

import codecs
import datetime
import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from index.dates import iso_date
from index.errors import UnreadableInput
from index.language import detect_language
from index.types import Article, Rejection

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
SUPPORTED = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES
_SKIPPED_NAMES = ("readme", "license", "licence", "notice")


@dataclass(frozen=True)
class Limits:
    """Sizes that keep one bad input from exhausting memory or time (a gzip bomb, a log fed by mistake)."""

    file_bytes: int = 64 * 1024 * 1024  # a text or HTML file
    record_bytes: int = 8 * 1024 * 1024  # one JSONL line, after decompression
    article_chars: int = 2_000_000  # about a 300,000-word book
    jsonl_bytes: int = 1 << 30  # one JSONL file, after decompression (a .gz may expand 1000:1)
    jsonl_records: int = 1_000_000  # one JSONL file
    front_matter_bytes: int = 64 * 1024


LIMITS = Limits()
# Metadata is stored with every passage of an article: one oversized field must not bloat them all.
FIELD_LIMITS = {"id": 512, "title": 500, "source": 200, "url": 2048, "date": 64, "lang": 16}
_DATE_FIELDS = ("date", "published", "date_published", "date_extracted")
_WEB_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
_TITLE_MAX_CHARS = 150


def load_paths(paths: list[Path], source: str = "", limits: Limits = LIMITS) -> Iterator[Article | Rejection]:
    """Yield every article found under ``paths`` and a rejection for every input that failed.

    ``source`` is given to articles that do not name their own.
    """
    for root in paths:
        if root.is_dir():
            files = sorted(p for p in root.rglob("*") if p.is_file() and _wanted(p.relative_to(root)))
            for path in files:
                yield from load_file(path, path.relative_to(root).as_posix(), source, limits)
        elif root.is_file():
            yield from load_file(root, root.name, source, limits)
        else:
            yield Rejection(str(root), "no such file or folder")


def load_file(path: Path, article_id: str, source: str = "", limits: Limits = LIMITS) -> Iterator[Article | Rejection]:
    """Yield the article(s) in one file; ``article_id`` names it (records in JSONL carry their own)."""
    name = path.name.lower()
    try:
        if name.endswith(JSONL_SUFFIXES):
            yield from _load_jsonl(path, article_id, source, limits)
        elif name.endswith(HTML_SUFFIXES):
            yield _load_html(path, article_id, source, limits)
        elif name.endswith(TEXT_SUFFIXES):
            yield _load_text(path, article_id, source, limits)
        else:
            yield Rejection(str(path), f"unsupported file type (supported: {', '.join(SUPPORTED)})")
    except (OSError, UnreadableInput, EOFError, zlib.error, gzip.BadGzipFile) as e:
        yield Rejection(str(path), _describe(e))


def decode_bytes(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or a detected legacy encoding.

    Legacy encodings such as cp1256 (Arabic Windows) are found by charset-normalizer.
    Raises :class:`UnreadableInput` for binary data.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data[:65536]:
        raise UnreadableInput("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise UnreadableInput("not text in any recognised encoding")
    return str(best)


def _wanted(relative: Path) -> bool:
    if any(part.startswith(".") for part in relative.parts):
        return False
    return not relative.name.lower().startswith(_SKIPPED_NAMES)


def _describe(e: Exception) -> str:
    if isinstance(e, UnreadableInput):
        return str(e)
    if isinstance(e, (EOFError, zlib.error, gzip.BadGzipFile)):
        return f"corrupt gzip data ({e})"
    return f"cannot read file ({e.strerror or e})" if isinstance(e, OSError) else str(e)


def _read_text(path: Path, limits: Limits) -> str:
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise UnreadableInput(f"file too large ({size // 2**20} MB; at most {limits.file_bytes // 2**20} MB)")
    text = decode_bytes(path.read_bytes())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _article(article_id: str, text: str, origin: str, limits: Limits, **meta: Any) -> Article | Rejection:
    if not text.strip():
        return Rejection(origin, "no text")
    if len(text) > limits.article_chars:
        return Rejection(origin, f"article too long ({len(text):,} characters; at most {limits.article_chars:,})")
    fields = {k: "" if v is None else str(v).strip() for k, v in meta.items()}
    for name, value in [("id", article_id), *fields.items()]:
        if len(value) > FIELD_LIMITS.get(name, 1000):
            return Rejection(origin, f"{name} too long ({len(value):,} characters; at most {FIELD_LIMITS[name]:,})")
    if fields.get("url") and not _WEB_URL.match(fields["url"]):
        return Rejection(origin, f"url must be an http:// or https:// address, not {fields['url'][:60]!r}")
    # "AR", "ar-EG" → "ar": the code alone decides which script a passage is read in
    fields["lang"] = fields.get("lang", "").lower().replace("_", "-").split("-")[0] or detect_language(text)
    # ISO wherever the date can be read ("10 Dec 2018", «10 ديسمبر 2018», Hijri); as given otherwise
    fields["date"] = iso_date(fields.get("date", "")) or fields.get("date", "")
    return Article(id=article_id, text=text, origin=origin, **fields)


def _load_text(path: Path, article_id: str, source: str, limits: Limits) -> Article | Rejection:
    text = _read_text(path, limits)
    meta, text = _front_matter(text, limits.front_matter_bytes)
    title = meta.pop("title", "") or _title_line(text) or path.stem
    return _article(
        article_id,
        text,
        str(path),
        limits,
        title=title,
        source=meta.pop("source", "") or source,
        url=meta.pop("url", ""),
        date=meta.pop("date", ""),
        lang=meta.pop("lang", ""),
    )


def _front_matter(text: str, max_bytes: int) -> tuple[dict[str, Any], str]:
    """Split a leading ``---`` YAML block (title, date, source, url, lang) from the text.

    The block must be a flat mapping of plain values: anchors and aliases are refused (a few
    hundred bytes of nested aliases expand into gigabytes), and so are lists and mappings.
    """
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    block = text[4:end]
    if len(block.encode()) > max_bytes:
        raise UnreadableInput(f"front matter too large (at most {max_bytes // 1024} KiB)")
    try:
        if any(
            isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None) for e in yaml.parse(block, yaml.SafeLoader)
        ):
            raise UnreadableInput("front matter uses YAML anchors or aliases; give plain values")
        meta = yaml.safe_load(block)
    except yaml.YAMLError:
        return {}, text
    if not isinstance(meta, dict):
        return {}, text
    for key, value in meta.items():
        if not isinstance(value, str | int | float | bool | datetime.date | None):
            raise UnreadableInput(f"front matter {key!r} must be a plain value, not a {type(value).__name__}")
    body = text[end + 4 :].lstrip("-").lstrip("\n")
    return {str(k).lower(): v for k, v in meta.items()}, body


def _title_line(text: str) -> str:
    """The first line when it reads like a title: a Markdown heading, or short and not the only line."""
    first, _, rest = text.strip().partition("\n")
    first = first.strip()
    if first.startswith("#"):
        return first.lstrip("#").strip()
    return first if rest.strip() and len(first) <= _TITLE_MAX_CHARS else ""


def _load_html(path: Path, article_id: str, source: str, limits: Limits) -> Article | Rejection:
    import trafilatura

    html = _read_text(path, limits)
    doc: Any = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    text = (doc.text or "") if doc is not None else ""
    if not text.strip():
        return Rejection(str(path), "no article text found in the HTML")
    return _article(
        article_id,
        text,
        str(path),
        limits,
        title=doc.title or path.stem,
        source=doc.sitename or source,
        url=doc.url if doc.url and _WEB_URL.match(doc.url) else "",  # the page's own link, when it is a web one
        date=doc.date or "",
    )


def _load_jsonl(path: Path, file_id: str, source: str, limits: Limits) -> Iterator[Article | Rejection]:
    """One article per line, read as a stream: never more than one record in memory."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    found, total = False, 0
    with opener(path, "rb") as f:
        for lineno, raw in enumerate(iter(lambda: f.readline(limits.record_bytes + 1), b""), 1):
            origin = f"{path}:{lineno}"
            total += len(raw)
            if total > limits.jsonl_bytes or lineno > limits.jsonl_records:
                most = f"{limits.jsonl_bytes // 2**20:,} MB or {limits.jsonl_records:,} records"
                yield Rejection(origin, f"stopped reading: the file holds more than {most}; split it")
                return
            if len(raw) > limits.record_bytes and not raw.endswith(b"\n"):
                while (rest := f.readline(limits.record_bytes)) and not rest.endswith(b"\n"):
                    total += len(rest)  # skip the rest of the oversized line without holding it
                    if total > limits.jsonl_bytes:
                        break
                yield Rejection(origin, f"record too large (more than {limits.record_bytes // 2**20} MB)")
                continue
            if not raw.strip():
                continue
            found = True
            try:
                record = json.loads(decode_bytes(raw))
            except (ValueError, UnreadableInput) as e:
                yield Rejection(origin, f"not a JSON record ({e})")
                continue
            yield article_from_record(record, origin, f"{file_id}#{lineno}", source, limits)
    if not found:
        yield Rejection(str(path), "no records (the file is empty)")


def article_from_record(
    record: Any, origin: str, fallback_id: str, source: str = "", limits: Limits = LIMITS
) -> Article | Rejection:
    """An article from one JSON record ``{"id","title","text","url","date","lang","source"}``."""
    if not isinstance(record, dict):
        return Rejection(origin, "a line must hold a JSON object")
    text = record.get("text")
    if not isinstance(text, str):
        return Rejection(origin, "record has no 'text' string")
    for key in ("id", "title", "source", "url", "lang", *_DATE_FIELDS):
        if not isinstance(record.get(key), str | int | float | None):
            return Rejection(origin, f"'{key}' must be a string, not {type(record[key]).__name__}")
    return _article(
        str(record.get("id") or fallback_id),
        text.replace("\r\n", "\n"),
        origin,
        limits,
        title=record.get("title") or "",
        source=record.get("source") or source,
        url=record.get("url") or "",
        date=next((record[k] for k in _DATE_FIELDS if record.get(k)), ""),
        lang=record.get("lang") or "",
    )
