"""Ratings of answers: the SQLite store, its export as a `sanad eval` set, the chat's handlers and POST /api/feedback."""

import functools
import io
import json
import os
import sqlite3
import subprocess
import threading
from datetime import datetime

import httpx
import pytest

from index.datadir import DataDir
from qa.errors import BadRequest, NotFound
from qa.evaluate import load_questions
from qa.feedback import FeedbackStore, answer_from_dict, eval_record, short_answer
from qa.types import Answer, Citation, Hit
from tests.conftest import TOWN
from tests.servers import serve_app
from web import WebConfig
from web.chat import chat
from web.feedback import comment, rate
from web.render import Conversation

PASSAGE = "لكن «قسد» زعمت أمس أنها سيطرت على معظم أجزاء قرية الباغوز التحتاني. ونقلت وكالات معارضة الخبر."
QUOTE = "لكن «قسد» زعمت أمس أنها سيطرت على معظم أجزاء قرية الباغوز التحتاني."


def llm_answer(text: str = "قسد [1]\n«" + QUOTE + "» [1]") -> Answer:
    hit = Hit(
        "p1", "seed.md", "Baghouz", "Al Watan", "https://example.org/a", "2018-12", "ar", PASSAGE, 2061, 2161, 0.8
    )
    return Answer("من يسيطر على الباغوز؟", text, "ar", False, "local", [Citation(1, hit, QUOTE, 2061, 2128)])


@pytest.fixture
def store(tmp_path):
    return FeedbackStore(tmp_path / "feedback.sqlite3")


def test_a_rating_keeps_what_was_shown(store):
    answer = llm_answer()
    n = store.record(answer, 1, "rev-1", "chat", "  right town  ")
    (row,) = store.records()
    assert row["id"] == n and row["rating"] == 1 and row["comment"] == "right town"
    assert row["question"] == answer.question and row["answer"] == answer.answer and row["language"] == "ar"
    assert row["backend"] == "local" and row["index_version"] == "rev-1" and row["channel"] == "chat"
    assert row["citations"] == [c.to_dict() for c in answer.citations]
    assert datetime.fromisoformat(row["created"]).utcoffset().total_seconds() == 0  # ISO, UTC


def test_bad_ratings_channels_and_comments_are_refused(store):
    answer = llm_answer()
    for rating in (0, 2, -2, True, "up", None):
        with pytest.raises(BadRequest, match="rating"):
            store.record(answer, rating, "", "chat")
    with pytest.raises(BadRequest, match="channel"):
        store.record(answer, 1, "", "email")
    with pytest.raises(BadRequest, match="too long"):
        store.record(answer, 1, "", "chat", "x" * 2001)
    assert store.records() == []
    n = store.record(answer, -1, "", "embed")
    with pytest.raises(BadRequest, match="empty"):
        store.add_comment(n, "   ")
    with pytest.raises(BadRequest, match="too long"):
        store.add_comment(n, "x" * 2001)
    with pytest.raises(NotFound, match="No feedback with the id 999"):
        store.add_comment(999, "where is it?")
    with pytest.raises(NotFound):
        store.rate(999, 1)
    store.add_comment(n, "x" * 2000)
    assert store.records()[0]["comment"] == "x" * 2000


def test_ratings_change_are_taken_back_and_counted(store):
    a, b, c = (store.record(llm_answer(), 1, "", "chat") for _ in range(3))
    store.rate(b, -1)
    store.delete(c)
    store.add_comment(b, "wrong: the town changed hands")
    assert [(r["id"], r["rating"]) for r in store.records()] == [(a, 1), (b, -1)]
    assert store.counts() == {"up": 1, "down": 1, "comments": 1}
    assert [r["id"] for r in store.records("down")] == [b]
    with pytest.raises(NotFound):
        store.delete(c)
    with pytest.raises(BadRequest):
        store.records("sideways")


