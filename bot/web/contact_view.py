"""What the contact log shows: one page of contacts as plain values, for the page, the JSON
API and the exports alike. Her pseudonym only: never her name, phone or words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.services import Services
from bot.web import texts
from bot.web.contact_filters import RISK_ORDER, ParsedFilters
from storage.queries.contact_log import ContactRow, contact_page

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class ContactLog:
    rows: list[dict[str, Any]]
    next: str | None  # the cursor of the older page
    previous: str | None  # the cursor of the newer page


def present(row: ContactRow, zone: ZoneInfo) -> dict[str, Any]:
    """A contact as the log shows it: its codes, and the words a worker reads beside them."""
    return {
        "id": row.id,
        "started_at": row.started_at.astimezone(zone).isoformat(),
        "started": row.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "ended_at": row.ended_at.astimezone(zone).isoformat(),
        "ended": row.ended_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "pseudonym": row.pseudonym,
        "channel": row.channel,
        "channel_label": texts.CHANNEL_LABELS.get(row.channel, row.channel),
        "service_type": row.service_type,
        "intent": row.intent,
        "intent_label": texts.INTENT_LABELS.get(row.intent, row.intent),
        "risk": row.risk,
        "risk_label": texts.RISK_LABELS.get(row.risk, row.risk),
        "message_count": row.message_count,
        "handled_by": row.handled_by,
        "summary": row.summary,
    }


async def contact_log(services: Services, parsed: ParsedFilters) -> ContactLog:
    zone = services.config.zone
    async with services.db.session() as session:
        page = await contact_page(
            session,
            parsed.filters,
            RISK_ORDER,
            after=parsed.after,
            before=parsed.before,
            limit=PAGE_SIZE,
        )
    return ContactLog(
        [present(row, zone) for row in page.rows],
        page.next.encode() if page.next else None,
        page.previous.encode() if page.previous else None,
    )


def worker_choices(services: Services) -> list[tuple[str, str]]:
    """(id, label) of everyone a contact may be handled by: Careline itself and the roster."""
    roster = [(w.id, f"{w.name}（{w.id}）") for w in services.config.roster.workers]
    return [("careline", texts.WORKER_CARELINE), *roster]
