"""`careline import-transcripts FILE...`: a call system's JSONL or CSV exports, through the
hotline's own path (``bot.channels.hotline.batch``).

Runs the service in-process without its background work (``run_jobs=False``), as `careline send
--local` does: the staff notices an imported crisis leaves are outbox rows, which the running
service (or its next start) sends like any other. Each file is streamed, with a progress bar
on stderr; the summary goes to stdout. Exit 1 when any line was refused.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Config

if TYPE_CHECKING:  # imported when the command runs: `careline --help` stays quick
    from bot.channels.hotline.batch import ImportSummary
    from bot.channels.hotline.her_words import IvrPrompts
    from bot.gateway import Gateway


def add_command(sub: Any, run: Callable[[argparse.Namespace], Any]) -> None:
    command = sub.add_parser(
        "import-transcripts",
        help="import a call system's hotline transcripts (JSONL, or CSV: one row per segment)",
    )
    command.add_argument("files", nargs="+", type=Path, metavar="FILE")
    command.add_argument(
        "--encoding",
        default="utf-8",
        type=_text_encoding,
        help="the files' text encoding (default utf-8; Excel's Chinese CSV: gb18030)",
    )
    command.set_defaults(run=run)


def _text_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise argparse.ArgumentTypeError(f"unknown encoding: {name}") from None


async def import_file(
    gateway: Gateway,
    prompts: IvrPrompts,
    path: Path,
    *,
    max_line_bytes: int,
    encoding: str = "utf-8",
) -> ImportSummary:
    from bot.channels.hotline.batch import import_calls
    from bot.channels.hotline.exports import is_csv, read_export

    with path.open("rb") as stream, _progress(path) as bar:
        calls = read_export(
            stream,
            csv_layout=is_csv(path),
            max_line_bytes=max_line_bytes,
            on_bytes=bar.update,
            encoding=encoding,
        )
        return await import_calls(gateway, prompts, calls)


def _progress(path: Path) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=path.stat().st_size,
        desc=path.name,
        unit="B",
        unit_scale=True,
        file=sys.stderr,
        mininterval=0.5,
    )


async def run(config: Config, secrets: Any, paths: list[Path], encoding: str) -> int:
    """Import each file in turn; 1 when any line was refused. ``ServiceError`` when the
    service cannot start."""
    from bot import texts
    from bot.channels.hotline.her_words import IvrPrompts
    from bot.services import Services

    services = await Services.start(config, secrets, run_jobs=False)
    prompts = IvrPrompts(config.hotline.ivr_prompts if config.hotline else [])
    refused = 0
    try:
        for path in paths:
            summary = await import_file(
                services.pipeline,
                prompts,
                path,
                max_line_bytes=config.service.max_body_bytes,
                encoding=encoding,
            )
            print("\n".join(texts.describe_import(path.name, summary)), flush=True)
            refused += summary.refused_count
    finally:
        await services.close()
    return 1 if refused else 0


def run_command(config: Config, secrets: Any, args: argparse.Namespace) -> int:
    return asyncio.run(run(config, secrets, args.files, args.encoding))
