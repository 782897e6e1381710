"""The bad-input matrix of tests/bad_inputs.py against the whole app on 127.0.0.1."""

import httpx
import pytest

from tests.bad_inputs import ADMIN, CASES, run
from tests.servers import serve_app
from web import WebConfig


@pytest.fixture(scope="module")
def results(service):
    with (
        serve_app(service, WebConfig(admin_token=ADMIN, asks_per_minute=0)) as url,
        httpx.Client(base_url=url, timeout=300) as http,
    ):
        yield {r["case"]: r for r in run(http)}


def test_there_are_at_least_30_cases():
    assert len(CASES) >= 30 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_bad_input_is_told_clearly_and_loses_nothing(results, case):
    r = results[case]
    assert r["status"] == r["expected"] and r["ok"], r
    assert r["message"] and "Traceback" not in r["message"]
    assert r["kept"] and r["still_answers"], r
