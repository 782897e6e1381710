"""How the benches split a set into answerable, absent and near-miss questions."""

from qa.evaluate import Question, holdout

FIRST = "The bridge opened in 1932. It carries six lanes."
NEAR = "The river floods each spring. The dam was finished in 1961 by the state. Farmers plant rice."
REPEATS = "The tower stands 300 metres tall. Tourists climb it. At 300 metres it was the tallest."


def _question(qid: str, article: str, text: str, answer: str) -> Question:
    """A question whose gold paragraph is the sentence of ``text`` holding ``answer``."""
    at = text.index(answer)
    start = text.rfind(". ", 0, at) + 2 if ". " in text[:at] else 0
    end = text.index(".", at + len(answer)) + 1
    return Question(qid, f"about {answer}?", "en", article, (start, end), ((at, at + len(answer)),))


def test_a_near_miss_is_indexed_without_its_paragraph_and_dropped_when_the_rest_still_states_the_answer():
    records = [
        {"id": "a", "text": FIRST},  # answerable (sorted ids, by thirds)
        {"id": "b", "text": FIRST},  # absent
        {"id": "c", "text": NEAR},  # near-miss
        {"id": "d", "text": FIRST},  # answerable
        {"id": "e", "text": FIRST},  # absent
        {"id": "f", "text": REPEATS},  # near-miss whose answer appears twice
    ]
    questions = [
        _question("q1", "a", FIRST, "1932"),
        _question("q2", "b", FIRST, "1932"),
        _question("q3", "c", NEAR, "1961"),
        _question("q4", "f", REPEATS, "300 metres"),
    ]
    indexed, kept = holdout(records, questions)

    assert [r["id"] for r in indexed] == ["a", "c", "d", "f"]
    near = next(r for r in indexed if r["id"] == "c")
    assert "1961" not in near["text"] and "Farmers plant rice." in near["text"]
    # the repeated fact is still in "f": a question it answers is not a near-miss
    assert {q.id: q.kind for q in kept} == {"q1": "answerable", "q2": "absent", "q3": "nearmiss"}
