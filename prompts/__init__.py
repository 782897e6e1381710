"""Prompt templates and user-facing messages, stored as YAML files next to this module.

Templates render with Jinja2's ``StrictUndefined``: a missing variable is an error, not a blank.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, meta

_ENV = Environment(undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False)


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The parsed YAML file ``prompts/<name>.yaml``."""
    data = yaml.safe_load(files("prompts").joinpath(f"{name}.yaml").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"prompts/{name}.yaml must hold a mapping")
    return data


def render(name: str, part: str, **variables: Any) -> str:
    """Render one part (e.g. ``system`` or ``human``) of template ``name``."""
    return _ENV.from_string(load(name)[part]).render(**variables).strip()


def variables(name: str, part: str) -> set[str]:
    """The variables that one part of template ``name`` uses."""
    return set(meta.find_undeclared_variables(_ENV.parse(load(name)[part])))


def message(key: str, lang: str, **values: Any) -> str:
    """A user-facing sentence in ``lang`` (English when there is none in that language)."""
    texts = load("messages")[key]
    return str(texts.get(lang) or texts["en"]).format(**values)
