"""The always-on crisis layer on hand-written messages (never the evaluation set's texts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.context import BETTER_NOW, LAUGHED, REST_WISHED, WAY_FORWARD
from intents.crisis import CrisisConfig, CrisisLayer
from intents.result import CONCERN_FOR_OTHER, Risk, RiskLevel


@pytest.fixture(scope="module")
def crisis() -> CrisisLayer:
    return CrisisLayer()


def assert_sign_and_its_harmless_twin(
    crisis: CrisisLayer, family: str, text: str, harmless: str
) -> None:
    """``text`` escalates with ``family`` among its evidence; its twin does not escalate."""
    risk = crisis.assess(text)
    assert risk.crisis and any(item.name == family for item in risk.evidence), risk
    calm = crisis.assess(harmless)
    assert not calm.crisis, calm


SUICIDE = [
    "我真的不想活了",
    "活着太累了，不如死了算了",
    "孩子没有我会过得更好吧",
    "我把药攒起来了，有三十多片",
    "想去找去世的妈妈，她在上面等我",
    "以后孩子就拜托你们了",
    "我又用刀片划自己了",
    "嗯那个就是我现在站在楼顶上面风很大",
    "我已经吃了一整瓶安眠药",
    "有没有不痛苦的死法",
    "上次吃药被送去洗胃，现在又有那个念头了",
    # traditional, Cantonese, typos and homophones, spacing
    "我真係唔想再活落去",
    "我冇得再撐，死咗就唔使咁辛苦",
    "我不想或了",
    "好想自沙",
    "想 跳 楼",
    "真的不想活了",
    "我想tiao lou",
    # a clause break that spaces hid: not 想死你们了 (missing you)
    "我就是想死 你们别劝我",
    "我好想死 大家都别管我了",
]
VIOLENCE = [
    "老公喝醉了就打我",
    "他说要杀了我和孩子",
    "他把我锁在家里不让出门",
    "前夫天天在我家楼下蹲着跟踪我",
    "孩子被继父打得浑身是伤",
    "我真想拿刀砍死他",
    "佢又打我",
    "他拿著刀追我",
]
HYPERBOLE = [
    "累死了",
    "笑死我了哈哈哈",
    "想死你们了",
    "今天热死了",
    "菜市场杀价杀得好狠",
    "这孩子真是要我的命",
    "饿死了 中午吃啥",
    "气死我了 又堵车",
    "看了个电影，女主最后跳楼了，哭得稀里哗啦",
    "新闻说有人在桥上出了车祸，好吓人",
    "手机又死机了",
    "秒杀活动快开始了",
    "跳楼价甩卖最后三天",
    "孩子的数学题难死了",
    "打我电话就行 138的那个",
    "我从来没想过自杀，放心",
    # A sensation's degree (热得想死), or any degree said with a laugh, is a joke's.
    "这两天热得我想死 空调还坏了",
    "排队排到无聊得想死",
    "加班加到想死 哈哈哈",
    "输了一晚上 气到想杀了他们 haha",
    "打機輸咗 嬲到想死😂",
]


@pytest.mark.parametrize("text", SUICIDE)
def test_suicide_talk_is_a_crisis(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert risk.crisis, (text, risk)
    assert risk.kind == "suicide"
    assert risk.reasons and all(isinstance(reason, str) and reason for reason in risk.reasons)


@pytest.mark.parametrize("text", VIOLENCE)
def test_violence_is_a_crisis(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert risk.crisis, (text, risk)
    assert risk.kind == "violence"


@pytest.mark.parametrize("text", HYPERBOLE)
def test_hyperbole_and_reported_deaths_are_no_crisis(crisis: CrisisLayer, text: str) -> None:
    assert not crisis.assess(text).crisis, text


def test_a_threat_is_not_masked_as_hyperbole(crisis: CrisisLayer) -> None:
    assert crisis.assess("他扬言要我的命").crisis


@pytest.mark.parametrize("text", ["带孩子累得想死", "哈哈 我真的想死", "气到想杀了他"])
def test_tiredness_or_a_laugh_alone_is_no_joke(crisis: CrisisLayer, text: str) -> None:
    # Tiredness is no sensation to joke by; a laugh without the degree form is no mark.
    assert crisis.assess(text).crisis, text


def test_imminent_when_means_are_in_use(crisis: CrisisLayer) -> None:
    assert crisis.assess("我刚刚吃了一整瓶安眠药").level is RiskLevel.IMMINENT


def test_reasons_name_the_matched_words(crisis: CrisisLayer) -> None:
    risk = crisis.assess("他又打我了")
    assert any("打我" in reason for reason in risk.reasons)


def test_history_raises_a_weak_signal(crisis: CrisisLayer) -> None:
    alone = crisis.assess("不想再撑了")
    after = crisis.assess("不想再撑了", history=["我好累", "每天都睡不着"])
    assert not alone.crisis
    assert after.crisis
    assert after.level.rank > alone.level.rank
    assert any("近期消息" in reason for reason in after.reasons)


def test_feelings_said_again_and_again_stay_distress(crisis: CrisisLayer) -> None:
    # A call's repeats, or a hard week: tiredness said three times is not a suicide risk.
    tired = "最近带孩子 真的好累 睡不好"
    risk = crisis.assess(tired, history=[tired, "就是 最近带孩子 真的好累"])
    assert risk.level is RiskLevel.LOW
    assert not risk.crisis


def test_a_feeling_after_a_warning_sign_is_raised_by_it(crisis: CrisisLayer) -> None:
    alone = crisis.assess("我好累")
    after = crisis.assess("我好累", history=["真的不想活了"])
    assert after.level.rank > alone.level.rank
    assert any("近期消息" in reason for reason in after.reasons)


def test_history_does_not_turn_a_neutral_message_into_a_crisis(crisis: CrisisLayer) -> None:
    assert crisis.assess("谢谢你们", history=["我不想活了"]).level is RiskLevel.NONE


def test_classifier_probability_alone_escalates_indirect_talk(crisis: CrisisLayer) -> None:
    text = "这些东西我都整理好了"
    assert not crisis.assess(text).crisis
    strong = crisis.config.model_medium
    assert not crisis.assess(text, model_probabilities={"crisis_suicide": strong - 0.01}).crisis
    risk = crisis.assess(text, model_probabilities={"crisis_suicide": strong})
    assert risk.crisis and risk.kind == "suicide"
    assert any("模型" in reason for reason in risk.reasons)


def test_classifier_probability_with_a_weak_cue_escalates(crisis: CrisisLayer) -> None:
    text = "最近真的撑不住了"
    assert not crisis.assess(text).crisis
    probability = crisis.config.model_with_cue
    assert crisis.assess(text, model_probabilities={"crisis_suicide": probability}).crisis


def test_weak_probability_alone_does_not_escalate(crisis: CrisisLayer) -> None:
    probability = crisis.config.model_with_cue
    assert not crisis.assess(
        "今天天气不错", model_probabilities={"crisis_suicide": probability}
    ).crisis


@pytest.mark.parametrize(
    "text", ["", " ", "\u200b\u200b", "🙂" * 500, "死" * 10_000, "a\x00b", "\U0010ffff不想活了"]
)
def test_odd_and_oversized_input(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert risk.level in RiskLevel


def test_cues_load_from_a_custom_file(tmp_path: Path) -> None:
    cues = tmp_path / "crisis.yml"
    cues.write_text(
        """
version: 99
levels: {low: 1, medium: 2, high: 4, imminent: 7}
history: {weight: 0.5, cap: 2}
model: {medium: 0.9, high: 0.95, with_cue: 0.5}
reported: {factor: 0.3, patterns: [新闻]}
hyperbole: [红包]
families:
  alarm: {kind: suicide, label: 警报}
cues:
  - id: test
    kind: suicide
    family: alarm
    weight: 4
    reason: 测试
    patterns: [蓝色警报]
