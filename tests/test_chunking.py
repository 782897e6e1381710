import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunking import split_passages, split_sentences
from tests.conftest import SEED

MULTILINGUAL = (
    "hello world!!!? (안녕하세요!) lol123 😉 日本語の文章です。 café naïve — «مرحبا بالعالم»؟ نعم، بالتأكيد؛ حسناً."
)


def _texts(text, spans):
    return [text[s.start : s.end] for s in spans]


def _non_space_positions(text):
    return {i for i, c in enumerate(text) if not c.isspace()}


def _covered(spans):
    return {i for s in spans for i in range(s.start, s.end)}


def test_sentences_end_at_arabic_and_latin_marks_and_line_breaks():
    text = "قال المصدر: «انتهت المعركة.» ثم غادر. هل انتهت؟ نعم!\nسطر جديد بلا نقطة\nEnd here. Next one"
    assert _texts(text, split_sentences(text)) == [
        "قال المصدر: «انتهت المعركة.»",
        "ثم غادر.",
        "هل انتهت؟",
        "نعم!",
        "سطر جديد بلا نقطة",
        "End here.",
        "Next one",
    ]


def test_decimal_numbers_and_arabic_commas_do_not_end_sentences():
    text = "ارتفع السعر 3.5 بالمئة، وبلغ 1,200 دولار؛ ثم استقر. Done."
    assert _texts(text, split_sentences(text)) == ["ارتفع السعر 3.5 بالمئة، وبلغ 1,200 دولار؛ ثم استقر.", "Done."]


def test_passages_overlap_by_one_sentence():
    sentences = [f"الجملة رقم {i} تحتوي على بعض الكلمات الإضافية هنا." for i in range(12)]
    text = " ".join(sentences)
    passages = _texts(text, split_passages(text, target_words=20, max_words=30))
    assert len(passages) > 2
    for a, b in zip(passages, passages[1:]):
        last = split_sentences(a)[-1]
        assert b.startswith(a[last.start : last.end])


def test_passages_end_at_paragraph_breaks_without_overlap_across_them():
    para = "جملة أولى فيها خمس كلمات. جملة ثانية فيها خمس كلمات. جملة ثالثة فيها خمس كلمات."
    text = "\n\n".join([para] * 3)
    passages = _texts(text, split_passages(text, target_words=20, max_words=30))
    assert passages == [para] * 3


def test_a_sentence_longer_than_the_limit_is_split_after_a_clause_mark():
    words = [f"كلمة{i}" for i in range(30)]
    words[17] += "،"
    text = " ".join(words) + "."
    passages = _texts(text, split_passages(text, target_words=20, max_words=25))
    assert passages[0].endswith("كلمة17،")
    assert all(len(p.split()) <= 25 for p in passages)


def test_target_above_limit_is_refused():
    with pytest.raises(ValueError, match="must not exceed"):
        split_passages("a b c.", target_words=50, max_words=10)


def test_empty_and_blank_text_give_no_passages():
    assert split_passages("") == []
    assert split_passages(" \n\t ") == []


def test_cjk_sentences_end_without_spaces():
    assert _texts("日本語です。次の文！", split_sentences("日本語です。次の文！")) == ["日本語です。", "次の文！"]


def test_multilingual_text_is_covered_without_loss():
    text = (MULTILINGUAL + "\n") * 40
    spans = split_passages(text, target_words=30, max_words=45)
    assert _covered(spans) >= _non_space_positions(text)


def test_seed_article_passages_are_news_sized():
    text = SEED.read_text(encoding="utf-8")
    counts = [len(text[s.start : s.end].split()) for s in split_passages(text, target_words=90, max_words=160)]
    assert all(45 <= c <= 160 for c in counts[:-1]) and counts[-1] <= 160  # half the target at least
    assert 60 <= sum(counts) / len(counts) <= 120


_alphabet = st.sampled_from(list("abc ابتثج 日本。 ؟!.،؛«»\n") + ["word", "كلمة", "  ", "3.5", "😉", "é"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_alphabet, max_size=400).map("".join), st.integers(3, 40), st.integers(0, 30))
def test_passages_cover_the_text_exactly(text, target, extra):
    limit = target + extra
    spans = split_passages(text, target_words=target, max_words=limit)
    # nothing lost: every non-space character lies in some passage
    assert _covered(spans) >= _non_space_positions(text)
    for s in spans:
        piece = text[s.start : s.end]
        assert piece == piece.strip() and piece
        assert len(piece.split()) <= limit
        # never cut inside a word
        assert s.start == 0 or text[s.start - 1].isspace() or text[s.start - 1] in "。！？"
        assert s.end == len(text) or text[s.end].isspace() or text[s.end - 1] in "。！？"
    assert [s.start for s in spans] == sorted(s.start for s in spans)
