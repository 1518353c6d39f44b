"""Everything a worker reads in a staff notice, in one place."""

from __future__ import annotations

TITLES: dict[str, str] = {
    "new": "新的求助",
    "climbed": "求助升级：尚无人接手",
    "taken": "已有人接手",
    "follow_up": "回访到期",
    "roster_gap": "值班空档",
}

PRIORITY_LABELS: dict[str, str] = {"P1": "P1 紧急", "P2": "P2 尽快", "P3": "P3 一般"}

CHANNEL_LABELS: dict[str, str] = {
    "wechat_mp": "微信公众号",
    "wecom": "企业微信",
    "care_group": "关爱群",
    "hotline": "关爱热线",
    "api": "接口",
    "terminal": "终端测试",
}

CASE = "求助编号 #{id}"
WHO = "求助人：{pseudonym}"
CHANNEL = "渠道：{channel}"
LINE = "来源：{line}"
RISK = "风险：{risk}"
REASONS = "线索：{reasons}"
INTENT = "类别：{intent}"
IN_PROGRESS = "进展：{text}"
# A hotline call still going on when its crisis was heard: a duty worker may join it.
CALL_IN_PROGRESS = "热线通话仍在进行中，可尽快接入"
TAKEN_BY = "{name} 已接手，其他同事无需再处理。"
DUE = "时限：{when} 前"
GAP = "无人值班：{start} 至 {end}，期间的求助会直接通知督导。"
RECENT = "最近消息："
ACK_LINK = "我来处理"
ACK_PLAIN = "点击确认由你处理：{url}"
NO_LINK = "请尽快登录 Careline 查看。"
FOR_YOU = "{mention} 请查看"
EMAIL_SUBJECT = "【Careline】{priority} {title}"
EMAIL_FOOTER = "本邮件由 Careline 自动发送，内容涉及求助人隐私，请勿转发。"

# SMS: nothing beyond "a Pn needs you" and the link (never her words, never her pseudonym).
SMS_TEMPLATES: dict[str, str] = {
    "new": "【妈妈关爱】有一条{priority}求助需要你处理，请尽快查看：{link}",
    "climbed": "【妈妈关爱】一条{priority}求助尚无人接手，需要你处理：{link}",
    "taken": "【妈妈关爱】这条{priority}求助已有同事接手，无需再处理。",
    "follow_up": "【妈妈关爱】有一项回访到期，请尽快查看：{link}",
    "roster_gap": "【妈妈关爱】值班表出现空档，请尽快安排：{link}",
}
SMS_NO_LINK = "请登录 Careline 查看"