""",
        encoding="utf-8",
    )
    layer = CrisisLayer(CrisisConfig.load(cues))
    assert layer.config.version == 99
    assert layer.assess("出现蓝色警报").level is RiskLevel.HIGH
    assert layer.assess("我不想活了").level is RiskLevel.NONE


def test_unknown_kind_is_rejected(tmp_path: Path) -> None:
    cues = tmp_path / "crisis.yml"
    text = (Path(__file__).parents[1] / "intents/data/crisis.yml").read_text(encoding="utf-8")
    cues.write_text(text.replace("kind: violence", "kind: weather", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="weather"):
        CrisisConfig.load(cues)


# One message per family, in the forms mothers write: Mandarin, Cantonese, traditional,
# speech-to-text (no punctuation). Each names its family for the worker.
FAMILY_EXAMPLES = [
    ("吃多少片降压药会醒不过来", "lethality_question"),
    ("住几楼跳下去一定会死", "lethality_question"),
    ("要多高的楼才够", "lethality_question"),
    ("医生开的安眠药我一直没吃 都留着", "preparation"),
    ("我一个人上了天台", "preparation"),
    ("前年吞过药 最近又开始有那种念头", "past_attempt"),
    ("熬到孩子生日以后我就不撑了", "dated_hopelessness"),
    ("如果我哪天不在了 孩子就托付给你们照顾", "children_if_gone"),
    ("谢谢你们这段时间的照顾 以后不用再担心我了", "farewell"),
    ("佢飲完酒就摔嘢打人", "drinking_violence"),
    ("他喝了酒回来就动手", "drinking_violence"),
    ("我不敢报警 怕他出来以后报复我", "retaliation_fear"),
    ("我们搬了三次家 他还是找到了", "stalking"),
    ("他说要去孩子学校闹 让我再也见不到孩子", "child_threats"),
    ("刀我已经磨好了 等他回来就动手", "harm_to_others"),
    ("托管班的老师掐我儿子 胳膊上都是印子", "carer_harm_child"),
]


@pytest.mark.parametrize(("text", "family"), FAMILY_EXAMPLES)
def test_warning_sign_families_escalate_and_are_named(
    crisis: CrisisLayer, text: str, family: str
) -> None:
    risk = crisis.assess(text)
    assert risk.crisis, (text, risk)
    label = crisis.config.families[family].label
    assert any(item.name == family for item in risk.evidence if item.source == "cue")
    assert any(reason.startswith(label) for reason in risk.reasons), risk.reasons


@pytest.mark.parametrize(
    "text",
    [
        "我从来没有想过要伤害自己",
        "他没打我 只是吵了几句",
        "以前我想过自杀 现在已经走出来了 现在挺好的",
        "以前觉得活着没意思 找到工作以后 终于熬过来了",
        "以前諗過死 而家好返好多啦",
        "电视剧里女主被老公打得住院了",
    ],
)
def test_negated_resolved_and_fictional_statements_do_not_escalate(
    crisis: CrisisLayer, text: str
) -> None:
    risk = crisis.assess(text)
    assert not risk.crisis, (text, risk)


def test_context_applies_to_its_own_clause_only(crisis: CrisisLayer) -> None:
    # The drama is discounted; her own words after it are not.
    assert not crisis.assess("看了个电视剧 女主跳楼了").crisis
    assert crisis.assess("看了个电视剧 女主跳楼了，我也不想活了").crisis
    # A denial of one thing does not cancel another clause.
    assert crisis.assess("我没想过离婚，但是我真的不想活了").crisis


def test_a_past_attempt_with_the_feeling_back_is_not_resolved(crisis: CrisisLayer) -> None:
    assert crisis.assess("以前自杀过 后来好了 最近那种感觉又回来了").crisis


def test_someone_else_at_risk_is_concern_for_other(crisis: CrisisLayer) -> None:
    risk = crisis.assess("我妹妹说她真的不想活了")
    assert risk.kind == "concern_for_other"
    assert risk.level is RiskLevel.MEDIUM and not risk.crisis
    assert crisis.assess("邻居家的孩子天天被打得住院").kind == "concern_for_other"
    # Her own: a first person in the clause, or her household hurting her.
    assert crisis.assess("他又打我了").kind == "violence"
    assert crisis.assess("我闺蜜说我最好去死 我也不想活了").kind == "suicide"


def test_model_probability_alone_at_a_moderate_level_gives_medium(crisis: CrisisLayer) -> None:
    risk = crisis.assess("嗯", model_probabilities={"crisis_violence": crisis.config.model_medium})
    assert risk.crisis and risk.kind == "violence"
    assert risk.probability == crisis.config.model_medium
    assert [item.source for item in risk.evidence] == ["model"]


def test_a_message_below_every_level_still_shows_what_was_weighed(crisis: CrisisLayer) -> None:
    below = crisis.config.model_medium / 2
    probabilities = {"crisis_suicide": below, "crisis_violence": below / 10}
    risk = crisis.assess("嗯", model_probabilities=probabilities)
    assert risk.level is RiskLevel.NONE and risk.kind is None and not risk.reasons
    assert risk == Risk()  # the evidence is detail, not identity
    shown = {item.name: item.weight for item in risk.evidence if item.source == "model"}
    assert shown == probabilities


def test_every_cue_belongs_to_a_family_of_its_kind(crisis: CrisisLayer) -> None:
    for cue in crisis.config.cues:
        assert cue.family.kind == cue.kind and cue.family.label


# The model's evidence rests on the message's risk words: when each of them is denied, someone
# else's, a death by illness, a story's or an idiom's, the model alone gives at most low.
MODEL_CONTEXT = [
    ("我从来没想过要去死，就是最近心情不好", "negated"),
    ("我不能死，孩子还小", "negated"),
    # Masked as hyperbole is, but a denial, and shown as one (not as an idiom).
    ("我没有想过自杀", "negated"),
    ("放心吧 我不会做傻事的", "negated"),
    ("我家的猫昨天死了，它陪了我十年", "other_person"),
    ("她去年出车祸死了", "other_person"),
    ("老爸死得早 我那时才八岁", "other_person"),
    ("我在想要不要给狗狗安乐死", "other_person"),
    ("电视剧里那个女的被人杀了", "reported"),
    ("这部剧真是不作不死", "figurative"),
    ("上班上得我快累死了", "figurative"),
    ("孩子的奥数题难死了", "figurative"),
]


@pytest.mark.parametrize(("text", "qualifier"), MODEL_CONTEXT)
def test_model_evidence_is_qualified_by_the_context_of_its_risk_words(
    crisis: CrisisLayer, text: str, qualifier: str
) -> None:
    probabilities = {"crisis_suicide": 0.95, "crisis_violence": 0.6}
    risk = crisis.assess(text, model_probabilities=probabilities, ranked_first="suicide")
    assert not risk.crisis, (text, risk)
    assert qualifier in {q.name for q in crisis.signal(text).model_context}


@pytest.mark.parametrize(
    "text",
    [
        "以后孩子就拜托你们了",  # no risk word at all: indirect talk is the model's to weigh
        "他不想让我活，天天打我",  # one risk word stands unqualified
        "有没有不痛的死法",  # 有没有 asks; it does not deny
        "我不想死 但是真的撑不住了 想去死",
        "宝宝 妈妈要是死了你要听外婆的话",  # 妈妈 is how a mother speaks of herself
        "人死了是不是就什么都不知道了",  # 人 in general is often herself
        "每天醒来就想怎么还没死",  # 还没死 wishes, it does not deny
        "要是出个车祸死掉也挺好的",
        "我打算把自己饿死",  # 饿死 of oneself is no hyperbole
        "救命 他要da死我",  # 死我: harm to her
        "佢搶咗我部手機 唔俾我打電話",  # 打电话 is no violence word, so none is qualified
    ],
)
def test_model_evidence_stands_when_a_risk_word_is_unqualified_or_absent(
    crisis: CrisisLayer, text: str
) -> None:
    risk = crisis.assess(text, model_probabilities={"crisis_suicide": 0.6})
    assert risk.crisis, (text, risk)


@pytest.mark.parametrize(
    "text", ["每天醒来第一个念头就是怎么还没死", "为什么我还没死", "为啥我还没死"]
)
def test_a_why_not_yet_question_denies_nothing(crisis: CrisisLayer, text: str) -> None:
    assert crisis.signal(text).model_context == ()


def test_not_dead_yet_said_as_reassurance_is_a_denial(crisis: CrisisLayer) -> None:
    assert "negated" in {q.name for q in crisis.signal("我还没死呢 别担心").model_context}


def test_a_child_hit_by_someone_else_keeps_the_model_evidence(crisis: CrisisLayer) -> None:
    assert not crisis.signal("他每天都打孩子").model_context


def test_someone_elses_child_beaten_stays_a_concern_when_the_model_carries_it(
    crisis: CrisisLayer,
) -> None:
    risk = crisis.assess("邻居家的孩子天天被他爸打", model_probabilities={"crisis_violence": 0.9})
    assert risk.kind == "concern_for_other" and risk.level is RiskLevel.MEDIUM


@pytest.mark.parametrize(
    "text",
    [
        "他喝了酒回来以后就又打我",  # speech-to-text: the subject further from the verb
        "他喝到半夜回来把我从床上拖下来打",
        "继父趁我上班打孩子",
    ],
)
def test_violence_said_at_more_distance_is_found(crisis: CrisisLayer, text: str) -> None:
    assert crisis.assess(text).crisis, text


def test_a_bare_denial_before_a_violence_word_qualifies_the_model(crisis: CrisisLayer) -> None:
    assert crisis.signal("他以前从不打人的").model_context
    assert not crisis.signal("他不打我就骂孩子 还打孩子").model_context


# Farewells (AFSP/WHO "saying goodbye", "putting affairs in order"): finality, someone else to
# look after those she looks after, what to do "after". Mandarin, Cantonese, traditional,
# pinyin and speech-to-text form.
FAREWELLS = [
    "我走了以后你们别哭 好好生活",
    "以后爸妈就交给你了 姐",
    "以後阿媽就靠你照顧了",
    "我走咗之後你哋唔好怪我",
    "下辈子再报答你们的恩情",
    "该安排的事我都安排好了",
    "yi hou ba ma jiu tuo fu gei ni le",
    "嗯就是最后再跟你们说一声谢谢吧",
]
# Giving belongings away (AFSP/WHO; C-SSRS preparatory acts): what, and that she will not need it.
GIVING_AWAY = [
    "我的首饰全部分给侄女了 以后也用不上了",
    "存折里的钱都转给儿子了",
    "我啲衫全部送晒俾人 以後都唔需要",
    "我的衣服都捐出去了 反正以後也穿不著",
    "我的狗就托付给你照顾了",
    "wo de cun kuan dou liu gei nv er le yi hou yong bu zhao le",
]
# What they look like in an ordinary day: a hand-me-down, leaving a group, an errand.
FAREWELL_LOOKALIKES = [
    "这件外套小了 送给你吧 我用不着了",
    "孩子的旧书都送人了 留着也没用",
    "我去外地打工了 孩子麻烦你们照顾",
    "这是最后一个问题 问完就不打扰了",
    "今天先到这里 跟你说声再见",
    "谢谢老师这些年对孩子的照顾",
]


@pytest.mark.parametrize("text", FAREWELLS)
def test_farewells_escalate_and_name_their_family(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "suicide", (text, risk)
    assert any("告别/交代后事" in reason for reason in risk.reasons)


@pytest.mark.parametrize("text", GIVING_AWAY)
def test_giving_belongings_away_escalates_and_names_its_family(
    crisis: CrisisLayer, text: str
) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "suicide", (text, risk)
    assert any("送走财物" in reason for reason in risk.reasons)


@pytest.mark.parametrize("text", FAREWELL_LOOKALIKES)
def test_ordinary_goodbyes_and_hand_me_downs_are_not_crises(crisis: CrisisLayer, text: str) -> None:
    assert not crisis.assess(text).crisis, text


def test_a_polite_farewell_is_low_alone_and_medium_with_the_model(crisis: CrisisLayer) -> None:
    # 以后不会再麻烦你了 also closes an ordinary request: a person sees it once something else
    # (the model, her history) says the same.
    text = "以后就不会再打扰你们了"
    alone = crisis.assess(text)
    assert alone.level is RiskLevel.LOW and not alone.crisis
    assert any("打扰" in reason for reason in alone.reasons)  # her words, not the mask
    with_model = crisis.assess(
        text, model_probabilities={"crisis_suicide": crisis.config.model_with_cue}
    )
    assert with_model.crisis


# Speech-to-text: no punctuation, or only the spaces removed before matching.
UNPUNCTUATED_CONCERN = [
    "她说她不想活了我很担心",
    "我闺蜜说她想跳楼 我好害怕",
    "我同事跟我说她活着没意思我不知道该怎么办",
]


@pytest.mark.parametrize("text", UNPUNCTUATED_CONCERN)
def test_someone_elses_risk_without_punctuation_is_concern(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert risk.kind == "concern_for_other" and not risk.crisis, (text, risk)
    assert risk.level is RiskLevel.MEDIUM


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("他打了我我好害怕", "violence"),  # 我 is who was hit: her own
        ("不想活了我不知道怎么办", "suicide"),  # no one else named
        ("她说我怎么不去死我真的不想活了", "suicide"),
    ],
)
def test_the_writers_own_risk_stays_hers_without_punctuation(
    crisis: CrisisLayer, text: str, kind: str
) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == kind, (text, risk)


def test_the_embedded_models_first_ranking_alone_is_low_and_shown(crisis: CrisisLayer) -> None:
    # Its calibrated probability decides; a ranking below the floor is not dropped in silence.
    floor = crisis.config.model_ranked_first
    assert floor is not None and floor < crisis.config.model_medium
    risk = crisis.assess(
        "嗯", model_probabilities={"crisis_suicide": floor - 0.05}, ranked_first="suicide"
    )
    assert risk.level is RiskLevel.LOW and not risk.crisis
    assert [item.source for item in risk.evidence] == ["model", "intent"]
    assert any("首选" in reason for reason in risk.reasons)
    # From the floor on, ranked first gives medium below model.medium; not ranked, it does not.
    at = crisis.assess("嗯", model_probabilities={"crisis_suicide": floor}, ranked_first="suicide")
    assert at.crisis and at.level is RiskLevel.MEDIUM
    assert not crisis.assess("嗯", model_probabilities={"crisis_suicide": floor}).crisis


def test_a_backends_first_ranking_still_gives_medium(crisis: CrisisLayer) -> None:
    # Rasa's probabilities are nobody's calibrated ones here: its ranking keeps the old rule.
    risk = crisis.assess(
        "嗯", model_probabilities={"crisis_violence": 0.1}, backend_ranked_first="violence"
    )
    assert risk.crisis and risk.kind == "violence" and risk.level is RiskLevel.MEDIUM


# Violence signs in more of the forms mothers write (2026-12-03): drunk then violent said
# other ways, being found wherever she goes, threats through the children, her own plan or
# fear of what she might do, a carer hurting the child; Mandarin, Cantonese, traditional,
# pinyin and speech-to-text. The cues alone (no model) name the family.
VIOLENCE_FORMS = [
    ("他喝得醉醺醺回来见什么砸什么", "drinking_violence"),
    ("老公喝高了就拿皮带抽人", "drinking_violence"),
    ("佢飲大咗返嚟就掟嘢", "drinking_violence"),
    ("ta he zui le jiu na dao zhui wo", "drinking_violence"),
    ("我换了两个城市他还是能查到我在哪", "stalking"),
    ("不管我躲到哪里他都能找过来", "stalking"),
    ("前夫天天在我单位门口转悠", "stalking"),
    ("佢成日跟住我後面 我好驚", "stalking"),
    ("他说我敢离婚就把儿子带走让我再也见不到", "child_threats"),
    ("他放話要把孩子藏起來", "child_threats"),
    ("嗯他说我要是不回去他就去幼儿园把女儿接走", "child_threats"),
    ("我怕我会控制不住掐宝宝", "harm_to_others"),
    ("我一直在琢磨怎么让他去死", "harm_to_others"),
    ("wo xiang na dao kan si ta", "harm_to_others"),
    ("我真係好想斬死佢", "harm_to_others"),
    ("保姆用针扎孩子", "carer_harm_child"),
    ("后妈把女儿一个人锁在厕所里", "carer_harm_child"),
    ("幼稚園老師罰個仔跪", "carer_harm_child"),
    ("我儿子说幼儿园的阿姨打他", "carer_harm_child"),
]


@pytest.mark.parametrize(("text", "family"), VIOLENCE_FORMS)
def test_violence_signs_are_caught_in_more_forms(
    crisis: CrisisLayer, text: str, family: str
) -> None:
    risk = crisis.assess(text)
    assert risk.crisis, (text, risk)
    hits = crisis.signal(text).hits
    assert any(hit.cue.family.id == family and hit.weight > 0 for hit in hits), (text, hits)


@pytest.mark.parametrize(
    "text",
    [
        "他喝了酒回来就打呼噜",
        "老师罚孩子抄写作业",
        "二宝老跟着我 我去哪他就跟到哪",
        "离婚后孩子的抚养权怎么判",
        "保姆给孩子喂了退烧药",
        "我想在他的饭里多加点蔬菜",
    ],
)
def test_ordinary_messages_with_violence_words_name_no_violence_sign(
    crisis: CrisisLayer, text: str
) -> None:
    risk = crisis.assess(text)
    assert not any(item.source == "cue" for item in risk.evidence if item.name != "low_mood")
    assert not risk.crisis, (text, risk)


# The same sign in Mandarin, Cantonese, traditional characters and toneless pinyin: the cues
# name the same families at the same level (issue 17: dialects as first-class input).
PARALLEL_FORMS = [
    ("他又打我", "佢又打我", "他又打我", "ta you da wo"),
    ("他说要杀了我", "佢話要殺咗我", "他說要殺了我", "ta shuo yao sha le wo"),
    ("他不让我出门", "佢唔俾我出街", "他不讓我出門", "ta bu rang wo chu men"),
    ("他把我锁在家里", "佢將我鎖喺屋企", "他把我鎖在家裡", "ta ba wo suo zai jia li"),
    ("他拿刀指着我", "佢揸住把刀指住我", "他拿著刀指著我", "ta na zhe dao zhi zhe wo"),
    ("他掐我脖子", "佢搣我條頸", "他掐我脖子", "ta qia wo bo zi"),
    (
        "他威胁要抢走孩子",
        "佢恐嚇話要搶走個仔",
        "他威脅要搶走孩子",
        "ta wei xie yao qiang zou hai zi",
    ),
    ("我想杀了他", "我想殺咗佢", "我想殺了他", "wo xiang sha le ta"),
    ("我不想活了", "我唔想再生存", "我不想活了", "wo bu xiang huo le"),
    ("我吃了很多安眠药", "我食咗好多安眠藥", "我吃了很多安眠藥", "wo chi le hen duo an mian yao"),
]


@pytest.mark.parametrize("forms", PARALLEL_FORMS)
def test_a_sign_reads_the_same_in_each_written_form(
    crisis: CrisisLayer, forms: tuple[str, ...]
) -> None:
    def reading(text: str) -> tuple[RiskLevel, frozenset[str]]:
        hits = crisis.signal(text).hits
        families = frozenset(hit.cue.family.id for hit in hits if hit.weight > 0)
        return crisis.assess(text).level, families

    mandarin = reading(forms[0])
    assert mandarin[1], forms[0]
    for form in forms[1:]:
        assert reading(form) == mandarin, form


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("邻居掐了我女儿", "child_harm"),
        ("他一进门我就好怕", "conflict"),
        ("我真的很害怕前夫", "conflict"),
    ],
)
def test_a_child_hurt_by_anyone_and_fear_of_him_are_signs(
    crisis: CrisisLayer, text: str, family: str
) -> None:
    hits = crisis.signal(text).hits
    assert any(hit.cue.family.id == family and hit.weight > 0 for hit in hits), (text, hits)


@pytest.mark.parametrize("text", ["我打了我儿子一巴掌 好后悔", "我怕他生病", "我好怕他不要我了"])
def test_her_own_slap_and_worry_for_him_are_not_those_signs(crisis: CrisisLayer, text: str) -> None:
    families = {hit.cue.family.id for hit in crisis.signal(text).hits}
    assert not families & {"child_harm", "conflict"}, (text, families)


def test_fear_of_hurting_his_feelings_is_not_an_urge_to_harm(crisis: CrisisLayer) -> None:
    assert crisis.assess("我怕我会伤害宝宝").crisis
    for text in ("我很怕伤害他", "担心会伤害他们的感情", "怕伤到孩子的心"):
        families = {hit.cue.family.id for hit in crisis.signal(text).hits}
        assert "harm_to_others" not in families, text


# Threats said in idioms (Danger Assessment: threats to harm her or her family), and fear of
# what he does if she reports, leaves or asks for help.
THREATS_AND_RETALIATION = [
    ("他说我要是敢走 就让我好看", "threatened"),
    ("前夫放话说谁帮我他就找谁算账", "threatened"),
    ("佢話我走就對我屋企人唔客氣", "threatened"),
    ("他扬言我要是报警就不放过我们母女", "threatened"),
    ("我怕要是去验伤被他发现 回去又是一顿打", "retaliation_fear"),
    ("报了警又怎样 他关几天出来打得更狠", "retaliation_fear"),
    ("我驚佢知道我搵過社工 會搞我屋企人", "retaliation_fear"),
]
THREAT_LOOKALIKES = [
    "谢谢 不客气",
    "老师说考不好就让你好看",
    "这件事绝对不客气地说 是他的错",
    "我绝不会放过这些骗子",
]


@pytest.mark.parametrize(("text", "family"), THREATS_AND_RETALIATION)
def test_threat_idioms_and_fear_of_retaliation_are_violence(
    crisis: CrisisLayer, text: str, family: str
) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "violence", (text, risk)
    assert any(item.name == family for item in risk.evidence if item.source == "cue")


@pytest.mark.parametrize("text", THREAT_LOOKALIKES)
def test_politeness_and_someone_elses_idioms_are_not_threats(
    crisis: CrisisLayer, text: str
) -> None:
    assert not crisis.assess(text).crisis, text


@pytest.mark.parametrize(
    "text",
    [
        "去年被人从桥上拉下来 这几天又想去了",
        "我自杀过一次没成功 这次不想再被救回来",
        "qu nian wo tiao guo he bei ren jiu shang lai zhe ji tian you xiang qu le",
    ],
)
def test_an_attempt_told_as_a_story_with_the_wish_back_is_a_crisis(
    crisis: CrisisLayer, text: str
) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "suicide", (text, risk)
    assert any(item.name == "past_attempt" for item in risk.evidence if item.source == "cue")


@pytest.mark.parametrize(
    "text",
    [
        "被救回来以后 现在有了孩子 挺好的",  # no 以前: the act itself is past
        "前年洗过胃 后来慢慢走出来了",
        "考试试过一次没成功 这次一定行",
    ],
)
def test_a_resolved_attempt_story_does_not_escalate(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert not risk.crisis, (text, risk)


def test_now_with_a_denial_is_not_a_recovery(crisis: CrisisLayer) -> None:
    assert crisis.assess("以前自杀过 现在也不是很好").crisis


@pytest.mark.parametrize(
    "text",
    [
        "我要去一个很远的地方 不会再回来了",
        "妈 这辈子没机会孝顺你了",
        "以后别找我了 就当没有我这个人",
        "老公 以后再找个对你好的人吧",
    ],
)
def test_finality_in_ordinary_words_is_a_farewell(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "suicide", (text, risk)
    assert any("告别/交代后事" in reason for reason in risk.reasons)


@pytest.mark.parametrize(
    "text", ["我去很远的地方打工 过年就回来", "出差去个很远的地方 下周回来", "再也不去那家店了"]
)
def test_a_trip_is_not_a_farewell(crisis: CrisisLayer, text: str) -> None:
    assert not crisis.assess(text).crisis, text


def test_a_crisis_close_behind_thanks_or_a_goodbye_gives_medium(crisis: CrisisLayer) -> None:
    # A farewell reads as thanks (AFSP "saying goodbye"): the model's second answer tells.
    behind = crisis.config.model_behind_small_talk
    assert behind is not None and behind < crisis.config.model_ranked_first
    text = "谢谢你们 以后大家都好好的"
    risk = crisis.assess(
        text,
        model_probabilities={"crisis_suicide": behind},
        ranked_second="suicide",
        first_intent="thanks",
    )
    assert risk.crisis and risk.level is RiskLevel.MEDIUM and risk.kind == "suicide"
    assert any("道谢" in reason for reason in risk.reasons), risk.reasons
    assert any(item.source == "intent" for item in risk.evidence)


def test_a_crisis_close_behind_distress_gives_medium(crisis: CrisisLayer) -> None:
    # A family the model never saw reads as distress with the crisis second (unseen families).
    behind = crisis.config.model_behind_distress
    assert behind is not None and behind > crisis.config.model_behind_small_talk
    text = "每天都盼着睡过去"
    risk = crisis.assess(
        text,
        model_probabilities={"crisis_suicide": behind},
        ranked_second="suicide",
        first_intent="emotional_distress",
    )
    assert risk.crisis and risk.level is RiskLevel.MEDIUM, risk
    assert any("读作情绪困扰" in reason for reason in risk.reasons), risk.reasons
    below = crisis.assess(
        text,
        model_probabilities={"crisis_suicide": behind - 0.05},
        ranked_second="suicide",
        first_intent="emotional_distress",
    )
    assert not below.crisis, below


@pytest.mark.parametrize(
    ("probability", "second", "first"),
    [
        (0.05, "suicide", "thanks"),  # below the threshold
        (0.2, "suicide", "job_training"),  # behind a service request: the usual thresholds
        (0.2, None, "thanks"),  # not ranked second
    ],
)
def test_behind_small_talk_needs_its_three_conditions(
    crisis: CrisisLayer, probability: float, second: str | None, first: str
) -> None:
    risk = crisis.assess(
        "谢谢你们",
        model_probabilities={"crisis_suicide": probability},
        ranked_second=second,
        first_intent=first,
    )
    assert not risk.crisis, risk


def test_behind_small_talk_is_qualified_like_the_model(crisis: CrisisLayer) -> None:
    # Its words are an idiom: the model's evidence, this one too, gives at most low.
    risk = crisis.assess(
        "谢谢姐妹 笑死我了",
        model_probabilities={"crisis_suicide": 0.3},
        ranked_second="suicide",
        first_intent="thanks",
    )
    assert not risk.crisis and risk.level is RiskLevel.LOW


def test_a_subject_named_before_a_comma_is_who_died(crisis: CrisisLayer) -> None:
    # Chinese drops the subject the clause before named: her husband died, not she.
    model = {"crisis_suicide": 0.6}
    assert not crisis.assess(
        "俺老公上个月，出车祸死了", model_probabilities=model, ranked_first="suicide"
    ).crisis
    # ...but not someone named as an object, and never a cue of her own.
    assert crisis.assess("借给别人十几万要不回来，死了算了").crisis
    assert crisis.assess("老公出轨了，死了算了").crisis


@pytest.mark.parametrize(
    "text", ["这部剧杀青了 好舍不得", "吃鸡又被人一枪爆头了", "開心到死 抽中咗獎"]
)
def test_idioms_on_risk_words_qualify_the_models_evidence(crisis: CrisisLayer, text: str) -> None:
    model = {"crisis_suicide": 0.6, "crisis_violence": 0.6}
    assert not crisis.assess(text, model_probabilities=model, ranked_first="suicide").crisis, text


def test_a_gun_pointed_at_her_keeps_the_models_evidence(crisis: CrisisLayer) -> None:
    assert crisis.assess("他拿枪指着我", model_probabilities={"crisis_violence": 0.6}).crisis


def test_starving_oneself_is_not_masked_as_hyperbole(crisis: CrisisLayer) -> None:
    assert crisis.assess("已经三天没吃饭了 就想这样饿死算了").crisis
    assert not crisis.assess("饿死了 中午吃啥").crisis


def test_a_completed_suicide_in_the_news_is_reported(crisis: CrisisLayer) -> None:
    model = {"crisis_suicide": 0.5}
    assert not crisis.assess(
        "那个歌手自杀去世了 好难过", model_probabilities=model, ranked_first="suicide"
    ).crisis


def test_a_method_told_with_its_aspect_is_a_means(crisis: CrisisLayer) -> None:
    # 跳过河, 喝过农药: a method told of (C-SSRS), found even with the attempt cues held out.
    without_attempts = CrisisLayer(crisis.config.without_families({"past_attempt"}))
    risk = without_attempts.assess("以前跳過河被人救起來 現在那種感覺又回來了")
    assert risk.crisis and any(item.name == "means" for item in risk.evidence)
    # A prescribed sleeping pill taken as prescribed is not one.
    assert not crisis.assess("今天吃了安眠药睡得很好").crisis


@pytest.mark.parametrize(
    ("first", "farewell"),
    [("thanks", True), ("goodbye", True), ("greet", False), ("request_human", False)],
)
def test_each_intent_a_crisis_hides_behind_escalates_it(
    crisis: CrisisLayer, first: str, farewell: bool
) -> None:
    assert first in crisis.config.small_talk
    risk = crisis.assess(
        "嗯",
        model_probabilities={"crisis_violence": crisis.config.model_behind_small_talk or 0.0},
        ranked_second="violence",
        first_intent=first,
    )
    assert risk.crisis and risk.kind == "violence", risk
    assert any("疑似告别" in reason for reason in risk.reasons) is farewell


# ---- fifth pass (issue 17, unseen families): general forms a family lacked -----------------
# Each new form, with a harmless sentence of the same words it must leave alone. Written for
# these tests, not taken from the family examples or an evaluation set.
@pytest.mark.parametrize(
    ("text", "family", "harmless"),
    [
        # Swallowing pills is a method named (C-SSRS); taking one's medicine is not.
        ("去年吞了一把降压药 送去医院才救过来", "means", "药片太大了 我吞不下去 能掰开吃吗"),
        # A baby shaken hard (WHO: abusive head trauma); rocking one to sleep is not.
        ("他嫌宝宝吵 使劲摇晃宝宝 宝宝哭得喘不上气", "child_harm", "我每天晚上都要摇宝宝睡觉 好累"),
        # Beaten, said with 挨; a child scolded at school is not.
        ("我在家里天天挨打 不敢跟别人说", "being_hit", "孩子在学校挨批评了 回来一直哭"),
        # Her fear of a particular harm from him (Danger Assessment); fear of hurting his
        # feelings is not.
        ("我好怕他出狱以后会来报复我们母女", "conflict", "我担心他会伤害孩子的自尊心"),
        ("他一回家我就提心吊胆 怕又要挨打", "conflict", "孩子考试我提心吊胆的 怕又考砸"),
        # His violence expected to grow worse (Danger Assessment); a resolve of his own is not.
        ("我报了警 可他放出来以后肯定会更狠", "conflict", "他说健身以后对自己会更狠"),
        # A death wished on someone, thought out (C-SSRS homicidal ideation).
        ("这几个月我一直在琢磨怎样让那个男人去死", "hostility", "我在想怎么让孩子多吃点饭"),
        # Someone else to bring up her children (putting affairs in order); a day's childcare
        # is not.
        ("姐 以后就拜托你帮我把两个孩子带大", "farewell", "姐 明天帮我看一下孩子 我要加班"),
    ],
)
def test_fifth_pass_forms_escalate_and_their_harmless_twins_do_not(
    crisis: CrisisLayer, text: str, family: str, harmless: str
) -> None:
    risk = crisis.assess(text)
    assert risk.level.rank >= RiskLevel.MEDIUM.rank and risk.crisis, risk
    assert any(item.source == "cue" and item.name == family for item in risk.evidence), risk
    calm = crisis.assess(harmless)
    assert not calm.crisis, calm
    assert not any(item.name == family for item in calm.evidence), calm


def test_the_fear_of_his_harm_counts_without_the_retaliation_family(crisis: CrisisLayer) -> None:
    # Fear of what he will do, said without a threat of his quoted, is found even when the
    # retaliation family's own patterns are held out (leave-one-family-out).
    without = CrisisLayer(crisis.config.without_families({"retaliation_fear"}))
    assert without.assess("我怕离婚以后他会来报复孩子").crisis


def test_a_weak_warning_sign_with_the_model_close_behind_escalates(crisis: CrisisLayer) -> None:
    # A low cue of a warning sign (a place named) and the model at the probability from which
    # its first ranking counts: two weak signs of the same kind together reach a person.
    config = crisis.config
    assert config.model_with_sign == config.model_ranked_first
    assert config.model_with_sign is not None and config.model_with_sign < config.model_with_cue
    text = "一个人在楼顶坐着"
    without = CrisisLayer(config.without_families({"preparation"}))
    assert not without.assess(text).crisis
    at_sign = {"crisis_suicide": config.model_with_sign}
    assert without.assess(text, model_probabilities=at_sign).crisis
    below = config.model_with_sign - 0.01
    assert not without.assess(text, model_probabilities={"crisis_suicide": below}).crisis


def test_a_low_mood_with_the_model_close_behind_does_not(crisis: CrisisLayer) -> None:
    # Low mood (睡不着, 好累) is what ordinary distress says too: it needs model.with_cue.
    config = crisis.config
    assert config.model_with_sign is not None
    text = "一想到欠的钱就头疼 整晚睡不着"
    at_sign = {"crisis_suicide": config.model_with_sign}
    assert not crisis.assess(text, model_probabilities=at_sign).crisis
    assert crisis.assess(text, model_probabilities={"crisis_suicide": config.model_with_cue}).crisis


# --- Fifth pass (2026-12-03): false alarms on talk of death that is no wish, plan or act -------
# Each harmless form with the similar real crisis it must still catch.

_MODEL_ONLY = {"crisis_suicide": 0.6, "crisis_violence": 0.6}


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        # a death dreamt; a suicide dreamt or a wish 做梦都想 stays
        ("奶奶走了以后 我梦到自己也死了", "又梦到自己去自杀了"),
        ("奶奶走了以后 我梦到自己也死了", "我做梦都想死"),
        # death as everyone's fate; her own or a curse stays
        ("人总会死的 早晚的事", "我迟早有一天会死在他手里"),
        ("反正迟早有一天都会死", "你迟早会死"),
        # a stranger's death (a common noun as subject)
        ("新闻里那个男孩惨死 好可怜", "我死了算了"),
    ],
)
def test_dreamt_general_and_strangers_deaths_qualify_the_model(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    assert not crisis.assess(
        harmless, model_probabilities=_MODEL_ONLY, ranked_first="suicide"
    ).crisis
    assert crisis.assess(
        crisis_text, model_probabilities=_MODEL_ONLY, ranked_first="suicide"
    ).crisis


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        ("把孩子的牛奶洒了 我后悔死了", "我后悔得想死"),
        ("委屈得要死 又被婆婆说了", "委屈得想死"),
        ("刚蒸好的馒头 香死了", "活着好累 好想死"),
    ],
)
def test_a_feeling_to_death_is_a_degree(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    assert not crisis.assess(harmless, model_probabilities=_MODEL_ONLY).crisis
    assert crisis.assess(crisis_text).crisis


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        ("我一天不喝咖啡就活不下去", "我一天都不想过了 活不下去了"),
        ("一刻没有手机就觉得活不下去", "没有你我活不下去"),
    ],
)
def test_living_without_a_habit_is_a_dependency_not_a_crisis(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    assert not crisis.assess(harmless).crisis
    assert crisis.assess(crisis_text).crisis


def test_an_animals_doing_is_not_violence_between_people(crisis: CrisisLayer) -> None:
    harmless = "家里的狗把花瓶打碎了"
    assert not crisis.assess(
        harmless, model_probabilities=_MODEL_ONLY, ranked_first="violence"
    ).crisis
    # ...a person named before the word is his doing, and a cue is never qualified by it.
    assert crisis.assess("狗被他打了", model_probabilities=_MODEL_ONLY).crisis
    assert crisis.assess(
        "他把猫打死了", model_probabilities=_MODEL_ONLY, ranked_first="violence"
    ).crisis


def test_a_favour_for_a_set_time_is_not_a_farewell(crisis: CrisisLayer) -> None:
    model = {"crisis_suicide": 0.35}
    errand = "明天下午我要上班 帮我接一下孩子"
    assert not crisis.assess(errand, model_probabilities=model, ranked_first="suicide").crisis
    # 以后 is the farewell's form; a cue or a risk word is never qualified by the errand.
    for text in (
        "以后孩子帮我照顾一下",
        "明天帮我接一下孩子 以后就拜托你了",
        "明天帮我接一下孩子 我想死",
    ):
        assert crisis.assess(text, model_probabilities=model, ranked_first="suicide").crisis, text


# The false-alarm families on held-back sets, in general forms (fifth pass).


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        ("我没有想不开 你们放心", "我最近总是想不开"),
        ("我不会做傻事的 就是想找人说说", "我真怕自己哪天做傻事"),
    ],
)
def test_a_denied_statement_qualifies_the_model(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    assert not crisis.assess(
        harmless, model_probabilities=_MODEL_ONLY, ranked_first="suicide"
    ).crisis
    assert crisis.assess(crisis_text, model_probabilities=_MODEL_ONLY).crisis


def test_an_urge_told_with_a_denial_of_the_wish_keeps_the_model(crisis: CrisisLayer) -> None:
    assert crisis.assess("我不想伤害自己 可是控制不住", model_probabilities=_MODEL_ONLY).crisis


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        ("那几年真的不想活了 现在有工作了孩子也懂事挺好的", "那几年真的不想活了 现在又开始了"),
        ("前几年想过死 现在已经走出来了", "前几年想过死 这几天又想了"),
        ("去年吃过药被救回来 现在每天都很开心", "去年吃过药被救回来 现在每天都不开心"),
    ],
)
def test_a_past_told_as_over_with_now_in_the_recovery(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    assert not crisis.assess(harmless).crisis
    assert crisis.assess(crisis_text).crisis


def test_a_neighbours_words_are_her_concern_not_her_crisis(crisis: CrisisLayer) -> None:
    risk = crisis.assess("隔壁大姐跟我说她男人拿刀吓唬她")
    assert risk.kind == "concern_for_other" and not risk.crisis
    assert crisis.assess("大姐 他拿刀吓唬我").crisis


# ---- sixth pass (issue 17): an everyday errand at a height or the water, a welcome visit ------
# Each harmless form with the similar sign it must still catch. Written for these tests.
@pytest.mark.parametrize(
    ("harmless", "crisis_text", "family"),
    [
        ("今天太阳好 我在楼顶晒了一下午被子", "我现在在楼顶 一个人 不想下去", "preparation"),
        ("我在河边钓了一下午鱼", "我在河边坐了一下午 不想回家", "preparation"),
        ("我们搬新家了 老同学居然找上门来玩", "我们搬了家 他居然又找上门了", "stalking"),
        ("我们搬新家了 老同学居然找上门来玩", "搬了家 前夫还是找来看望孩子", "stalking"),
    ],
)
def test_an_errand_or_a_welcome_visit_is_no_sign(
    crisis: CrisisLayer, harmless: str, crisis_text: str, family: str
) -> None:
    calm = crisis.assess(harmless)
    assert not calm.crisis, calm
    assert not any(item.name == family for item in calm.evidence), calm
    risk = crisis.assess(crisis_text)
    assert any(item.source == "cue" and item.name == family for item in risk.evidence), risk


@pytest.mark.parametrize(
    ("text", "harmless"),
    [
        # A dose asked by its fatal outcome, with no unit or method word (C-SSRS "method";
        # WHO/AFSP "researching ways to die"); a dose asked for its effect is not.
        ("感冒药吃多少才会醒不过来", "退烧药吃多少才会退烧"),
        ("幾多樓落去先冇知覺", "孩子烧到几度要去医院"),
    ],
)
def test_a_lethality_question_by_its_outcome_alone(
    crisis: CrisisLayer, text: str, harmless: str
) -> None:
    assert_sign_and_its_harmless_twin(crisis, "lethality_question", text, harmless)


@pytest.mark.parametrize(
    ("tired", "giving_up"),
    [
        # Tired and resting is an exhausted mother's everyday word, not hopelessness; tired and
        # giving up (AFSP "feeling trapped", "no reason to live") still is. Written for this test.
        ("今天好累 不想动", "好累 不想再撑了"),
        ("我好累，不想说话", "太累了 真的不想活"),
        ("累了 不想做饭 叫外卖吧", "我好累 不想了"),
    ],
)
def test_tired_and_resting_is_not_giving_up(
    crisis: CrisisLayer, tired: str, giving_up: str
) -> None:
    calm = crisis.assess(tired)
    assert not any(item.name == "hopelessness" for item in calm.evidence), calm
    assert not calm.crisis, calm
    risk = crisis.assess(giving_up)
    assert any(item.name == "hopelessness" for item in risk.evidence), risk


# ---- seventh pass (issue 17): the water's edge as a whole in the means family's low cue -------
# 江边/河边/水库 were there; 海边, 湖边 and an embankment (河堤/江堤/海堤) are the same place in the
# sign's definition (WHO means restriction: access to heights and water). A low cue alone is no
# alarm; with the model at `model.with_sign` it is. Written for these tests.
@pytest.mark.parametrize(
    ("text", "harmless"),
    [
        ("今晚好想一个人去湖边待着", "周末带孩子去湖边喂鸭子"),
        ("又一个人来海边了 看着浪发呆", "今日同個仔去海邊執貝殼"),
        ("在河堤上坐到天黑 还不想回去", "河堤上新修了跑道 我每天早上去跑步"),
    ],
)
def test_the_waters_edge_is_a_means_place(crisis: CrisisLayer, text: str, harmless: str) -> None:
    supported = {"crisis_suicide": crisis.config.model_with_sign or 0.25}
    risk = crisis.assess(text, model_probabilities=supported)
    assert risk.crisis, risk
    assert any(item.source == "cue" and item.name == "means" for item in risk.evidence), risk
    calm = crisis.assess(harmless)
    assert not calm.crisis, calm


@pytest.mark.parametrize(
    ("errand", "place"),
    [
        # A height or the water with a chore or pastime a few words on is no means (WHO means
        # restriction is about access, not laundry); the bare place still is. Written for this test.
        ("要下雨了 我上楼顶收被子", "我老是想去楼顶"),
        ("周末去湖边钓鱼 谁一起", "最近总想去湖边"),
    ],
)
def test_a_chore_at_a_height_or_the_water_is_no_means(
    crisis: CrisisLayer, errand: str, place: str
) -> None:
    calm = crisis.assess(errand)
    assert not any(item.name == "means" for item in calm.evidence), calm
    risk = crisis.assess(place)
    assert any(item.source == "cue" and item.name == "means" for item in risk.evidence), risk


@pytest.mark.parametrize(
    ("text", "harmless"),
    [
        # Death as the only way to be seen or to make others understand (以死明志: a
        # recognition or revenge motive in Chinese crisis-line triage); another's death that
        # taught her something, or a scolding, is not. Written for this test.
        ("只有我死了他们才会后悔", "他死了以后我才知道他对我多好"),
        ("除非我死咗 佢哋先會知錯", "等我死了你就知道了 快去写作业"),
    ],
)
def test_death_as_the_only_way_to_be_understood_is_passive_ideation(
    crisis: CrisisLayer, text: str, harmless: str
) -> None:
    assert_sign_and_its_harmless_twin(crisis, "passive_ideation", text, harmless)


@pytest.mark.parametrize(
    ("hers", "someone_elses"),
    [
        # A person named after a preposition is who she fell out with, was wronged by or was
        # with: the risk is still hers (the C-SSRS asks about the writer; interpersonal loss
        # is a precipitant, not a subject). Someone as the subject is someone else's risk.
        ("跟闺蜜吵翻了 想死", "我闺蜜跟她老公吵翻了 想死"),
        ("被同事冤枉 真的不想活了", "同事被领导冤枉 说不想活了"),
        ("和老公吵完架 活着没意思", "她和老公吵完架 说活着没意思"),
        # WeChat parts clauses with spaces: her reaction after someone's doing is hers; someone
        # named alone, or their saying so, still carries the subject.
        ("闺蜜借钱不还 想死的心都有", "我闺蜜 想死的心都有"),
        ("同事背后说坏话 真的不想活了", "同事跟我说 真的不想活了"),
        ("孩子他爸走了以后 真想一死了之", "她和老公吵架 说想一死了之"),
    ],  # written for this test
)
def test_whose_risk_it_is_follows_the_subject_not_an_object_or_an_earlier_clause(
    crisis: CrisisLayer, hers: str, someone_elses: str
) -> None:
    risk = crisis.assess(hers)
    assert risk.crisis and risk.kind == "suicide", risk
    other = crisis.assess(someone_elses)
    assert not other.crisis and other.kind == CONCERN_FOR_OTHER, other


def test_speech_to_text_spaces_inside_words_part_no_clause(crisis: CrisisLayer) -> None:
    assert not crisis.assess("我 没有 想过 自杀").crisis
    assert crisis.assess("他 不想 活了").kind == CONCERN_FOR_OTHER


# ---- ninth pass (issue 17): a goodbye for a move, a story's place, a recovery said plainly ----


@pytest.mark.parametrize(
    "text",
    [
        "谢谢大家这段时间的照顾 我要搬去外地上班了 以后有空再来看大家",
        "多謝大家照顧，我要返鄉下做嘢，得閒再嚟探大家",
        "感谢姐妹们一直以来的帮助 孩子转学了我们要搬家 以后常联系",
    ],  # written for this test
)
def test_a_goodbye_that_promises_to_come_back_is_not_a_farewell(
    crisis: CrisisLayer, text: str
) -> None:
    # A farewell's mark is finality (AFSP); the model's farewell reading is qualified too.
    risk = crisis.assess(text, model_probabilities={"crisis_suicide": 0.8}, ranked_first="suicide")
    assert not risk.crisis, risk


@pytest.mark.parametrize(
    "text",
    [
        "谢谢你们这段时间的照顾 以后不用再担心我了",
        "以后再也见不到你们了",
        "老公 以后再找个对你好的人吧",  # 再找 is no promise to meet
        "谢谢大家这些年的照顾 下辈子再见",
    ],  # written for this test
)
def test_a_farewell_without_a_return_stays_a_farewell(crisis: CrisisLayer, text: str) -> None:
    assert crisis.assess(text, model_probabilities={"crisis_suicide": 0.3}).crisis, text


def test_a_story_s_cue_words_qualify_the_model_as_its_risk_words_do(crisis: CrisisLayer) -> None:
    # No risk word (死, 跳河...): what the model's evidence rests on is the cues' words, here
    # a place in a news story; her own cue beside it keeps the model whole.
    model = {"crisis_suicide": 0.35}
    story = "新闻里说有个女的在江边被救上来了，好吓人"
    assert not crisis.assess(story, model_probabilities=model).crisis
    assert crisis.assess(story + " 我也经常一个人去江边站很久", model_probabilities=model).crisis


def test_not_wanting_to_live_is_a_risk_word_its_past_qualifies(crisis: CrisisLayer) -> None:
    model = {"crisis_suicide": 0.6}
    recovered = "那段时间我真的想过不活了，多亏你们陪着，现在好多了，谢谢"
    assert not crisis.assess(recovered, model_probabilities=model).crisis
    assert crisis.assess("那段时间想过不活了，最近又开始这样想", model_probabilities=model).crisis


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("一整瓶止痛药吃下去会怎么样", "lethality_question"),
        ("吃一整板的安眠片会不会出事", "lethality_question"),
        ("过完年我就解脱了", "dated_hopelessness"),
        ("等儿子的生日过了我就走", "dated_hopelessness"),
        ("要是我不在这里 女儿交给谁养", "children_if_gone"),
        ("如果我走了 女儿能不能帮她找个好人家", "children_if_gone"),
        ("他知道我现在住哪了", "stalking"),
        ("前夫换了好几个号码给我发短信", "stalking"),
        ("后爸经常打我儿子", "child_harm"),
        ("女儿背上青一块紫一块的", "child_harm"),
        ("安眠药我已经存了快一个月", "preparation"),
        ("这是我最后一次在群里发言了", "farewell"),
        ("他说我报警就放火", "retaliation_fear"),
    ],  # written for this test (ninth pass: forms the model alone had caught)
)
def test_more_general_forms_of_known_signs(crisis: CrisisLayer, text: str, family: str) -> None:
    risk = crisis.assess(text)
    assert family in {item.name for item in risk.evidence if item.source == "cue"}, risk


@pytest.mark.parametrize(
    "text",
    [
        "等孩子开学了我就走 去深圳打工",
        "过完年我就走了去广州上班",
        "孩子吃了一整盒巧克力 会不会长蛀牙",
        "孩子身上长了好多蚊子包",
        "我去年也存了一个月的钱",
    ],  # written for this test
)
def test_their_everyday_twins_are_no_sign(crisis: CrisisLayer, text: str) -> None:
    assert not crisis.assess(text).crisis, text


def test_her_wish_to_do_what_a_story_told_makes_its_words_hers(crisis: CrisisLayer) -> None:
    # Imitation (WHO media guidelines): the story's method is her risk once she says 我也想这样.
    assert crisis.assess("看新闻说有个妈妈带孩子跳河了 我也好想这样").crisis
    assert crisis.assess("看了个电视剧 女主跳楼了，我也想跟她一样").crisis
    assert not crisis.assess("看新闻说有个妈妈带孩子跳河了 好可怜").crisis


@pytest.mark.parametrize(
    "text",
    [
        "我俾老公打到成身瘀",
        "尋晚又畀佢扑咗幾拳",
        "佢箍住我條頸",
        "我成日俾佢鬧俾佢打",
        "佢拉住我啲頭髮撞牆",
    ],  # written for this test: Cantonese passive 俾/畀 and blows
)
def test_cantonese_blows_are_being_hit(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "violence", (text, risk)


def test_a_child_hit_by_a_thing_is_no_harm(crisis: CrisisLayer) -> None:
    assert not crisis.assess("孩子被球打到了头 要不要去医院").crisis
    assert crisis.assess("孩子在学校被同学打了").crisis


def test_a_feeling_denied_leaves_the_model_whole(crisis: CrisisLayer) -> None:
    # 没有痛苦 denies a low-mood word, not the wish to go where there is none.
    model = {"crisis_suicide": 0.6}
    assert crisis.assess("想去一个没有痛苦的地方", model_probabilities=model).crisis


@pytest.mark.parametrize(
    "text",
    ["我的存在本身就是一个错误", "人间已经没有什么值得我留恋的", "是时候跟这个世界说再见了"],
)  # written for this test
def test_no_reason_to_live_and_a_goodbye_to_the_world(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "suicide", (text, risk)


@pytest.mark.parametrize(
    ("text", "harmless"),
    [
        # Forced sex in a wife's words, as the law defines rape (against her will, by force,
        # after a refusal); the same refusal of an errand or a meal is not.
        ("他违背我的意愿跟我发生关系", "他违背我的意愿把房子卖了"),
        ("每次我说不要 他还是强行", "我说不要去 他还是非要拉我去"),
        ("我不愿意 他就硬来", "孩子不肯吃药 我只好强行喂"),
        ("拒绝了好几次 老公还是强行", "我不想走 他还是强行把我拉上车"),
        ("老公硬要跟我同房", "老公硬要我跟他回老家"),
        ("我睡着了他就对我乱来", "我睡着了孩子就在家里乱来"),
    ],
)
def test_forced_sex_said_without_a_sexual_crime_word(
    crisis: CrisisLayer, text: str, harmless: str
) -> None:
    assert_sign_and_its_harmless_twin(crisis, "sexual_violence", text, harmless)


def test_groping_names_whose_harm_it_is(crisis: CrisisLayer) -> None:
    """The worker reads the family: groping her is sexual violence, groping her child a
    child's harm."""
    hers = {item.name for item in crisis.assess("公公总对我动手动脚").evidence}
    assert "sexual_violence" in hers and "child_harm" not in hers
    childs = {item.name for item in crisis.assess("继父老是对我女儿动手动脚").evidence}
    assert "child_harm" in childs


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # Violence done to someone she names, read by the model alone: her concern, told to a
        # worker, not her crisis.
        ("朋友说她老公会打她 我该怎么帮她", CONCERN_FOR_OTHER),
        ("我妹妹被她老公打了", CONCERN_FOR_OTHER),
        ("闺蜜的老公喝多了打她", CONCERN_FOR_OTHER),
        # ...but never when it is done to her or to her child.
        ("我被我朋友的老公打了", "violence"),
        ("我女儿说同学打她", "violence"),
        ("他打她 我好害怕", "violence"),
    ],
)
def test_violence_done_to_someone_she_names(crisis: CrisisLayer, text: str, kind: str) -> None:
    risk = crisis.assess(
        text,
        model_probabilities={"crisis_violence": 0.6, "crisis_suicide": 0.01},
        ranked_first="crisis_violence",
    )
    assert risk.kind == kind and risk.level is RiskLevel.MEDIUM, (text, risk)
    if kind == CONCERN_FOR_OTHER:
        assert not risk.crisis and risk.reasons[0].startswith("他人有风险"), risk


