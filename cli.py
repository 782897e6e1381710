"""The ``sanad`` command line: ingest articles, inspect the index, ask, evaluate, serve the web app, export feedback."""

from __future__ import annotations

import functools
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from index.hybrid import open_index
from index.ingest import ingest
from index.loaders import load_paths
from qa.errors import classify
from qa.feedback import FeedbackStore
from qa.types import Answer
from settings import Settings

logger = logging.getLogger("sanad")


def explained(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn errors into their message (qa/errors.py classify); a bug is logged with its traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as e:
            problem = classify(e)
            if problem.unexpected:
                logger.exception("The command failed")
            raise click.ClickException(problem.message) from e

    return run


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Sanad: answers about news articles, with citations. Settings come from SANAD_* variables."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        ctx.obj = Settings()
    except ValueError as e:
        raise click.ClickException(f"Invalid settings: {e}") from e


@main.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: SANAD_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: SANAD_PORT, 7860).")
@click.pass_obj
@explained
def serve_command(settings: Settings, host: str | None, port: int | None) -> None:
    """Serve the chat (/), the wiki embed (/embed/) and the JSON API (/api/..., docs at /docs)."""
    import app

    logging.getLogger().setLevel(logging.INFO)
    app.serve(settings.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None}))


@main.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", default="", help="Source name for articles that do not carry one.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_obj
@explained
def ingest_command(settings: Settings, paths: tuple[Path, ...], source: str, quiet: bool) -> None:
    """Ingest article files or folders (.txt .md .html .jsonl .jsonl.gz).

    Exits with status 1 when any input was rejected; the rest is ingested all the same.
    """
    index = open_index(settings.data(), settings.index())
    report = ingest(load_paths(list(paths), source=source), index, settings.chunking(), progress=not quiet)
    for rejection in report.rejected:
        click.echo(f"rejected: {rejection}", err=True)
    click.echo(
        f"articles: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.duplicates} duplicates, {len(report.rejected)} rejected\n"
        f"passages: {report.passages_written} written, {report.passages_deleted} removed "
        f"in {report.seconds:.1f} s ({report.passages_per_second:.1f} passages/s)\n"
        f"sentence vectors: {report.sentences_written} written"
    )
    if report.rejected:
        sys.exit(1)


@main.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@explained
def stats_command(settings: Settings, as_json: bool) -> None:
    """Show articles, passages, languages, the embedding model and where the index lives."""
    index = open_index(settings.data(), settings.index())
    stats = index.stats() | {"location": index.location}
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False))
        return
    click.echo(f"articles:        {stats['articles']}")
    click.echo(f"passages:        {stats['passages']}")
    langs = ", ".join(f"{k} {v}" for k, v in stats["languages"].items()) or "-"
    click.echo(f"languages:       {langs}")
    sources = ", ".join(f"{k or '(no source)'} {v}" for k, v in list(stats["sources"].items())[:10]) or "-"
    click.echo(f"sources:         {sources}")
    click.echo(f"embedding model: {stats['embedding_model']} ({stats['embedding_dim']} dimensions)")
    click.echo(f"index:           {stats['location']}")


@main.command("ask")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the structured answer as JSON.")
@click.option(
    "--llm",
    type=click.Choice(["auto", "extractive", "local", "openai"]),
    default=None,
    help="Answer back end (default SANAD_LLM).",
)
@click.option("--k", type=click.IntRange(1, 50), default=None, help="Passages to read (default SANAD_TOP_K).")
@click.pass_obj
@explained
def ask_command(settings: Settings, question: str, as_json: bool, llm: str | None, k: int | None) -> None:
    """Answer QUESTION from the indexed articles, citing the passages."""
    from qa.engine import build_service

    answer = build_service(settings.service(llm, k, demo=False)).ask(question)
    click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) if as_json else format_answer(answer))


def format_answer(answer: Answer) -> str:
    """The answer and its numbered sources as plain text."""
    lines = [answer.answer, ""]
    if answer.notice:
        lines += [f"({answer.notice})", ""]
    for c in answer.citations:
        meta = " · ".join(x for x in (c.hit.source, c.hit.date, c.hit.url) if x)
        lines.append(f"[{c.n}] {c.hit.title or c.hit.article_id}" + (f" — {meta}" if meta else ""))
        lines.append(f"    {c.quote or c.hit.text[:300]}")
    lines.append(f"({answer.backend}, {answer.timings_ms.get('total', 0):.0f} ms)")
    return "\n".join(lines)


