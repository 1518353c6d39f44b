"""Importing a call system's export: the calls through ``calls.take_calls``, the webhook's own
path, so an imported call is stored, classified, escalated (outbox rows, as any other) and
de-duplicated exactly as if the call system had posted it. A rerun of the same file finds
every segment and every call's end stored already, and imports nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.channels.hotline.calls import CallsPartlyTaken, CallTaken, take_calls
from bot.channels.hotline.exports import ExportedCall, Rejected
from bot.channels.hotline.her_words import IvrPrompts
from bot.gateway import Gateway

log = logging.getLogger("careline.channels.hotline")

# Refusals listed one by one in the summary; past that, only counted (a file of garbage must
# not fill the memory the streaming saves).
LISTED_REFUSALS = 200

# Calls stored and decided in one transaction: fewer statements and commits per call, while
# the write stays short (on SQLite a webhook's transcript waits for it).
CALLS_PER_TRANSACTION = 32


@dataclass
class ImportSummary:
    new_calls: int = 0
    calls_seen_before: int = 0  # imported (or posted) before: nothing new in them
    new_segments: int = 0
    unhandled_segments: int = 0  # stored, handled once their lease runs out
    contacts: set[int] = field(default_factory=set)
    escalations: set[int] = field(default_factory=set)
    refused: list[Rejected] = field(default_factory=list)
    refused_count: int = 0

    def refuse(self, rejected: Rejected) -> None:
        self.refused_count += 1
        if len(self.refused) < LISTED_REFUSALS:
            self.refused.append(rejected)


async def import_calls(
    gateway: Gateway,
    prompts: IvrPrompts,
    items: Iterable[ExportedCall | Rejected],
    *,
    calls_per_transaction: int = CALLS_PER_TRANSACTION,
) -> ImportSummary:
    """Take the calls in the file's order, several per transaction (a caller's calls in the
    file's order, so her history reads as she lived it); a refused line or a call that cannot
    be stored never stops the rest."""
    summary = ImportSummary()
    batch: list[ExportedCall] = []
    for item in items:
        if isinstance(item, Rejected):
            summary.refuse(item)
            continue
        batch.append(item)
        if len(batch) >= calls_per_transaction:
            await _take(gateway, prompts, batch, summary)
            batch = []
    if batch:
        await _take(gateway, prompts, batch, summary)
    return summary


async def _take(
    gateway: Gateway, prompts: IvrPrompts, batch: list[ExportedCall], summary: ImportSummary
) -> None:
    try:
        taken = await take_calls(gateway, [item.transcript for item in batch], prompts)
    except CallsPartlyTaken as partly:
        # The first calls are stored: counted as new, never taken again (they would read as
        # seen before); the one at fault is among the rest.
        for each in partly.taken:
            _count(summary, each)
        for item in batch[len(partly.taken) :]:
            await _take(gateway, prompts, [item], summary)
        return
    except Exception as exc:
        if len(batch) == 1:  # the database refused it: the rest may still go in
            log.error("hotline import: call not stored: %s", type(exc).__name__)
            item = batch[0]
            reason = f"not stored: {type(exc).__name__}"
            summary.refuse(
                Rejected(item.first_line, item.last_line, reason, item.transcript.call_id)
            )
            return
        # One call may be at fault: each alone, so that only it is refused.
        for item in batch:
            await _take(gateway, prompts, [item], summary)
        return
    for each in taken:
        _count(summary, each)


def _count(summary: ImportSummary, taken: CallTaken) -> None:
    answer = taken.answer
    if answer["duplicate"]:
        summary.calls_seen_before += 1
        return
    summary.new_calls += 1
    summary.new_segments += answer["new_segments"]
    summary.unhandled_segments += taken.unhandled
    if answer["contact_id"] is not None:
        summary.contacts.add(answer["contact_id"])
    if answer["escalation_id"] is not None:
        summary.escalations.add(answer["escalation_id"])
