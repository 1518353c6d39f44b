"""One notice, three shapes: WeCom markdown, plain text (e-mail), and the bare SMS line.

WeCom markdown: https://developer.work.weixin.qq.com/document/path/90236#markdown消息 (a subset:
headings, bold, links, ``>`` quotes, ``<font color>``, ``<@userid>`` mentions; 4096 bytes).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.notifiers import texts
from bot.notifiers.notice import StaffNotice
from handlers.texts import INTENT_LABELS, RISK_LABELS

__all__ = [
    "MARKDOWN_MAX_BYTES",
    "render_lines",
    "render_markdown",
    "render_plain",
    "render_sms",
    "render_subject",
]

MARKDOWN_MAX_BYTES = 4096
QUOTE_MAX_CHARS = 200
SHANGHAI = ZoneInfo("Asia/Shanghai")


def render_subject(notice: StaffNotice) -> str:
    return texts.EMAIL_SUBJECT.format(priority=_priority(notice), title=texts.TITLES[notice.kind])


def render_lines(notice: StaffNotice, zone: ZoneInfo = SHANGHAI) -> list[str]:
    """The facts a worker needs at a glance, one per line, without her messages."""
    lines = []
    if notice.escalation_id is not None:
        lines.append(texts.CASE.format(id=notice.escalation_id))
    if notice.pseudonym:
        lines.append(texts.WHO.format(pseudonym=notice.pseudonym))
    if notice.channel:
        channel = texts.CHANNEL_LABELS.get(notice.channel, notice.channel)
        lines.append(texts.CHANNEL.format(channel=channel))
    if notice.line:
        lines.append(texts.LINE.format(line=notice.line))
    if notice.intent:
        lines.append(texts.INTENT.format(intent=INTENT_LABELS.get(notice.intent, notice.intent)))
    if notice.kind in ("new", "climbed") or notice.risk_level != "none":
        risk = RISK_LABELS.get(notice.risk_level, notice.risk_level)
        lines.append(texts.RISK.format(risk=risk))
    if notice.reasons:
        lines.append(texts.REASONS.format(reasons="、".join(notice.reasons[:5])))
    if notice.due_at is not None:
        lines.append(texts.DUE.format(when=_when(notice.due_at, zone)))
    if notice.in_progress:
        lines.append(texts.IN_PROGRESS.format(text=notice.in_progress))
    if notice.kind == "taken" and notice.taken_by:
        lines.append(texts.TAKEN_BY.format(name=notice.taken_by))
    if notice.kind == "roster_gap" and notice.gap_start and notice.gap_end:
        start, end = _when(notice.gap_start, zone), _when(notice.gap_end, zone)
        lines.append(texts.GAP.format(start=start, end=end))
    return lines


def render_markdown(
    notice: StaffNotice, *, mention: str | None = None, zone: ZoneInfo = SHANGHAI
) -> str:
    head = f"## {_priority(notice)}｜{texts.TITLES[notice.kind]}"
    if mention:
        head += "\n" + texts.FOR_YOU.format(mention=f"<@{mention}>")
    body = [f"> {line}" for line in render_lines(notice, zone)]
    link = f"[{texts.ACK_LINK}]({notice.ack_url})" if notice.ack_url else texts.NO_LINK
    if notice.kind == "taken":
        link = ""
    quotes = [f"> {_when(m.sent_at, zone)} {_quote(m.text)}" for m in notice.recent_messages]
    # Drop the oldest quoted messages until the whole fits WeCom's limit.
    while True:
        parts = [head, "\n".join(body)]
        if quotes:
            parts.append(texts.RECENT + "\n" + "\n".join(quotes))
        if link:
            parts.append(link)
        content = "\n\n".join(parts)
        if len(content.encode("utf-8")) <= MARKDOWN_MAX_BYTES or not quotes:
            return _clip_bytes(content, MARKDOWN_MAX_BYTES)
        quotes = quotes[1:]


def render_plain(notice: StaffNotice, zone: ZoneInfo = SHANGHAI) -> str:
    lines = [f"{_priority(notice)}｜{texts.TITLES[notice.kind]}", ""]
    lines += render_lines(notice, zone)
    if notice.recent_messages:
        lines += ["", texts.RECENT]
        lines += [f"  {_when(m.sent_at, zone)} {_quote(m.text)}" for m in notice.recent_messages]
    if notice.kind != "taken":
        lines.append("")
        if notice.ack_url:
            lines.append(texts.ACK_PLAIN.format(url=notice.ack_url))
        else:
            lines.append(texts.NO_LINK)
    lines += ["", texts.EMAIL_FOOTER]
    return "\n".join(lines)


def render_sms(notice: StaffNotice, templates: dict[str, str] | None = None) -> str:
    """Only the priority and the link: an SMS is read on a lock screen and kept by carriers."""
    template = (templates or texts.SMS_TEMPLATES).get(notice.kind) or texts.SMS_TEMPLATES[
        notice.kind
    ]
    return template.format(priority=notice.priority.value, link=notice.ack_url or texts.SMS_NO_LINK)


def _priority(notice: StaffNotice) -> str:
    return texts.PRIORITY_LABELS.get(notice.priority.value, notice.priority.value)


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%m-%d %H:%M}"


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_MAX_CHARS else flat[: QUOTE_MAX_CHARS - 1] + "…"


def _clip_bytes(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")