@main.command("eval")
@click.option("--articles", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--questions", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--distractors", type=click.Path(exists=True, path_type=Path), help="JSONL(.gz) pool of other articles.")
@click.option("--n-distractors", type=click.IntRange(0), default=1000, show_default=True)
@click.option("--limit", type=click.IntRange(0), default=0, help="Questions per language and kind (0 = all).")
@click.option(
    "--holdout",
    is_flag=True,
    help="Index a third of the articles whole, leave a third out and a third without their answering "
    "paragraph, so that refusals are measured too (refused_absent, refused_nearmiss).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--llm",
    type=click.Choice(["auto", "extractive", "local", "openai"]),
    default="extractive",
    show_default=True,
    help="Answer back end for the answer metrics.",
)
@click.pass_obj
@explained
def eval_command(
    settings: Settings,
    articles: Path,
    questions: Path,
    distractors: Path | None,
    n_distractors: int,
    limit: int,
    holdout: bool,
    as_json: bool,
    llm: str,
) -> None:
    """Build a temporary index, answer every question, and print retrieval and answer metrics."""
    from index.datadir import DataDir
    from index.embeddings import Encoder
    from index.hybrid import IndexConfig
    from qa.engine import build_answerer, build_generator
    from qa.evaluate import build_index, evaluate, limit_per_language, load_questions, load_records, sample_distractors
    from qa.evaluate import holdout as split

    records, qs = load_records(articles), load_questions(questions)
    if holdout:
        records, qs = split(records, qs)
    qs = limit_per_language(qs, limit)
    config = settings.service(llm, demo=False)
    # the models (and the vector cache) of the data dir; the index in a temporary one
    encoder = Encoder(
        config.index.embedding_model, config.data, config.index.batch_size, True, config.index.embedding_backend
    )
    generator = build_generator(config.llm, config.data)
    with tempfile.TemporaryDirectory(prefix="sanad-eval-") as work:
        index = open_index(DataDir(Path(work)), IndexConfig(collection="eval"), encoder)
        pool = sample_distractors(distractors, n_distractors) if distractors and n_distractors else ()
        build_index(index, records, pool, config.chunking)
        answerer = build_answerer(index, config.retrieval, config.top_k, generator)
        with click.progressbar(length=len(qs), label="questions", file=sys.stderr) as bar:
            result = evaluate(qs, answerer.retriever, encoder, answerer.answer, progress=lambda i: bar.update(1))
    if as_json:
        click.echo(json.dumps(result))
        return
    keys = ["n", "hit@1", "hit@5", "mrr", "bar@2000", "answered", "answer_exact", "answer_f1", "citation_correct"]
    keys += [k for k in ("refused_absent", "refused_nearmiss") if k in result["overall"]]
    click.echo(" ".join(f"{k:>16}" for k in ["lang"] + keys))
    for lang, m in [*result["by_lang"].items(), ("all", result["overall"])]:
        cells = [f"{m[k]:>16}" if k == "n" else f"{m[k]:>16.3f}" if k in m else f"{'-':>16}" for k in keys]
        click.echo(" ".join([f"{lang:>16}", *cells]))


@main.group("feedback")
def feedback_group() -> None:
    """The 👍/👎 readers gave answers in the chat, the embed and the API."""


def _feedback_store(settings: Settings) -> FeedbackStore | None:
    path = settings.data().feedback
    if not path.exists():
        click.echo(f"No feedback has been stored under {settings.data_dir} yet.", err=True)
        return None
    return FeedbackStore(path)


@feedback_group.command("export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default: stdout).")
@click.option("--only", type=click.Choice(["up", "down"]), default=None, help="Only the 👍 or only the 👎 answers.")
@click.pass_obj
@explained
def feedback_export_command(settings: Settings, out: Path | None, only: str | None) -> None:
    """Write the rated answers as a `sanad eval` question set (JSONL; 👎 ones marked "feedback": "down")."""
    store = _feedback_store(settings)
    n = store.export(out or sys.stdout, only) if store else 0
    if store is None and out is not None:
        out.write_text("", encoding="utf-8")  # an empty set: the file a script expects exists
    click.echo(f"{n} rated answer(s) exported" + (f" to {out}" if out else ""), err=True)


@feedback_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@explained
def feedback_stats_command(settings: Settings, as_json: bool) -> None:
    """Count the 👍 and 👎 answers, and those with a comment."""
    store = _feedback_store(settings)
    counts = store.counts() if store else {"up": 0, "down": 0, "comments": 0}
    if as_json:
        click.echo(json.dumps(counts))
    else:
        click.echo(f"up: {counts['up']}  down: {counts['down']}  with a comment: {counts['comments']}")


if __name__ == "__main__":
    main()
