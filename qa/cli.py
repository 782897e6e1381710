"""The ``sanad`` command line: ingest articles and inspect the index."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from index.loaders import load_paths
from index.store import PassageStore, StoreError
from qa.engine import open_index
from settings import Settings


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


def _open(settings: Settings) -> PassageStore:
    try:
        return open_index(settings.data_dir, **settings.index_options())
    except (StoreError, RuntimeError) as e:
        raise click.ClickException(str(e)) from e


@main.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", default="", help="Source name for articles that do not carry one.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_obj
def ingest_command(settings: Settings, paths: tuple[Path, ...], source: str, quiet: bool) -> None:
    """Ingest article files or folders (.txt .md .html .jsonl .jsonl.gz).

    Exits with status 1 when any input was rejected; the rest is ingested all the same.
    """
    from index.ingest import ingest

    store = _open(settings)
    try:
        report = ingest(
            load_paths(list(paths), source=source),
            store,
            progress=not quiet,
            **settings.ingest_options(),
        )
    except StoreError as e:
        raise click.ClickException(str(e)) from e
    for rejection in report.rejected:
        click.echo(f"rejected: {rejection}", err=True)
    click.echo(
        f"articles: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.duplicates} duplicates, {len(report.rejected)} rejected\n"
        f"passages: {report.passages_written} written, {report.passages_deleted} removed "
        f"in {report.seconds:.1f} s ({report.passages_per_second:.1f} passages/s)"
    )
    if report.rejected:
        sys.exit(1)


@main.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def stats_command(settings: Settings, as_json: bool) -> None:
    """Show articles, passages, languages, the embedding model and where the index lives."""
    stats = _open(settings).stats()
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False))
        return
    click.echo(f"articles:        {stats['articles']}")
    click.echo(f"passages:        {stats['passages']}")
    langs = ", ".join(f"{k} {v}" for k, v in stats["languages"].items()) or "-"
    click.echo(f"languages:       {langs}")
    sources = ", ".join(f"{k} {v}" for k, v in list(stats["sources"].items())[:10]) or "-"
    click.echo(f"sources:         {sources}")
    click.echo(f"embedding model: {stats['embedding_model']} ({stats['embedding_dim']} dimensions)")
    click.echo(f"index:           {stats['location']}")


if __name__ == "__main__":
    main()