def test_a_friend_introduced_with_ge_is_someone_else(crisis: CrisisLayer) -> None:
    # 我個朋友 (Cantonese and colloquial): the 我 says whose friend, not who is at risk.
    assert crisis.assess("我个朋友说她真的不想活了").kind == CONCERN_FOR_OTHER


@pytest.mark.parametrize(
    "text", ["我家姐話佢想死", "我個friend話佢唔想生存", "隔籬屋個阿姐成日俾老公打"]
)
def test_cantonese_kin_and_friends_are_someone_else(crisis: CrisisLayer, text: str) -> None:
    assert crisis.assess(text).kind == CONCERN_FOR_OTHER, text


def test_a_sister_addressed_is_no_one_else(crisis: CrisisLayer) -> None:
    # 家姐, 阿姐 as she speaks to a worker or a sister: the words after are her own.
    assert crisis.assess("家姐 我真係好想死").kind == "suicide"


# ---- thirteenth pass (issue 17): a third helper's dialect twins — jokes, stories, pasts ------
# Written for these tests; each harmless form beside the crisis it must still catch.
def calm_beside_the_model(
    crisis: CrisisLayer, harmless: str, crisis_text: str, *, ranked_first: str
) -> Risk:
    """``harmless`` stays calm with the model confident and first; ``crisis_text`` escalates
    with the same model evidence. Returns the harmless message's risk."""
    calm = crisis.assess(harmless, model_probabilities=_MODEL_ONLY, ranked_first=ranked_first)
    assert not calm.crisis, calm
    assert crisis.assess(crisis_text, model_probabilities=_MODEL_ONLY).crisis, crisis_text
    return calm


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        # a wish to kill him or her said with a laugh, with or without a degree
        ("女儿把整面墙都画满了 我真的想杀了她啦哈哈哈", "他又打我了 我真的想杀了他"),
        ("气到想把他杀了 xd", "我真想把他杀了 他毁了我一辈子"),
        # a laugh typed as 笑, right after the words; speech-to-text's degree 的
        ("排队排到想死 笑", "累到想死，他还在旁边笑"),
        ("开了三个小时会 无聊的想死", "一个人在家 真的好想死"),
        # a teammate in a game; 猪队友 is also a husband
        ("打游戏那个队友一直送头 气的我想劈了他", "猪队友喝多了又打我"),
    ],
)
def test_a_joke_s_laugh_or_a_game_masks_the_wish(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    calm = crisis.assess(harmless, model_probabilities=_MODEL_ONLY)
    assert not calm.crisis, calm
    assert crisis.assess(crisis_text).crisis, crisis_text


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        ("产后那阵子每天都想消失 后来看了医生 现在好很多了", "产后那阵子每天都想消失 最近又这样了"),
        (
            "去年真的有想过不要活 还好有志愿者陪我 现在有在上班了 谢谢",
            "去年想过不要活，现在上班了，可每天还是不想活",
        ),
        ("旧年试过好想死 而家返咗工喇", "旧年试过好想死 呢排又諗返"),
    ],
)
def test_a_recovery_told_as_better_or_back_at_work(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    assert not crisis.assess(harmless).crisis, harmless
    assert crisis.assess(crisis_text).crisis, crisis_text


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        (
            "我在看一本小说里面那个妈妈被她老公打的住院了看的我好气",
            "我在看一本小说 我老公也天天打我",
        ),
        ("电影里那个妈妈想带着孩子一起走我看哭了", "我想带着孩子一起走"),
        # moved by the story, not driven by it
        ("新闻里那个女的被老公打了 看得我好难受", "看新闻看得我想死"),
        ("女儿问我为什么卡通片里的狗会死", "女儿问我为什么不想活了"),
    ],
)
def test_the_writer_as_a_story_s_audience_is_not_in_it(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    calm_beside_the_model(crisis, harmless, crisis_text, ranked_first="violence")


def test_a_story_s_words_count_once_her_own_keep_every_cue(crisis: CrisisLayer) -> None:
    # 拿刀砍人 is a threat's words and a plan's: told as news, they count once.
    news = crisis.assess("新闻说有人在地铁拿刀砍人 好可怕")
    assert not news.crisis, news
    assert crisis.assess("他拿刀砍人 还说要砍我").level.rank >= RiskLevel.HIGH.rank


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        ("就是我姐夫开车被人撞了一下车屁股人没事车在修", "我姐夫又拿刀吓我"),
        ("隔壁屋陈太个老公跌亲 撞到个头流咗啲血 而家冇事喇", "隔壁屋陈太个老公打我"),
        ("嗯我婆婆天天打麻将输了还挺高兴的", "我婆婆天天打我"),
        ("就是我们单位有个同事辞职了他老公在外地她要跟过去", "我们单位同事都欺负我"),
        # a past told as over by how she is now...
        ("生完孩子那阵子整天想一走了之 现在看了医生好多了", "生完孩子整天想一走了之"),
        # ...but not a bare 都过去了, which a farewell says too
        ("后来慢慢好起来了 那几年真的很难熬", "以前的事都过去了 谢谢大家照顾"),
    ],
)
def test_with_no_risk_word_or_cue_the_whole_message_qualifies_the_model(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    calm = calm_beside_the_model(crisis, harmless, crisis_text, ranked_first="suicide")
    assert calm.level is RiskLevel.LOW, calm
    assert any(item.name == "model_context" for item in calm.evidence), calm


def test_news_of_her_own_child_keeps_the_model(crisis: CrisisLayer) -> None:
    # 我儿子说幼儿园的阿姨打他: her child hurt, whoever tells it.
    risk = crisis.assess("我儿子说幼儿园的阿姨老是掐他", model_probabilities=_MODEL_ONLY)
    assert risk.crisis, risk


def test_the_hand_denied_denies_the_blow(crisis: CrisisLayer) -> None:
    calm = crisis.assess(
        "他从来没动手打过我 就是老吵架 想问离婚手续", model_probabilities=_MODEL_ONLY
    )
    assert not calm.crisis, calm
    assert crisis.assess("他又动手打我了", model_probabilities=_MODEL_ONLY).crisis


def test_sleeping_and_not_waking_said_with_le_and_buyong(crisis: CrisisLayer) -> None:
    risk = crisis.assess("好想瞓咗唔使再醒")
    assert risk.crisis and any(item.name == "passive_ideation" for item in risk.evidence), risk
    assert not crisis.assess("好想睡了 明天不用早起").crisis


def test_a_farewell_after_a_calm_is_said_now(crisis: CrisisLayer) -> None:
    # A sudden calm, then a farewell (AFSP): the recovery closes the past, not what follows it.
    risk = crisis.assess("那阵子好辛苦 现在好多了 以后孩子就拜托你们了")
    farewell = [item for item in risk.evidence if item.name == "farewell"]
    assert risk.crisis and farewell and "已过去" not in farewell[0].label, risk
    assert not crisis.assess("那阵子好辛苦 想过不活了 现在好多了").crisis
    # ...and a feeling said after it, in one space-parted message, is hers now
    assert crisis.assess("去年想过不要活 现在上班了 可每天还是不想活").crisis


@pytest.mark.parametrize(
    ("text", "harmless", "family"),
    [
        ("行緊去河边条桥度，今晚唔返屋企喇", "周末带孩子往海边玩", "preparation"),
        (
            "如果我不在了 那个孩子能不能麻烦你们帮忙找个人带他",
            "如果我不在家 孩子麻烦你帮忙接一下",
            "children_if_gone",
        ),
    ],
)
def test_on_her_way_to_the_water_or_a_favour_for_after_her(
    crisis: CrisisLayer, text: str, harmless: str, family: str
) -> None:
    assert_sign_and_its_harmless_twin(crisis, family, text, harmless)


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        ("返工返到想死咁滞", "我真係好想死"),  # 咁滞: all but, a degree hedged
        ("你想死呀 咁夜先返", "我跟你说我想死"),  # a scolding of someone else
    ],
)
def test_cantonese_hedges_and_scoldings_are_no_wish(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    assert not crisis.assess(harmless).crisis, harmless
    assert crisis.assess(crisis_text).crisis, crisis_text
    assert crisis.assess("我闺蜜说她想死").kind == CONCERN_FOR_OTHER


# ---- fourteenth pass (issue 17): indirect signs and the everyday goodbyes that share words ----


@pytest.mark.parametrize(
    ("harmless", "crisis_text"),
    [
        # a goodbye with its everyday reason named: a move, a new number, a course's end
        (
            "谢谢姐妹们的照顾 我下个月搬去东莞了 大家保重",
            "谢谢姐妹们的照顾 以后不会再麻烦大家了 大家保重",
        ),
        ("我换新手机号了 这个号以后别找了 谢谢大家", "以后你们别找我了 谢谢大家一直以来的照顾"),
        (
            "电商班今天结课了 这是我最后一次在这个群发消息 谢谢老师",
            "这是我最后一次在这个群发消息 谢谢老师",
        ),
        ("多謝大家，我下個禮拜搬去東莞，以後唔會再煩住大家", "多謝大家，以後唔會再煩住大家，保重"),
        # the children's care or things given away for a trip or a move
        ("我下周去广州培训 孩子就拜托妹妹你了", "以后孩子就拜托妹妹你了"),
        ("要搬家了 这只猫没法再养了 你带回去养吧", "我没办法再养它了 这只猫你带回去养吧"),
        # a rest she longs for: to sleep until noon, to vanish for two days
        ("周末真想睡到中午 谁都别叫醒我", "真想就这样睡着 谁都别叫醒我"),
        ("好想消失两天 一个人躺着追剧", "好想就这样消失 谁都找不到我"),
    ],  # written for this test
)
def test_an_everyday_goodbye_or_rest_is_not_a_farewell(
    crisis: CrisisLayer, harmless: str, crisis_text: str
) -> None:
    # The model reads a farewell in both: the reason named qualifies its reading too.
    model = {"crisis_suicide": 0.8}
    calm = crisis.assess(harmless, model_probabilities=model, ranked_first="suicide")
    assert not calm.crisis and any(item.name == "model_context" for item in calm.evidence), calm
    assert crisis.assess(crisis_text, model_probabilities=model).crisis, crisis_text


def test_someone_else_s_move_explains_nothing_of_her_goodbye(crisis: CrisisLayer) -> None:
    model = {"crisis_suicide": 0.8}
    assert crisis.assess("我老公出去打工了 以后孩子就拜托你们了", model_probabilities=model).crisis
    assert not crisis.assess(
        "我出去打工了 过年回来 孩子就拜托你们了", model_probabilities=model
    ).crisis


def test_a_move_says_nothing_of_violence(crisis: CrisisLayer) -> None:
    # Found again after moving is stalking: the goodbye's reason qualifies suicide words only.
    model = {"crisis_violence": 0.8}
    risk = crisis.assess("我换了新号码又搬了家 他还是找上门来了", model_probabilities=model)
    assert risk.crisis and risk.kind == "violence", risk
    quiet = crisis.assess(
        "我换了新号码又搬了家", model_probabilities=model, ranked_first="violence"
    )
    assert quiet.crisis and quiet.kind == "violence", quiet


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("对不起一直是家里的负担 从此以后不会了", "farewell"),
        ("每天早上睁开眼就想 为什么又要过一天", "passive_ideation"),
        ("活着到底有什么意思啊 天天被骂", "passive_ideation"),
        ("我这个人活着没有半点意义", "passive_ideation"),
        ("这个病我不想治了 随它去吧", "passive_ideation"),
        ("要是当初我妈没生我就好了", "passive_ideation"),
        (
            "wo bu xiang zai xing lai le",
            "passive_ideation",
        ),  # 再 decoded 在, as speech-to-text writes it
        ("以后我可能照顾不了儿子了", "children_if_gone"),
        ("要是妈妈不在了 孩子能去哪里啊", "children_if_gone"),
        ("之後囡囡就交俾你喇", "children_if_gone"),
        ("我没办法再照顾它了 这只狗你带走吧", "giving_away"),
        ("这个手镯送你 以后看到它就当是我", "farewell"),
        ("等女儿考完高考 我的任务就完成了", "dated_hopelessness"),
    ],  # written for this test
)
def test_indirect_signs_without_a_method_or_death_word(
    crisis: CrisisLayer, text: str, family: str
) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and any(item.name == family for item in risk.evidence), risk


