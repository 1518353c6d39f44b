from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.notifiers.notice import NoticeKind, QuotedMessage, StaffNotice
from bot.notifiers.render import (
    MARKDOWN_MAX_BYTES,
    render_markdown,
    render_plain,
    render_sms,
    render_subject,
)
from storage.models import Priority
from tests.notice_fixture import ACK_URL, HER_WORDS, PSEUDONYM, REASONS, crisis_notice


def test_markdown_gives_a_worker_everything_at_a_glance() -> None:
    content = render_markdown(crisis_notice(), mention="LiMei")
    assert content.startswith("## P1 紧急｜新的求助\n<@LiMei> 请查看")
    for expected in (
        "> 求助编号 #42",
        f"> 求助人：{PSEUDONYM}",
        "> 渠道：微信公众号",
        "> 风险：高",
        "> 线索：不想活、独处",
        "> 类别：自杀/自伤风险",
        "> 时限：03-09 21:08 前",  # local Shanghai time
        f"> 03-09 21:00 {HER_WORDS[0]}",
        f"[我来处理]({ACK_URL})",
    ):
        assert expected in content, expected


def test_plain_text_for_email_has_messages_link_and_privacy_footer() -> None:
    text = render_plain(crisis_notice())
    assert all(words in text for words in HER_WORDS)
    assert f"点击确认由你处理：{ACK_URL}" in text
    assert text.endswith("请勿转发。")
    assert render_subject(crisis_notice()) == "【Careline】P1 紧急 新的求助"


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_sms_carries_only_the_priority_and_the_link(kind: NoticeKind) -> None:
    text = render_sms(crisis_notice(kind))
    leaked = [*HER_WORDS, *REASONS, PSEUDONYM, "42", "高", "wechat", "微信"]
    assert not [word for word in leaked if word in text]
    assert ("P1" in text) == (kind in {NoticeKind.NEW, NoticeKind.CLIMBED, NoticeKind.TAKEN})
    assert (ACK_URL in text) == (kind != NoticeKind.TAKEN)


def test_sms_template_from_config_is_used() -> None:
    templates = {"new": "{priority} 需要你：{link}"}
    assert render_sms(crisis_notice(), templates) == f"P1 需要你：{ACK_URL}"


def test_a_taken_notice_names_who_took_it_and_offers_no_link() -> None:
    notice = crisis_notice(NoticeKind.TAKEN, taken_by="王芳")
    content = render_markdown(notice)
    assert "王芳 已接手" in content and ACK_URL not in content
    assert ACK_URL not in render_plain(notice)


def test_a_roster_gap_notice_says_when_nobody_is_on_duty() -> None:
    notice = StaffNotice(
        NoticeKind.ROSTER_GAP,
        Priority.P2,
        gap_start=datetime(2026, 3, 14, 13, tzinfo=UTC),
        gap_end=datetime(2026, 3, 15, 16, tzinfo=UTC),
        ack_url=None,
    )
    content = render_markdown(notice)
    assert "无人值班：03-14 21:00 至 03-16 00:00" in content
    assert "求助编号" not in content and "请尽快登录 Careline 查看。" in content


def test_markdown_drops_the_oldest_messages_to_fit_wecoms_limit() -> None:
    long = tuple(
        QuotedMessage(datetime(2026, 3, 9, 13, i, tzinfo=UTC), f"第{i}条" + "😢" * 250)
        for i in range(5)
    )
    content = render_markdown(crisis_notice(recent_messages=long))
    assert len(content.encode("utf-8")) <= MARKDOWN_MAX_BYTES
    assert "第4条" in content and "第0条" not in content
    assert content.endswith(f"[我来处理]({ACK_URL})")


def test_only_the_last_five_messages_are_kept() -> None:
    many = tuple(QuotedMessage(datetime(2026, 3, 9, 13, i, tzinfo=UTC), f"m{i}") for i in range(8))
    assert [m.text for m in crisis_notice(recent_messages=many).recent_messages] == [
        "m3",
        "m4",
        "m5",
        "m6",
        "m7",
    ]


def test_a_pseudonym_holding_a_phone_number_is_refused() -> None:
    with pytest.raises(ValueError, match="phone"):
        crisis_notice(pseudonym="13800000001")
