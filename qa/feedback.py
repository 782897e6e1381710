"""What readers thought of the answers (👍/👎 and a comment), kept in SQLite, exported as an eval set.

A record keeps what was rated as it was shown: the question, the answer text, its citations,
the back end that wrote it and the index revision it was answered from. :meth:`FeedbackStore.export`
writes the records in the question format of ``sanad eval`` (``qa/evaluate.py``); a 👎 answer
is not a gold answer, so its record has no ``answers`` (and ``load_questions`` skips it until a
reviewer fills them in). Nothing here renders HTML: comments are stored and exported as text.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from qa.errors import BadRequest, NotFound
from qa.news import strip_attribution
from qa.types import Answer, Citation, Hit

MAX_COMMENT_CHARS = 2000
RATINGS = {"up": 1, "down": -1}
CHANNELS = ("chat", "embed", "api")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    language TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    backend TEXT NOT NULL,
    citations TEXT NOT NULL,
    index_version TEXT NOT NULL,
    channel TEXT NOT NULL
)
"""


class FeedbackStore:
    """Ratings of answers in one SQLite file (WAL: the server writes while ``sanad feedback export`` reads).

    A connection per call and one lock for writes: the web server calls from many threads.
    """

    def __init__(self, path: Path):
        """Open (and create) the store at ``path``."""
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # commits, or rolls back on an error
                yield db
        finally:
            db.close()

    def record(self, answer: Answer, rating: int, index_version: str, channel: str, comment: str = "") -> int:
        """Store a rating (+1 or -1) of ``answer``; returns its id."""
        _check_rating(rating)
        if channel not in CHANNELS:
            raise BadRequest(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            rating,
            _clean_comment(comment),
            answer.question,
            answer.answer,
            answer.language,
            int(answer.abstained),
            answer.backend,
            json.dumps([c.to_dict() for c in answer.citations], ensure_ascii=False),
            index_version,
            channel,
        )
        with self._lock, self._connect() as db:
            cursor = db.execute(
                "INSERT INTO feedback (created, rating, comment, question, answer, language, abstained, backend, "
                "citations, index_version, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

    def rate(self, feedback_id: int, rating: int) -> None:
        """Change the rating of a record (the reader changed 👍 to 👎)."""
        _check_rating(rating)
        self._update(feedback_id, "UPDATE feedback SET rating = ? WHERE id = ?", (rating, feedback_id))

    def add_comment(self, feedback_id: int, text: str) -> None:
        """Set the comment of a record (at most 2,000 characters)."""
        text = _clean_comment(text)
        if not text:
            raise BadRequest("The comment is empty: write what was right or wrong with the answer.")
        self._update(feedback_id, "UPDATE feedback SET comment = ? WHERE id = ?", (text, feedback_id))

    def delete(self, feedback_id: int) -> None:
        """Forget a record (the reader took the rating back)."""
        self._update(feedback_id, "DELETE FROM feedback WHERE id = ?", (feedback_id,))

    def _update(self, feedback_id: int, sql: str, args: tuple[Any, ...]) -> None:
        with self._lock, self._connect() as db:
            if not db.execute(sql, args).rowcount:
                raise NotFound(f"No feedback with the id {feedback_id!r} is stored.")

    def records(self, only: str | None = None) -> list[dict[str, Any]]:
        """The stored records, oldest first; ``only``: "up" or "down"."""
        if only is not None and only not in RATINGS:
            raise BadRequest(f"only must be 'up' or 'down', not {only!r}")
        sql = "SELECT * FROM feedback" + (" WHERE rating = ?" if only else "")
        args = (RATINGS[only],) if only else ()
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(sql + " ORDER BY id", args).fetchall()
        return [dict(r) | {"citations": json.loads(r["citations"]), "abstained": bool(r["abstained"])} for r in rows]

    def counts(self) -> dict[str, int]:
        """How many records are 👍, 👎, and carry a comment."""
        with self._connect() as db:
            up, down, comments = db.execute(
                "SELECT COALESCE(SUM(rating = 1), 0), COALESCE(SUM(rating = -1), 0), COALESCE(SUM(comment != ''), 0) "
                "FROM feedback"
            ).fetchone()
        return {"up": int(up), "down": int(down), "comments": int(comments)}

    def export(self, out: Path | IO[str], only: str | None = None) -> int:
        """Write the records as ``sanad eval`` questions, one JSON object a line; returns how many."""
        records = [eval_record(r) for r in self.records(only)]
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        if isinstance(out, Path):
            out.write_text(lines, encoding="utf-8")
        else:
            out.write(lines)
        return len(records)


def eval_record(row: dict[str, Any]) -> dict[str, Any]:
    """One stored record as a ``sanad eval`` question (the fields of ``qa.evaluate.Question``, and the feedback).

    👍: the short answer shown is the gold answer, the passage its first marker cites the gold
    paragraph, and the quoted sentence the answer span; a 👍 refusal is a question the index
    does not answer (``kind`` "absent"). 👎: the same fields, but the answer shown goes under
    ``rejected_answer`` and ``answers`` stays empty for a reviewer to fill in.
    """
    citations: list[dict[str, Any]] = row["citations"]
    cited = _first_cited(row["answer"], citations)
    up = row["rating"] > 0
    short = "" if row["abstained"] else short_answer(row["answer"], cited["quote"] if cited else "")
    record: dict[str, Any] = {
        "id": f"feedback-{row['id']}",
        "question": row["question"],
        "lang": row["language"],
        "answers": [short] if up and short else [],
        "article_id": cited["article_id"] if cited else "",
        "answer_spans": [[cited["quote_start"], cited["quote_end"]]] if cited and cited["quote_end"] else [],
        "gold_paragraph_span": [cited["start"], cited["end"]] if cited else [0, 0],
        "kind": "absent" if up and row["abstained"] else "answerable",
        "feedback": "up" if up else "down",
        "comment": row["comment"],
        "backend": row["backend"],
        "index_version": row["index_version"],
        "channel": row["channel"],
        "created": row["created"],
        "answer": row["answer"],
        "citations": citations,
    }
    if not up:
        record["rejected_answer"] = short
    return record


def short_answer(text: str, quote: str = "") -> str:
    """The answer a reader takes away: the line the first [n] marker closes, without its markers.

    "According to Al Watan (10 Dec 2018): Kurdish forces [1]" (then the quoted sentence) gives
    "Kurdish forces": whose report it is is not part of the answer. When that line
    quotes ``quote`` (the sentence the marker cites: an extractive answer, "According to …:
    «sentence» [1]"), the answer is the quoted sentence alone.
    """
    text = "\n".join(strip_attribution(line) for line in text.splitlines())  # "According to X (date): "
    match = _MARKER.search(text)
    before = text[: match.start()] if match else text
    lines = [line for line in before.splitlines() if line.strip()]
    line = lines[-1] if match and lines else (lines[0] if lines else "")
    if quote and quote in line:
        return quote
    return " ".join(_MARKER.sub("", line).split())


def answer_from_dict(data: dict[str, Any]) -> Answer:
    """The answer of its JSON form (``Answer.to_dict()``, as ``/api/ask`` returned it)."""
    citations = [
        Citation(
            int(c["n"]),
            Hit(
                "",
                str(c["article_id"]),
                str(c.get("title", "")),
                str(c.get("source", "")),
                str(c.get("url", "")),
                str(c.get("date", "")),
                str(c.get("lang", "")),
                str(c.get("text", "")),
                int(c.get("start", 0)),
                int(c.get("end", 0)),
                float(c.get("score", 0.0)),
            ),
            str(c.get("quote", "")),
            int(c.get("quote_start", 0)),
            int(c.get("quote_end", 0)),
            bool(c.get("supported", True)),
        )
        for c in data.get("citations", [])
    ]
    return Answer(
        str(data["question"]),
        str(data["answer"]),
        str(data.get("language", "")),
        bool(data.get("abstained", False)),
        str(data.get("backend", "")),
        citations,
        notice=str(data.get("notice", "")),
    )


def _first_cited(text: str, citations: list[dict[str, Any]]) -> dict[str, Any] | None:
    match = _MARKER.search(text)
    if match:
        n = int(match.group(1))
        for c in citations:
            if c["n"] == n:
                return c
    return citations[0] if citations else None


def _check_rating(rating: int) -> None:
    if rating not in (1, -1) or isinstance(rating, bool):
        raise BadRequest(f"rating must be 1 (👍) or -1 (👎), not {rating!r}")


def _clean_comment(text: str) -> str:
    if not isinstance(text, str):
        raise BadRequest("The comment must be text.")
    text = text.strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise BadRequest(f"The comment is too long ({len(text)} characters; at most {MAX_COMMENT_CHARS}).")
    return text