@pytest.mark.parametrize(
    "text",
    [
        "宝宝怎么又醒了 才睡了半小时",
        "这周的任务完成了 终于可以下班",
        "这件衣服送你 留个纪念",
        "今天真不想再撑着做饭了 点外卖",
        "一世都係咁 冇得翻身",  # hopelessness alone is shown (low), not escalated
        "什么都不会变好的",
        # violence's words in a day's life
        "老公喝了酒就一直唠叨 没有动手 就是烦",
        "想给孩子报个防性侵的安全课",
        "骑车摔了 膝盖瘀青好几天了",
        "戴着口罩去打疫苗 手臂有点肿",
        "孩子一见新老师就哭 刚上幼儿园还不适应",
        "爷爷摸摸孙女的头 夸她考得好",
        "手机被孩子藏起来了 找了半天",
        "老公工资都交给我管",
        "他说要检查孩子的作业",
        "一听到开门的声音 女儿就跑去门口接爸爸",
        "孩子哭起来我就想捂住耳朵",
        "我拒绝了加班 老板说这是我的权利",
        "作业不写完 不然今晚别想吃饭",
        "好想掐她的小脸 太可爱了",
        "他帮我检查手机为什么这么卡",
        "戴着口罩出门 心里好伤心",
    ],  # written for this test
)
def test_their_everyday_twins_stay_below_a_crisis(crisis: CrisisLayer, text: str) -> None:
    assert not crisis.assess(text).crisis, text


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("他说我敢去妇联就要我给他陪葬", "threatened"),
        ("女儿胳膊上有几个圆圆的烫伤 像烟头烫的", "child_harm"),
        ("我刚才把儿子推去撞墙了 我控制不住自己", "child_harm"),
        ("继父趁我不在偷偷进我女儿房间", "child_harm"),
        ("阿爷成日叫个女坐喺佢大髀度 仲摸佢", "carer_harm_child"),
        ("孩子一提到补习老师就浑身发抖", "carer_harm_child"),
        ("每天看着他睡着 我都在想厨房那把菜刀", "harm_to_others"),
        ("他一生气就揪着我头发往墙上撞", "being_hit"),
        ("这几天出门都戴着墨镜 眼睛还肿着", "being_hit"),
        ("粉底擦了三层还是遮不住脖子上的掐痕", "being_hit"),
        ("身份证和银行卡早就被他收起来了", "coercive_control"),
        # said without its usual words (an eighth helper's dev set showed the forms)
        ("他说过 我敢离婚就别想活", "retaliation_fear"),
        ("我都搬到外省了 他还是寄了东西到我新单位", "stalking"),
        ("他每天都要翻看我的聊天记录", "coercive_control"),
        ("他说钱不交给他 不然晚上就别想进门", "threatened"),
        ("他说孩子我这辈子也别想碰", "child_threats"),
        ("一听到钥匙开门的声音 儿子就躲到床底下", "child_harm"),
        ("工人趁我上班将个仔锁喺房度", "carer_harm_child"),
        ("我拒绝了 他说这是做老婆的义务", "sexual_violence"),
        ("还在坐月子 他就硬要", "sexual_violence"),
        ("孩子一直闹 我就想捂住他的嘴", "harm_to_others"),
        ("我怕有一天会把孩子从阳台推下去", "harm_to_others"),
        # fifteenth pass: explained away, images threatened, a refusal overridden
        ("我跟医生说是自己摔的 其实是老公推的", "being_hit"),
        ("他拍了我的照片 威胁要发给我同事", "threatened"),
        ("他非要那个 我说身体不舒服也不行", "sexual_violence"),
        ("保母把孩子锁在房间里一整天", "carer_harm_child"),  # Taiwan's word for a nanny
    ],  # written for this test
)
def test_violence_said_without_its_usual_words(crisis: CrisisLayer, text: str, family: str) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "violence", risk
    assert any(item.name == family for item in risk.evidence), risk