def test_many_threads_write_at_once_and_nothing_is_lost(store):
    ids: list[int] = []

    def rate_many():
        for _ in range(25):
            ids.append(store.record(llm_answer(), 1, "", "chat"))

    threads = [threading.Thread(target=rate_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 200 and store.counts()["up"] == 200
    with sqlite3.connect(store.path) as db:  # readers (the CLI) do not block the server's writes
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize(
    "text, quote, expected",
    [
        ("قسد [1]\n«" + QUOTE + "» [1]", QUOTE, "قسد"),  # the model's short answer, then its quote
        ("From the articles (quoted):\n«" + QUOTE + "» [1]", QUOTE, QUOTE),  # extractive: the quote
        ("According to Al Watan (Dec 2018): «" + QUOTE + "» [1]\n«Other.» [2]", QUOTE, QUOTE),
        ("Kurdish forces [1][2] hold it", "", "Kurdish forces"),
        # a model's answer leads with whose report it is: not part of the answer (any language, odd sources)
        ("According to Al Watan (10 Dec 2018): Kurdish forces [1]\n«" + QUOTE + "» [1]", QUOTE, "Kurdish forces"),
        ("بحسب الوطن (10 ديسمبر 2018): قسد [1]\n«" + QUOTE + "» [1]", QUOTE, "قسد"),
        ("According to Channel [4] (undated): SDF [1]", "", "SDF"),
        ("No marker at all\nsecond line", "", "No marker at all"),
        ("[1]", "", ""),
    ],
)
def test_the_short_answer_is_what_the_reader_takes_away(text, quote, expected):
    assert short_answer(text, quote) == expected


def test_export_writes_eval_questions_with_the_thumbs_down_marked(store, tmp_path):
    up = store.record(llm_answer(), 1, "rev-1", "chat", "right")
    down = store.record(llm_answer("داعش [1]\n«" + QUOTE + "» [1]"), -1, "rev-2", "embed", "wrong group")
    refusal = Answer("Who won the 2018 World Cup?", "I could not find this in the articles.", "en", True, "local")
    refused = store.record(refusal, 1, "rev-2", "api")
    out = tmp_path / "feedback.jsonl"
    assert store.export(out) == 3
    first, second, third = (json.loads(line) for line in out.read_text(encoding="utf-8").splitlines())
    assert first == {
        "id": f"feedback-{up}",
        "question": "من يسيطر على الباغوز؟",
        "lang": "ar",
        "answers": ["قسد"],
        "article_id": "seed.md",
        "answer_spans": [[2061, 2128]],
        "gold_paragraph_span": [2061, 2161],
        "kind": "answerable",
        "feedback": "up",
        "comment": "right",
        "backend": "local",
        "index_version": "rev-1",
        "channel": "chat",
        "created": first["created"],
        "answer": llm_answer().answer,
        "citations": [c.to_dict() for c in llm_answer().citations],
    }
    # 👎: the answer shown is not a gold answer
    assert second["id"] == f"feedback-{down}" and second["feedback"] == "down" and second["answers"] == []
    assert second["rejected_answer"] == "داعش" and second["comment"] == "wrong group"
    assert second["article_id"] == "seed.md" and second["channel"] == "embed" and second["index_version"] == "rev-2"
    # 👍 on a refusal: a question the index should refuse
    assert third["id"] == f"feedback-{refused}" and third["kind"] == "absent" and third["answers"] == []
    assert third["article_id"] == "" and third["citations"] == []

    buffer = io.StringIO()
    assert store.export(buffer, only="down") == 1
    assert json.loads(buffer.getvalue())["id"] == f"feedback-{down}"


def test_sanad_eval_reads_an_export_and_skips_thumbs_down_until_reviewed(store, tmp_path):
    store.record(llm_answer(), 1, "", "chat")
    down = store.record(llm_answer("داعش [1]"), -1, "", "chat")
    store.record(Answer("Who won the 2018 World Cup?", "Not found.", "en", True, "local"), 1, "", "chat")
    out = tmp_path / "questions.jsonl"
    store.export(out)
    questions = load_questions(out)
    assert [(q.id, q.kind) for q in questions] == [("feedback-1", "answerable"), ("feedback-3", "absent")]
    q = questions[0]
    assert q.question == "من يسيطر على الباغوز؟" and q.lang == "ar" and q.answers == ("قسد",)
    assert q.article_id == "seed.md" and q.gold == (2061, 2161) and q.answer_spans == ((2061, 2128),)
    # a reviewer fills in the gold answer of the 👎 one: now it counts
    reviewed = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    reviewed[1]["answers"] = ["قسد"]
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in reviewed), encoding="utf-8")
    assert [q.id for q in load_questions(out)] == ["feedback-1", f"feedback-{down}", "feedback-3"]


