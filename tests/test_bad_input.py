"""The bad-input matrix of bench/bad_input.py against the whole app on 127.0.0.1."""

import httpx
import pytest

from bench.bad_input import ADMIN, CASES, run
from qa.answer import Answerer
from qa.retrieve import Retriever
from qa.service import Service
from tests.servers import serve_app
from tests.test_answer import corpus_store  # noqa: F401 (fixture)
from web import WebConfig


@pytest.fixture(scope="module")
def results(corpus_store):  # noqa: F811
    service = Service(Answerer(Retriever(corpus_store)))
    with serve_app(service, WebConfig(admin_token=ADMIN)) as url, httpx.Client(base_url=url, timeout=300) as http:
        yield {r["case"]: r for r in run(http)}


def test_there_are_at_least_30_cases():
    assert len(CASES) >= 30 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_bad_input_is_told_clearly_and_loses_nothing(results, case):
    r = results[case]
    assert r["status"] == r["expected"] and r["ok"], r
    assert r["message"] and "Traceback" not in r["message"]
    assert r["kept"] and r["still_answers"], r