def test_money_kept_from_her_is_shown_not_escalated_alone(crisis: CrisisLayer) -> None:
    # Economic abuse (DASH) is a weak sign alone, as a stingy husband says the same words.
    risk = crisis.assess("买个菜都要跟他报账 一分钱都不给我")
    assert risk.level is RiskLevel.LOW and risk.kind == "violence", risk


# ---- fifteenth pass (issue 17): the border of distress ----


@pytest.mark.parametrize(
    "text",
    [
        "跟同事说是摔的 其实是我自己喝多了",
        "孩子拍了跳舞视频说要发到网上",
        "拍了宝宝的视频 说要发给奶奶看",
        "他非要那个牌子的奶粉 我说贵也不行",
    ],  # written for this test
)
def test_their_twins_name_no_harm(crisis: CrisisLayer, text: str) -> None:
    assert crisis.assess(text).level is RiskLevel.NONE, crisis.assess(text)


@pytest.mark.parametrize(
    ("text", "hopeless"),
    [
        ("这种日子我一天都不想再过了 明天就去跟老板提辞职", False),
        ("撑不下去了 下个月就搬出去分居", False),
        ("这种日子我一天都不想再过了", True),
        ("这种日子一天都不想再过了 也不想去上班", True),  # no plan: only more she will not do
        ("撑不下去了 下辈子我要改变", True),  # a life to come is no way forward
    ],  # written for this test
)
def test_a_way_forward_she_plans_answers_no_way_out(
    crisis: CrisisLayer, text: str, hopeless: bool
) -> None:
    signal = crisis.signal(text)
    hits = [hit for hit in signal.hits if hit.cue.family.hopeless]
    assert hits, text
    assert all((WAY_FORWARD in hit.qualifiers) is not hopeless for hit in hits), hits


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("闹钟响了真不想醒 好想再赖十分钟", True),
        ("不想起 再睡一会儿就好", True),
        ("真不想醒 以后都不想再醒了", False),
    ],  # written for this test
)
def test_a_few_minutes_more_in_bed_is_a_rest_not_a_wish(
    crisis: CrisisLayer, text: str, rest: bool
) -> None:
    assert (REST_WISHED in crisis.signal(text).model_context) is rest, text


