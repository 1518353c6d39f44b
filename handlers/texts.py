"""Everything a mother reads from the handlers, in one place.

Crisis replies stay warm and short, say a person is coming, give a number to call, and never
mention means. Every number is named for what it is: ``{programme_hotline}`` is the programme's
own 关爱热线 (``policy.programme_hotline``); 12338 is the national women's-rights line, 12356 the
national psychological-assistance line, 110/120 police and ambulance.
"""

from __future__ import annotations

REPLIES: dict[str, str] = {
    "crisis_suicide": (
        "谢谢你愿意告诉我，你现在一定很难受，你不是一个人。我已经请值班社工尽快联系你。"
        "如果你现在有危险，请马上拨打 120 或 110；也可以拨打全国心理援助热线 12356，"
        "或本项目的关爱热线 {programme_hotline}。在社工联系你之前，能告诉我你现在身边有人陪着吗？"
    ),
    "crisis_violence": (
        "听到你的遭遇，我很担心你的安全。我已经请值班社工尽快联系你。"
        "如果你或孩子现在有危险，请马上拨打 110；全国妇女维权公益服务热线 12338 "
        "和本项目的关爱热线 {programme_hotline} 也可以帮你。"
        "如果方便，请先到安全的地方，告诉我你现在是否安全。"
    ),
    # She tells us someone else is at risk (a friend who wants to die, a neighbour's child
    # beaten): thanks, a person is coming, and the numbers for the one at risk.
    "concern_for_other": (
        "谢谢你告诉我们，看得出你很关心对方。我已经请值班社工尽快联系你，一起商量怎么帮助对方。"
        "如果对方现在有生命危险，请马上拨打 110 或 120；全国心理援助热线 12356 "
        "和本项目的关爱热线 {programme_hotline} 也可以提供帮助。"
    ),
    "emotional_distress": (
        "听起来你最近真的很辛苦，愿意说出来已经很不容易。我在这里听你说，"
        "也可以请社工姐姐和你聊聊。你想先说说最让你难受的是什么吗？"
    ),
    "request_human": (
        "好的，已经为你转给社工，社工会尽快联系你。"
        "如果你希望在某个时间接电话，可以直接告诉我，比如“明天下午三点”。"
    ),
    "request_human_callback": "好的，社工会在 {when} 给你回电话。如果时间有变，随时告诉我。",
    "job_training": (
        "我们有育婴师、家政、电商等技能培训，也会推荐灵活就业的机会。"
        "社工会把近期的培训和岗位信息发给你，你也可以说说你想做哪方面的工作。"
    ),
    "parenting_education": (
        "带孩子真的不容易。我们有家庭教育讲座和亲子沟通小组，社工也可以和你一起想办法。"
        "你愿意说说孩子最近的情况吗？"
    ),
    "activity_signup": "收到，我们会把你的报名转给活动负责的社工，确认后会通知你时间和地点。",
    "financial_hardship": (
        "谢谢你告诉我们家里的困难。社工会和你联系，了解情况，"
        "帮你看看临时救助、低保或微心愿等可以申请的帮助。"
    ),
    "child_support": (
        "我们有爱心妈妈结对、课业辅导等关爱孩子的服务。社工会联系你，了解孩子的情况后帮你对接。"
    ),
    "health_service": (
        "我们定期组织免费体检、两癌筛查和健康讲座。社工会把最近的安排发给你，需要的话帮你预约。"
    ),
    "legal_aid": (
        "你的问题我们会转给法律援助的志愿律师。也可以拨打全国妇女维权公益服务热线 12338 咨询。"
        "社工会联系你约时间。"
    ),
    "greet": "你好，我是妈妈关爱热线的小助手。有什么想说的、需要帮忙的，都可以告诉我。",
    "thanks": "不客气，有需要随时找我们。照顾好自己。",
    "goodbye": "好的，照顾好自己，有需要随时来找我们。",
    "out_of_scope": (
        "我可能没有完全明白你的意思。你可以再说详细一点，或者直接说“找社工”，我们会请社工联系你。"
    ),
}


# Check-ins she gets on her channel, by round. Neutral on purpose: her phone may be seen by
# someone else, so nothing says why we ask.
CHECK_INS: tuple[str, ...] = (
    "你好，我是妈妈关爱项目的社工助手。想问问你这两天还好吗？"
    "有什么想说的，直接回复我就好。需要的话，本项目的关爱热线 {programme_hotline} 也随时可以打。",
    "你好，又来问候你一下。最近怎么样？哪怕只回一个字，我们也安心一些。"
    "有需要可以打关爱热线 {programme_hotline}。",
    "你好，我们一直惦记着你。方便的时候回复一句就好，社工也可以给你打电话。"
    "如果遇到危险，请拨打 110。",
)

# The reason a worker reads on an escalation opened because she stopped answering.
LOST_CONTACT_REASON = "失联：连续 {count} 次关怀回访未回复"


def check_in_text(round_: int, **values: str) -> str:
    """The check-in of this round (the last one again for any later round)."""
    return CHECK_INS[min(round_, len(CHECK_INS)) - 1].format(**values)


def reply_text(key: str, **values: str) -> str:
    return REPLIES[key].format(**values)


# What a social worker reads about a message at a glance.
INTENT_LABELS: dict[str, str] = {
    "crisis_suicide": "自杀/自伤风险",
    "crisis_violence": "暴力/人身安全",
    "emotional_distress": "情绪困扰",
    "request_human": "要求人工/社工",
    "job_training": "就业培训",
    "parenting_education": "家庭教育",
    "activity_signup": "活动报名",
    "financial_hardship": "经济困难",
    "child_support": "儿童关爱",
    "health_service": "健康服务",
    "legal_aid": "法律援助",
    "greet": "问候",
    "thanks": "感谢",
    "goodbye": "告别",
    "out_of_scope": "其他",
}

RISK_LABELS: dict[str, str] = {
    "none": "无",
    "low": "低",
    "medium": "中",
    "high": "高",
    "imminent": "紧急",
}


def describe_repeated_distress(count: int, days: float) -> str:
    return f"反复情绪困扰：{days:g} 天内第 {count} 次表达困扰，单条消息未达升级标准；风险：低"


# Someone else at risk: what the message is about, whatever intent her words read as.
CONCERN_LABEL = "关心他人安危"


def describe_for_worker(
    intent: str,
    risk_level: str,
    reasons: tuple[str, ...] | list[str],
    *,
    concern_for_other: bool = False,
) -> str:
    label = CONCERN_LABEL if concern_for_other else INTENT_LABELS.get(intent, intent)
    text = f"{label}；风险：{RISK_LABELS.get(risk_level, risk_level)}"
    if reasons:
        text += "；线索：" + "、".join(reasons[:5])
    return text
