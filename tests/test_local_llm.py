"""The real embedded model (Qwen2.5-Coder-1.5B via xllamacpp) answering about the seed article."""

import pytest

from qa import local_llm
from qa.answer import Answerer
from qa.engine import build_generator
from qa.retrieve import Retriever
from tests.test_answer import corpus_store  # noqa: F401 - shared module fixture

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_generator(tmp_path_factory):
    models = tmp_path_factory.mktemp("llm")
    generator = build_generator("local", models, timeout=180.0, threads=1)
    yield generator
    generator.server = None


def test_parts_assemble_into_the_verified_model(local_generator, tmp_path_factory):
    assert local_llm.parts_installed()


def test_local_model_answers_the_seed_question_with_a_checked_citation(corpus_store, local_generator):  # noqa: F811
    answerer = Answerer(Retriever(corpus_store), generator=local_generator)
    items = list(answerer.answer_stream("Who controls Baghouz?"))
    answer = items[-1]
    assert answer.backend == "local" and not answer.abstained, answer.answer
    assert len(items) > 2  # tokens streamed before the answer
    assert answer.citations and "[1]" in answer.answer
    assert any("الباغوز" in c.hit.text for c in answer.citations)
    latin = sum(ch.isascii() and ch.isalpha() for ch in answer.answer)
    assert latin > len(answer.answer) / 3, f"not an English answer: {answer.answer}"
