import re

import pytest
from pydantic import ValidationError

from settings import Settings
from tests.conftest import ROOT


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(SANAD_[A-Z_]+)` \|", readme, flags=re.M))
    assert documented == {f"SANAD_{name.upper()}" for name in Settings.model_fields}


def test_environment_overrides_and_bounds(monkeypatch, tmp_path):
    monkeypatch.setenv("SANAD_CHUNK_WORDS", "90")
    monkeypatch.setenv("SANAD_CHROMA_HOST", "chroma.internal")
    s = Settings(_env_file=None)
    assert (s.chunk_words, s.chroma_host, s.data_dir) == (90, "chroma.internal", tmp_path / "data")
    monkeypatch.setenv("SANAD_CHUNK_WORDS", "0")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_a_collection_cannot_take_the_name_of_another_ones_sentence_vectors(monkeypatch, tmp_path):
    monkeypatch.setenv("SANAD_COLLECTION", "news.sentences")
    with pytest.raises(ValidationError, match="sentence vectors"):
        Settings(_env_file=None)
    monkeypatch.setenv("SANAD_COLLECTION", "news.sentences-2019")
    assert Settings(_env_file=None).collection == "news.sentences-2019"
