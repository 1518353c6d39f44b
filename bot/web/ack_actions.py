"""What a tap on the acknowledgement page does, each in one transaction with the link's use.

- take: the escalation is acknowledged by the link's recipient (the climb stops, pending
  notices are cancelled) and everyone a notice reached before is told it is taken.
- hand back: this person is out of the case (their unsent notices of it cancelled, their
  links no longer take it); from the current level it climbs at once and the next level is
  told (see ``hand_back`` for a level the chain has left).

Either marks the link used in the same transaction, so a link acts once, and two taps at once
(or two people at once) cannot both win.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import escalations
from bot.config import Config
from bot.escalations import NotAllowed
from bot.roster import people_at_level
from bot.staff_work import enqueue_escalation_notice
from bot.web.ack_tokens import AckClaims
from handlers.escalation import on_sla_missed
from storage import queries
from storage.db import Database
from storage.models import AckLinkAction, Escalation, OutboxKind

__all__ = ["HandedBack", "LinkUsed", "NotAllowed", "hand_back", "take"]


class LinkUsed(Exception):
    """The link acted before."""


class HandedBack(Exception):
    """This person handed the escalation back: their links may not take it."""


async def take(db: Database, claims: AckClaims, *, at: datetime) -> Escalation:
    async def with_the_link(session: AsyncSession, escalation: Escalation, told: int) -> None:
        await _use(session, claims, AckLinkAction.ACKNOWLEDGED, at)
        await queries.audit(
            session,
            actor=claims.recipient_id,
            action="ack_link.acknowledged",
            object_type="escalation",
            object_id=escalation.id,
            at=at,
            detail={"token_id": claims.token_id, "others_told": told},
        )

    return await escalations.take(
        db, claims.escalation_id, by=claims.recipient_id, at=at, also=with_the_link
    )


async def hand_back(db: Database, claims: AckClaims, *, at: datetime, config: Config) -> Escalation:
    """转给其他人: this person is out of this case, and the chain goes on without them.

    - Their own notices of it not yet delivered (a retry waiting out its backoff) are
      cancelled. Nothing else is: not the others' notices, not the SLA check, not their
      notices of other cases, not a follow-up they are to make.
    - Handed back from the level the escalation is at now, it climbs at once from that level,
      as a missed SLA would (at the top level the supervisors are told again, without them).
    - Handed back from a level the chain has already left (the duty worker, after the backup
      was told), nothing climbs: the current level keeps its SLA period, the level left
      behind is not paged again, and the next level is told only if that period passes.
    - None of their links can take it afterwards.
    """
    async with db.write() as session:
        escalation = await queries.lock_escalation(session, claims.escalation_id)
        if escalation is None:
            raise NotAllowed(f"escalation #{claims.escalation_id} not found")
        climb = on_sla_missed(escalation, escalation.level, at, config.policy)
        if climb is None:
            raise NotAllowed(f"escalation #{claims.escalation_id} is {escalation.status}")
        await _use(session, claims, AckLinkAction.HANDED_BACK, at)
        cancelled = await queries.cancel_pending(
            session,
            escalation_id=claims.escalation_id,
            kinds=(OutboxKind.STAFF_DELIVERY,),
            recipient=claims.recipient_id,
            at=at,
            result="handed back",
        )
        current = people_at_level(
            config.roster, escalation.created_at, escalation.level, config.zone
        )
        # Without a roster nobody's level is known: the hand-back climbs, as it always did.
        climbs = not current or claims.recipient_id in {worker.id for worker in current}
        if climbs:
            await queries.climb_escalation(
                session,
                claims.escalation_id,
                from_level=climb.from_level,
                to_level=climb.to_level,
                deadline=climb.sla_deadline,
                at=at,
            )
        to_level = climb.to_level if climbs else escalation.level
        await queries.audit(
            session,
            actor=claims.recipient_id,
            action="escalation.handed_back",
            object_type="escalation",
            object_id=claims.escalation_id,
            at=at,
            detail={
                "token_id": claims.token_id,
                "from_level": escalation.level,
                "to_level": to_level,
                "notices_cancelled": cancelled,
            },
        )
        if climbs:
            await session.refresh(escalation)
            await enqueue_escalation_notice(session, escalation, at)
    return escalation


async def _use(
    session: AsyncSession, claims: AckClaims, action: AckLinkAction, at: datetime
) -> None:
    if await queries.handed_back(session, claims.escalation_id, claims.recipient_id):
        raise HandedBack()
    if not await queries.use_ack_link(
        session,
        token_id=claims.token_id,
        escalation_id=claims.escalation_id,
        recipient=claims.recipient_id,
        action=action,
        at=at,
    ):
        raise LinkUsed()