def test_an_answer_comes_back_from_its_json_form():
    answer = llm_answer()
    again = answer_from_dict(json.loads(json.dumps(answer.to_dict())))
    assert again.to_dict() == answer.to_dict()
    assert eval_record({**_row(again), "id": 7})["answers"] == ["قسد"]


def _row(answer: Answer) -> dict:
    d = answer.to_dict()
    return {
        "rating": 1,
        "comment": "",
        "question": d["question"],
        "answer": d["answer"],
        "language": d["language"],
        "abstained": d["abstained"],
        "backend": d["backend"],
        "citations": d["citations"],
        "index_version": "",
        "channel": "api",
        "created": "",
    }


# The chat's handlers, with the real extractive answerer over the corpus.


def answered(service, question="Who controls Baghouz?", conversation=None, **dates):
    conversation = conversation or Conversation()
    *_, (box, messages, sources, conversation) = chat(service, False, question, conversation, **dates)
    return box, messages, conversation


def test_a_thumb_in_the_chat_stores_the_answer_and_a_comment_follows(rated_service):
    service = rated_service
    before = len(service.feedback.records())
    _, messages, conversation = answered(service)
    thumbs, panel, status, conversation = rate(service, "chat", conversation, 1, False)
    assert thumbs["feedback_value"] == ["Dislike"] and panel["visible"] is True and "Thanks" in status
    row = service.feedback.records()[-1]
    turn = conversation.turns[0]
    assert len(service.feedback.records()) == before + 1 and row["id"] == turn.feedback_id
    assert row["rating"] == -1 and row["channel"] == "chat" and row["question"] == "Who controls Baghouz?"
    assert row["answer"] == turn.answer.answer and row["backend"] == "extractive"
    assert row["citations"] == [c.to_dict() for c in turn.answer.citations] and TOWN in json.dumps(
        row, ensure_ascii=False
    )
    assert row["index_version"] == service.index_version() != ""
    # changing the thumb changes the record; a comment attaches to it; the same thumb again takes it back
    rate(service, "chat", conversation, 1, True)
    box, status = comment(service, "<b>right</b> town", conversation)
    assert box == "" and "Thanks" in status and "<b>" not in status
    assert service.feedback.records()[-1] == row | {"rating": 1, "comment": "<b>right</b> town"}
    thumbs, panel, status, conversation = rate(service, "chat", conversation, 1, "")
    assert thumbs["feedback_value"] == [None] and panel["visible"] is False
    assert len(service.feedback.records()) == before and conversation.rated is None


def test_only_answers_can_be_rated_and_comments_need_a_rating(rated_service):
    service = rated_service
    before = len(service.feedback.records())
    _, _, conversation = answered(service)
    for index in (0, 2, 3, -1, None, "1", [0, 1], True):  # the question, nothing, forged values
        thumbs, panel, status, _ = rate(service, "embed", conversation, index, True)
        assert "Only finished answers" in status and thumbs["feedback_value"] == [None]
    box, status = comment(service, "a comment", conversation)
    assert "Rate an answer first" in status and "sanad-error" in status and box["__type__"] == "update"
    rate(service, "embed", conversation, [1, 0], True)
    box, status = comment(service, "x" * 2001, conversation)  # refused: the text stays in the box
    assert "too long" in status and box["__type__"] == "update"
    assert service.feedback.records()[-1]["channel"] == "embed"
    assert len(service.feedback.records()) == before + 1


