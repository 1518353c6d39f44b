"""Importing a call system's export: each call through ``calls.take_call``, the webhook's own
path, so an imported call is stored, classified, escalated (outbox rows, as any other) and
de-duplicated exactly as if the call system had posted it. A rerun of the same file finds
every segment and every call's end stored already, and imports nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.channels.hotline.calls import take_call
from bot.channels.hotline.exports import ExportedCall, Rejected
from bot.channels.hotline.her_words import IvrPrompts
from bot.gateway import Gateway

log = logging.getLogger("careline.channels.hotline")

# Refusals listed one by one in the summary; past that, only counted (a file of garbage must
# not fill the memory the streaming saves).
LISTED_REFUSALS = 200


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
    gateway: Gateway, prompts: IvrPrompts, items: Iterable[ExportedCall | Rejected]
) -> ImportSummary:
    """Take each call in turn (a caller's calls in the file's order, so her history reads as
    she lived it); a refused line or a call that cannot be stored never stops the rest."""
    summary = ImportSummary()
    for item in items:
        if isinstance(item, Rejected):
            summary.refuse(item)
            continue
        transcript = item.transcript
        try:
            taken = await take_call(gateway, transcript, prompts)
        except Exception as exc:  # the database refused it: the rest may still go in
            log.error("hotline import: call not stored: %s", type(exc).__name__)
            reason = f"not stored: {type(exc).__name__}"
            summary.refuse(Rejected(item.first_line, item.last_line, reason, transcript.call_id))
            continue
        answer = taken.answer
        if answer["duplicate"]:
            summary.calls_seen_before += 1
            continue
        summary.new_calls += 1
        summary.new_segments += answer["new_segments"]
        summary.unhandled_segments += taken.unhandled
        if answer["contact_id"] is not None:
            summary.contacts.add(answer["contact_id"])
        if answer["escalation_id"] is not None:
            summary.escalations.add(answer["escalation_id"])
    return summary
