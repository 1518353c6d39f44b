"""How much of a mother's name and number a staff member may read.

Social workers read them only in a case they hold (an unresolved escalation of hers that they
took); supervisors and admins always. Everywhere else a worker sees enough to tell two people
apart on the phone (``138****0001``, ``王*``), never enough to reach or name her.
"""

from __future__ import annotations

from bot.message import IdentityKind

PHONE_KEPT_HEAD, PHONE_KEPT_TAIL = 3, 4


def mask_phone(number: str) -> str:
    digits = number.strip()
    if len(digits) <= PHONE_KEPT_HEAD + PHONE_KEPT_TAIL:
        return "*" * len(digits)
    hidden = len(digits) - PHONE_KEPT_HEAD - PHONE_KEPT_TAIL
    return f"{digits[:PHONE_KEPT_HEAD]}{'*' * hidden}{digits[-PHONE_KEPT_TAIL:]}"


def mask_name(name: str) -> str:
    name = name.strip()
    return f"{name[:1]}*" if name else ""


def mask_identity(kind: str, value: str) -> str:
    """A phone number keeps its head and tail; any other identifier (an openid, a group
    member's name) only its first character."""
    if kind == IdentityKind.PHONE:
        return mask_phone(value)
    return mask_name(value)