@pytest.mark.parametrize(
    "text",
    [
        "他说我要是敢带孩子走 就找到我们一起死",
        "上个月提离婚 他拿着刀说大家一起死",
        "他讲过我走的话 他就抱着孩子从阳台跳下去",
    ],  # written for this test
)
def test_his_threat_of_a_joint_death_is_violence_not_her_wish(
    crisis: CrisisLayer, text: str
) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "violence", risk
    assert any(item.name == "threatened" for item in risk.evidence), risk
    assert not [hit for hit in crisis.signal(text).hits if hit.cue.kind == "suicide"], text


def test_her_own_words_beside_his_threat_keep_theirs(crisis: CrisisLayer) -> None:
    hers = crisis.signal("他说要一起死 我也不想活了")
    assert [hit.matched for hit in hers.hits if hit.cue.kind == "suicide"] == ["不想活了"], hers
    own = crisis.assess("我想带着孩子一起死")
    assert own.crisis and own.kind == "suicide", own


def test_her_other_kind_of_crisis_is_shown_beside_the_first(crisis: CrisisLayer) -> None:
    # A threat and her wish at once (Danger Assessment: her suicidality beside his violence
    # raises the danger): the worker reads both, whichever kind leads.
    risk = crisis.assess("他又打我了 我真的不想活了")
    assert risk.crisis, risk
    families = {item.name for item in risk.evidence if item.source == "cue"}
    assert {"being_hit", "ideation"} <= families, risk
    assert len({reason.split("：")[0] for reason in risk.reasons}) >= 2, risk