def test_the_chat_asks_within_the_dates_and_refuses_a_bad_one(rated_service):
    service = rated_service
    box, messages, conversation = answered(service, date_from="12/2018")
    assert not isinstance(box, str) and not conversation.turns  # the box keeps the question
    assert "date_from must be a date like 2018, 2018-12 or 2018-12-10" in messages[-1]["content"]
    _, _, conversation = answered(service, date_from="2018-12", date_to="2018-12-31")
    assert conversation.turns[0].answer.citations[0].hit.article_id == "seed.md"
    _, _, conversation = answered(service, date_from="2030")
    assert conversation.turns[0].answer.abstained and not conversation.turns[0].answer.citations


# POST /api/feedback


@pytest.fixture(scope="module")
def api(rated_service):
    with serve_app(rated_service, WebConfig(api_token="ask")) as url, httpx.Client(base_url=url, timeout=120) as http:
        yield http


def test_the_api_stores_a_rating_of_an_answer_it_gave(api, rated_service):
    auth = {"Authorization": "Bearer ask"}
    answer = api.post("/api/ask", json={"question": "Who controls Baghouz?"}, headers=auth).json()
    body = {"rating": "up", "comment": "spot on", "answer": answer}
    assert api.post("/api/feedback", json=body).status_code == 401  # the ask token, as for asking
    r = api.post("/api/feedback", json=body, headers=auth)
    assert r.status_code == 200, r.text
    row = rated_service.feedback.records()[-1]
    assert r.json() == {"id": row["id"]} and row["channel"] == "api" and row["comment"] == "spot on"
    assert row["rating"] == 1 and row["citations"] == answer["citations"] and row["answer"] == answer["answer"]
    assert row["index_version"] == rated_service.index_version()
    for bad in ({**body, "rating": "meh"}, {**body, "comment": "x" * 2001}, {"rating": "up"}, {**body, "extra": 1}):
        r = api.post("/api/feedback", json=bad, headers=auth)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    huge = {**body, "answer": {**answer, "answer": "x" * 200_000}}
    assert api.post("/api/feedback", json=huge, headers=auth).status_code == 413
    assert api.get("/api/feedback", headers=auth).status_code == 404  # only POST exists


@pytest.mark.slow
def test_the_cli_exports_and_counts_and_says_when_there_is_nothing(sanad_exe, tmp_path):
    env = {**os.environ, "SANAD_DATA_DIR": str(tmp_path / "data")}
    run = functools.partial(subprocess.run, capture_output=True, text=True, env=env, timeout=120)
    out = tmp_path / "empty.jsonl"
    nothing = run([sanad_exe, "feedback", "export", "--out", str(out)])
    assert nothing.returncode == 0 and "No feedback has been stored" in nothing.stderr and out.read_text() == ""
    store = FeedbackStore(DataDir(tmp_path / "data").feedback)
    store.record(llm_answer(), 1, "rev", "chat", "good")
    store.record(llm_answer(), -1, "rev", "api")
    stats = run([sanad_exe, "feedback", "stats", "--json"])
    assert stats.returncode == 0 and json.loads(stats.stdout) == {"up": 1, "down": 1, "comments": 1}
    down = run([sanad_exe, "feedback", "export", "--only", "down"])  # to stdout
    assert down.returncode == 0 and "1 rated answer(s) exported" in down.stderr
    assert [json.loads(line)["feedback"] for line in down.stdout.splitlines()] == ["down"]
    bad = run([sanad_exe, "feedback", "export", "--only", "sideways"])
    assert bad.returncode == 2 and "sideways" in bad.stderr
