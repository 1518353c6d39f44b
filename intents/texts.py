"""Chinese texts a social worker reads in risk reasons (cue reasons live in data/crisis.yml)."""

from __future__ import annotations

from collections.abc import Sequence

KIND_NAMES = {"suicide": "自杀/自伤", "violence": "暴力"}


def cue_reason(reason: str, matched: str) -> str:
    return f"{reason}：“{matched}”"


def history_reason(reason: str, matched: str) -> str:
    return f"近期消息·{reason}：“{matched}”"


def _model_said(probability: float, words: Sequence[str]) -> str:
    """The model's probability, and the words its guess rests on most (依据: 他、说)."""
    leaning = f"，依据：{'、'.join(words)}" if words else ""
    return f"概率 {probability:.2f}{leaning}"


def model_reason(kind: str, probability: float, words: Sequence[str] = ()) -> str:
    return f"模型判断疑似{KIND_NAMES.get(kind, kind)}风险（{_model_said(probability, words)}）"


def ranked_first_reason(kind: str, probability: float, words: Sequence[str] = ()) -> str:
    return f"意图模型首选{KIND_NAMES.get(kind, kind)}危机（{_model_said(probability, words)}）"


SMALL_TALK_NAMES = {
    "thanks": "道谢",
    "goodbye": "道别",
    "greet": "问候",
    "request_human": "找社工",
    "emotional_distress": "情绪困扰",
}
FAREWELL_LOOKS = frozenset({"thanks", "goodbye"})


FAREWELL_AFTER_SIGN = "道别紧跟在她近期的自杀/自伤信号之后，疑似告别"


def behind_small_talk_reason(
    kind: str, intent: str, probability: float, words: Sequence[str] = ()
) -> str:
    said = SMALL_TALK_NAMES.get(intent, intent)
    kind_name = KIND_NAMES.get(kind, kind)
    farewell = "，疑似告别" if intent in FAREWELL_LOOKS else ""
    return f"读作{said}，但模型次选{kind_name}危机（{_model_said(probability, words)}）{farewell}"


def other_reason(label: str, matched: str) -> str:
    return f"他人有风险·{label}：“{matched}”"


def other_model_reason(kind: str, probability: float, words: Sequence[str] = ()) -> str:
    return f"他人有风险·{model_reason(kind, probability, words)}"


CONTEXT_NAMES = {
    "negated": "否定",
    "resolved_past": "已过去",
    "reported": "新闻/影视/他人经历",
    "other_person": "说的是别人",
    "others_news": "讲的是别人的事",
    "figurative": "夸张或习语",
    "dream": "梦境",
    "mortality": "泛谈生死",
    "animal": "说的是动物",
    "errand": "限时的日常请托",
    "return_promised": "约好再见面",
    "goodbye_explained": "道别有日常缘由（搬家、换号、上班、结业、出差）",
    "rest_wished": "想歇一歇（睡到中午、清静几天）",
    "way_forward": "说了打算怎么改变（辞职、换工作、学手艺）",
    "laughed": "带笑说的玩笑话（哈哈、😂）",
    "outing": "在河边、楼顶等处的日常活动（散步、晒被子）",
    "better_now": "说自己好多了",
}


def context_reason(name: str) -> str:
    return f"语境：{CONTEXT_NAMES.get(name, name)}（已降低权重）"