@pytest.mark.parametrize("text", ["快让我死吧", "他们又不让我死 逼着我活"])  # written for this test
def test_her_plea_to_be_let_die_is_not_his_violence(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "suicide", risk
    assert not [hit for hit in crisis.signal(text).hits if hit.cue.kind == "violence"], text


# ---- sixteenth pass (issue 17): a laugh typed ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("老公打呼噜震天响 真想拿枕头捂住他😂", "violence"),
        ("要是能感冒请两天假就好了 哈哈想想而已", "suicide"),
        ("儿子把我口红全画墙上了 哈哈哈 他还说是送我的画", "violence"),
    ],  # written for this test
)
def test_a_laugh_marks_the_models_guess_as_play(crisis: CrisisLayer, text: str, kind: str) -> None:
    assert LAUGHED in crisis.signal(text).model_context, text
    model = {f"crisis_{kind}": 0.9}
    risk = crisis.assess(text, model_probabilities=model)
    assert risk.level is RiskLevel.LOW and not risk.crisis, risk
    assert any(item.name == "model_context" for item in risk.evidence), risk


@pytest.mark.parametrize(
    "text",
    ["想死 哈哈", "他昨天又打我了 哈哈 习惯了", "活着真没意思😂"],  # written for this test
)
def test_her_own_words_of_risk_stay_whatever_the_laugh(crisis: CrisisLayer, text: str) -> None:
    assert LAUGHED not in crisis.signal(text).model_context, text
    assert crisis.assess(text).crisis, text


def test_a_bitter_laugh_is_no_joke(crisis: CrisisLayer) -> None:
    # 呵呵 is often bitter: the model's evidence stands.
    text = "他今天又喝多了回来 呵呵"
    assert LAUGHED not in crisis.signal(text).model_context
    assert crisis.assess(text, model_probabilities={"crisis_violence": 0.9}).crisis


# ---- sixteenth pass (issue 17): whose words, part by part --------------------------------------


def assert_hers_or_a_concern(risk: Risk, hers: bool, kind: str | None = None) -> None:
    """Her own crisis (of ``kind`` when given), or someone else's risk told to a worker."""
    if hers:
        assert risk.crisis and kind in (None, risk.kind), risk
    else:
        assert not risk.crisis and risk.kind == CONCERN_FOR_OTHER, risk


def test_a_friends_wish_in_one_part_is_not_hers_in_the_next(crisis: CrisisLayer) -> None:
    # Two WeChat clauses: her friend's wish, then her own danger.
    risk = crisis.assess("我闺蜜说她想跳楼 我老公昨天又打我了")
    assert risk.crisis and risk.kind == "violence", risk
    assert not [reason for reason in risk.reasons if "自杀" in reason], risk


@pytest.mark.parametrize(
    ("text", "hers"),
    [
        ("她说想死，我也是", True),
        ("我闺蜜说她想死 我也想", True),
        ("我妈说她不想活了，其实我也一样", True),
        ("我妈以前自杀过 我现在也有这种想法", True),
        ("看新闻有个妈妈带孩子跳楼 我也想过这样", True),  # a story echoed is hers
        ("她说她想死 其实我比她更想", True),
        ("我朋友話佢唔想生存 其實我都係", True),  # Cantonese 都 is 也
        ("她说想死，我也是吓一跳", False),  # startled, not an echo
        ("她说想死，我好担心", False),
        ("闺蜜说她想死 我老公也是", False),  # his, not hers
    ],  # written for this test
)
def test_her_echo_of_anothers_wish_makes_it_hers(
    crisis: CrisisLayer, text: str, hers: bool
) -> None:
    assert_hers_or_a_concern(crisis.assess(text), hers, kind="suicide")


def test_her_echo_of_violence_done_to_another(crisis: CrisisLayer) -> None:
    model = {"crisis_violence": 0.8}
    other = crisis.assess("同事说她老公打她", model_probabilities=model)
    assert other.kind == CONCERN_FOR_OTHER and not other.crisis, other
    hers = crisis.assess("同事说她老公打她 我也是", model_probabilities=model)
    assert hers.crisis and hers.kind == "violence", hers


