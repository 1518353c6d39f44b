"""Telling staff: one ``StaffNotice``, several senders behind the ``Sender`` protocol.

- ``notice``: the notice (pseudonym only) and its kinds; ``base``: the protocol and results.
- ``render``: markdown (WeCom), plain text (e-mail), the bare SMS line; words in ``texts``.
- one module per sender: ``wecom_robot``, ``wecom_app``, ``sms``, ``smtp``, ``webhook``
  (``http`` is the POST the HTTP ones share).
- ``deliver``: try one person's senders in order until one delivers.

The outbox worker runs them; nothing here runs inside a mother's request.
"""

from bot.notifiers.base import DeliveryResult, DeliveryStatus, Sender
from bot.notifiers.deliver import DeliveryReport, deliver
from bot.notifiers.notice import NoticeKind, QuotedMessage, StaffNotice

__all__ = [
    "DeliveryReport",
    "DeliveryResult",
    "DeliveryStatus",
    "NoticeKind",
    "QuotedMessage",
    "Sender",
    "StaffNotice",
    "deliver",
]