def test_her_own_crisis_leads_a_concern_of_the_same_level(crisis: CrisisLayer) -> None:
    # His threat of his own death if she leaves is a danger to her (coercive control); the
    # model says so, the suicide words are his.
    text = "他说我敢走 他就从楼上跳下去"
    assert crisis.assess(text).kind == CONCERN_FOR_OTHER
    risk = crisis.assess(text, model_probabilities={"crisis_violence": 0.99})
    assert risk.crisis and risk.kind == "violence" and risk.level is RiskLevel.MEDIUM, risk


@pytest.mark.parametrize(
    "text",
    [
        "闺蜜被老公打了，我也被老公打了",  # two matches as heavy: hers leads
        "邻居说她老公打她，我老公也打我",  # one match over two clauses holds hers
        "我姐说她老公拿刀吓她 我老公也这样",  # her partner's doing the same: violence only
    ],  # written for this test
)
def test_her_own_words_after_anothers_are_hers(crisis: CrisisLayer, text: str) -> None:
    risk = crisis.assess(text)
    assert risk.crisis and risk.kind == "violence", risk


@pytest.mark.parametrize(
    ("text", "hers"),
    [
        ("我爸又打我妈了", False),
        ("我老豆又打我阿媽", False),
        ("我哥喝醉了又打我嫂子", False),
        ("我姐说她老公拿刀吓她", False),
        ("我爸又打我了", True),
        ("他打我妈也不管我", True),  # 妈 is who goes on, not who is hit
        ("他说我敢报警就杀了我妈", True),  # a threat to her mother is coercion of her
        ("我的衣服跟首饰都送给朋友了", True),  # given to a friend: her farewell sign
    ],  # written for this test
)
def test_a_person_she_names_after_the_act_is_who_it_is_done_to(
    crisis: CrisisLayer, text: str, hers: bool
) -> None:
    assert_hers_or_a_concern(crisis.assess(text), hers)


@pytest.mark.parametrize(
    ("text", "crisis_now"),
    [
        ("以前没想过死 现在天天想", True),
        ("以前没想过自杀 最近老是想", True),
        ("以前没想过死 现在也没有", False),  # now denied too
        ("之前从来没想过死 现在好多了", False),  # now a recovery
        ("我以前没想过死", False),
        ("他以前从不打我 现在天天动手", True),  # a denial inside the cue's words, turned
        ("他从不打我 就是爱喝酒", False),  # 从不: never
        ("我从未想过死", False),
        ("他并未打我", False),
        ("我不曾想过轻生", False),
        ("我未试过想死", False),  # Cantonese 未试过: never
    ],  # written for this test
)
def test_a_denial_of_the_past_turned_by_now_is_the_pasts(
    crisis: CrisisLayer, text: str, crisis_now: bool
) -> None:
    risk = crisis.assess(text, model_probabilities={"crisis_suicide": 0.95})
    assert risk.crisis is crisis_now, risk


@pytest.mark.parametrize(
    ("history", "text", "intent", "farewell"),
    [
        (["我真的不想活了"], "再见了", "goodbye", True),
        (["我真的不想活了", "谢谢"], "大家再见", "goodbye", True),
        (["我真的不想活了"], "谢谢", "thanks", False),  # her answer to Careline's own reply
        (["我真的不想活了"], "好多了 再见", "goodbye", False),  # better now
        (["我以前想过自杀", "现在好多了"], "再见", "goodbye", False),
        (["我真的不想活了"], "明天见", "goodbye", False),  # a return set
        (["今天好累"], "再见", "goodbye", False),  # a feeling, not a sign
        (["我闺蜜说她想死"], "再见", "goodbye", False),  # someone else's
    ],  # written for this test
)
def test_a_goodbye_after_her_own_warning_sign_reads_as_a_farewell(
    crisis: CrisisLayer, history: list[str], text: str, intent: str, farewell: bool
) -> None:
    risk = crisis.assess(text, history, first_intent=intent)
    assert risk.crisis is farewell, risk
    if farewell:
        assert risk.level is RiskLevel.MEDIUM and risk.kind == "suicide", risk
        assert any(item.name == "farewell_after_sign" for item in risk.evidence), risk
        assert any("不想活了" in reason for reason in risk.reasons), risk


@pytest.mark.parametrize(
    ("text", "better"),
    [
        ("我这两天头疼 吃了药好多了", True),
        ("孩子发烧了 吃了药好一点了", True),
        ("药吃了 好多了 再也不用难受了", False),  # finality's words
        ("谢谢你们 我好多了 以后不会再麻烦你们了", False),
        ("你们放心 我没事了", False),  # a farewell's calm says this too
    ],  # written for this test
)
def test_she_says_she_is_better_and_the_model_reads_medicine(
    crisis: CrisisLayer, text: str, better: bool
) -> None:
    assert (BETTER_NOW in crisis.signal(text).model_context) is better, text
    if better:
        assert not crisis.assess(text, model_probabilities={"crisis_suicide": 0.9}).crisis


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("我女儿说她不想活了", RiskLevel.HIGH),  # her own child: the child's level
        ("个仔话佢想死", RiskLevel.HIGH),
        ("我闺蜜说她不想活了", RiskLevel.MEDIUM),  # a friend: a worker looks (P2)
        ("我儿子说活着好累", RiskLevel.MEDIUM),
    ],  # written for this test
)
def test_a_concern_for_her_own_child_carries_the_childs_level(
    crisis: CrisisLayer, text: str, level: RiskLevel
) -> None:
    risk = crisis.assess(text)
    assert risk.kind == CONCERN_FOR_OTHER and not risk.crisis, risk
    assert risk.level is level, risk


@pytest.mark.parametrize(
    ("family", "text", "harmless"),
    [
        ("being_hit", "我身上都是他打的淤青 不敢去上班", "我身上都是蚊子咬的包 痒死了"),
        ("coercive_control", "他把我手机砸了 身份证也收走了", "孩子把我手机摔了 屏幕全碎了"),
        ("threatened", "他逼我把工资全交给他 不给就打", "孩子不听话就打屁股 这样对吗"),
    ],  # written for this test (Danger Assessment: injuries, control, economic abuse)
)
def test_his_marks_her_phone_and_her_wages(
    crisis: CrisisLayer, family: str, text: str, harmless: str
) -> None:
    assert_sign_and_its_harmless_twin(crisis, family, text, harmless)


def test_cut_off_from_everyone_she_has_is_a_sign_of_control(crisis: CrisisLayer) -> None:
    signal = crisis.signal("他不让我跟任何人联系")
    assert any(hit.cue.family.id == "coercive_control" for hit in signal.hits), signal
    assert not crisis.signal("我不让孩子跟陌生人联系").hits


# --- seventeenth pass: forms of known families the cues did not read ---------------------------


@pytest.mark.parametrize(
    ("family", "text", "harmless"),
    [
        # a word between the wish and its words
        ("passive_ideation", "真想就这样彻底消失", "真想让这堆家务彻底消失"),
        ("passive_ideation", "好想从这个世界上消失", "好想从这个群里退出"),
        # doom tied to a date: not a relief's end, not a hyperbole of her own
        ("dated_hopelessness", "房贷月底再还不上 到时候就全完了", "等考完试 到时候一切都结束了"),
        # where she hides, shown to her; his means of knowing where she is
        (
            "stalking",
            "躲到朋友家第三天 他给我发了张这个小区门口的照片",
            "他给我发了张小区门口的照片 说快递放那了",
        ),
        ("stalking", "我换了手机号 可他每次都知我在哪", "我换了手机号 我妈每次都记不住"),
        (
            "stalking",
            "躲回乡下才半个月 村口小卖部门口坐着的就是他",
            "回乡下才半个月 村口坐着的就是我舅",
        ),
        ("coercive_control", "我怀疑我手机被他偷偷装了什么软件", "我手机被孩子装了好多游戏"),
        # her refusal answered with a threat; her refusal ignored and she forced
        ("threatened", "只要我不肯 他就威胁不给孩子生活费", "孩子每次不愿意写作业 我就罚他"),
        ("sexual_violence", "他不管我说不 硬是要我", "他不管我说不 硬是要我去相亲"),
        # smothering is no degree of stuffiness; thrown to the floor; an idiom's threat; locked in
        ("harm_to_others", "我想等他睡着了拿被子闷死他", "屋里没开窗 闷死我了"),
        ("being_hit", "他喝醉了把我往地上摔", "孩子把我往沙发上推 要我陪他玩"),
        ("threatened", "他说我不回去就有我好看", "老师说考不好就有你好看的"),
        ("coercive_control", "他出门前把我们娘俩锁在家里", "我们娘俩在家里包饺子"),
        # pills hoarded by the handful; a poison's dose asked (a medicine's dose is not this)
        ("preparation", "医生开的药我偷偷存了好多粒", "过年前家里囤了好多箱水果"),
        ("lethality_question", "敌敌畏要喝多少", "这瓶感冒药要喝多少"),
        # her own skin bitten or scratched till it bleeds
        ("self_harm", "我又用指甲把手臂抓得全是血", "孩子把我的手咬出血了"),
    ],  # written for this test
)
def test_forms_of_known_families(
    crisis: CrisisLayer, family: str, text: str, harmless: str
) -> None:
    assert_sign_and_its_harmless_twin(crisis, family, text, harmless)


def test_a_reason_she_denies_explains_nothing_of_her_goodbye(crisis: CrisisLayer) -> None:
    model = {"crisis_suicide": 0.8}
    denied = crisis.assess("我想走了 不是去旅游 是不再回来的那种", model_probabilities=model)
    assert denied.crisis, denied
    trip = crisis.assess("我想走了 去旅游 过几天回来", model_probabilities=model)
    assert not trip.crisis, trip


@pytest.mark.parametrize(
    "text",
    [
        "我在江边散步 风好大",  # not 我现在在江边 风很大
        "傍晚带孩子去河边遛弯",
        "在天台晒被子 太阳好大",
    ],  # written for this test
)
def test_an_outing_at_the_water_or_up_high_qualifies_the_model(
    crisis: CrisisLayer, text: str
) -> None:
    model = {"crisis_suicide": 0.8}
    risk = crisis.assess(text, model_probabilities=model, ranked_first="suicide")
    assert not risk.crisis and any(item.name == "model_context" for item in risk.evidence), risk
    # her own words at the same place are still hers
    assert crisis.assess(text + " 真想跳下去", model_probabilities=model).crisis


def test_a_new_job_explains_a_goodbye_to_the_group(crisis: CrisisLayer) -> None:
    model = {"crisis_suicide": 0.8}
    calm = crisis.assess(
        "我换了份新工作 以后群里的活动来不了了 谢谢大家", model_probabilities=model
    )
    assert not calm.crisis, calm


def test_smothering_him_said_with_a_laugh_is_a_joke(crisis: CrisisLayer) -> None:
    model = {"crisis_violence": 0.95}
    joke = crisis.assess("他打呼噜吵死了 真想拿枕头闷死他😂", model_probabilities=model)
    assert not joke.crisis, joke


def test_the_words_a_model_guess_rests_on_are_shown_with_it(crisis: CrisisLayer) -> None:
    risk = crisis.assess(
        "孩子在球场 我在旁边等他",
        model_probabilities={"crisis_violence": 0.9},
        model_words={"crisis_violence": ("他",)}.get,
    )
    assert risk.crisis and risk.reasons == ("模型判断疑似暴力风险（概率 0.90，依据：他）",), risk
    shown = [item for item in risk.evidence if item.source == "model"]
    assert shown and shown[0].matched == "他", risk
    plain = crisis.assess("孩子在球场 我在旁边等他", model_probabilities={"crisis_violence": 0.9})
    assert plain.reasons == ("模型判断疑似暴力风险（概率 0.90）",), plain


@pytest.mark.parametrize(
    ("text", "fear"),
    [
        ("我好怕他 他一喝酒就砸东西", True),
        ("想跟前夫商量抚养费 怕他不高兴", False),  # a worry that he will mind
        ("怕他不同意孩子报这个班", False),
    ],  # written for this test
)
def test_fear_of_him_is_not_a_worry_that_he_will_mind(
    crisis: CrisisLayer, text: str, fear: bool
) -> None:
    families = {hit.cue.family.id for hit in crisis.signal(text).hits}
    assert ("conflict" in families) is fear, families
