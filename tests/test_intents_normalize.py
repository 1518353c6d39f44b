"""Folding before matching: traditional, full-width, zero-width, whitespace, Cantonese."""

from __future__ import annotations

import pytest
from pypinyin import lazy_pinyin

from intents.normalize import fold_cantonese, fold_for_matching, normalize


def test_traditional_becomes_simplified() -> None:
    assert normalize("我真的不想活了，沒有人幫我").text == "我真的不想活了,没有人帮我"


def test_full_width_and_case_are_folded() -> None:
    assert normalize("ＷｅＣｈａｔ　１３８").text == "wechat 138"


def test_zero_width_and_bidi_characters_are_dropped() -> None:
    assert normalize("不\u200b想\u200d活\ufeff了\u202e").text == "不想活了"


def test_whitespace_runs_collapse_and_ends_are_trimmed() -> None:
    assert normalize("  嗯 \t\n 那个   我  ").text == "嗯 那个 我"


def test_offsets_point_into_the_original_text() -> None:
    original = "\u200b明天  下午三點"
    folded = normalize(original)
    start = folded.text.index("下午")
    begin, end = folded.span(start, start + 4)
    assert original[begin:end] == "下午三點"


def test_empty_and_whitespace_only_text() -> None:
    assert normalize("").text == ""
    assert normalize(" \u3000 \u200b").text == ""


def test_cantonese_cue_words_fold_to_mandarin() -> None:
    assert (
        fold_cantonese("我唔想再生存落去，佢又打我，冇人理我")
        == "我不想再生存下去，他又打我，没人理我"
    )
    assert fold_for_matching("我係佢嘅老婆，喺屋企") == "我是他的老婆,在家里"


def test_xi_stays_in_mandarin_words() -> None:
    assert fold_for_matching("我们的关系 联系社工 系统") == "我们的关系 联系社工 系统"


def test_cantonese_grammar_words_fold_to_mandarin() -> None:
    assert fold_for_matching("食幾多粒藥會瞓唔醒") == "吃多少粒药会睡不醒"
    assert fold_for_matching("佢飲醉酒返嚟就郁手") == "他喝醉酒回来就动手"
    assert fold_for_matching("美食 食物 伙食") == "美食 食物 伙食"  # Mandarin words keep 食


def test_more_cantonese_grammar_words_fold_to_mandarin() -> None:
    assert fold_for_matching("我成日諗住死咗就唔使咁攰") == "我整天想住死了就不用这么累"
    folded = fold_for_matching("佢喺屋企飲咗酒就打我，我唔知點算")
    assert folded == "他在家里喝了酒就打我,我不知怎么办"
    assert fold_for_matching("我真係頂唔順喇") == "我真是撑不住了"
    assert fold_for_matching("嗰個男人係咪又嚟搵你") == "那个男人是不是又来找你"


def test_mandarin_words_keep_yin() -> None:
    assert fold_for_matching("饮料 餐饮 饮食") == "饮料 餐饮 饮食"


def test_toneless_pinyin_is_decoded_before_cues_and_model() -> None:
    assert fold_for_matching("wo bu xiang huo le") == "我不想活了"
    assert fold_for_matching("Ta He Jiu Jiu Da Wo") == "他喝酒就打我"
    assert fold_for_matching("bu gan bao jing pa ta bao fu wo") == "不敢报警怕他报复我"


def test_english_and_single_syllables_are_left_as_typed() -> None:
    assert fold_for_matching("hello wechat ok") == "hello wechat ok"
    assert fold_for_matching("谢谢 ok 好的") == "谢谢 ok 好的"
    assert fold_for_matching("ai") == "ai"


def test_cantonese_my_son_and_daughter_fold_but_not_a_woman() -> None:
    assert fold_for_matching("老師打我個仔 佢個女都驚") == "老师打我儿子 他女儿都怕"
    assert fold_for_matching("一個女人帶住個女仔") == "一个女人带住个女仔"


def test_cantonese_verbs_of_violence_and_fear_fold_to_mandarin() -> None:
    assert fold_for_matching("我好驚佢會搵到我") == "我好怕他会找到我"
    assert fold_for_matching("佢飲醉酒就掟嘢") == "他喝醉酒就扔东西"
    assert fold_for_matching("佢成日蝦我 又搣我") == "他整天欺负我 又掐我"
    assert fold_for_matching("佢拎刀指住我") == "他拿刀指着我"
    assert fold_for_matching("我好想斬死佢") == "我好想砍死他"
    assert fold_for_matching("佢鬧我仲踢我落樓梯") == "他骂我还踢我下楼梯"


def test_cantonese_cutting_folds_to_ge_but_world_and_border_stay() -> None:
    assert fold_for_matching("又𠝹手 唔界唔舒服") == "又割手 不割不舒服"
    assert fold_for_matching("我鎅自己 界手") == "我割自己 割手"
    assert fold_for_matching("全世界 边界 眼界 需要界定") == "全世界 边界 眼界 需要界定"


def test_cantonese_passive_and_blows_fold_to_the_mandarin_cues_words() -> None:
    assert fold_for_matching("我俾老公打到成身瘀") == "我被老公打到浑身瘀"
    assert fold_for_matching("琴晚又畀佢扑咗幾拳") == "琴晚又被他打了几拳"
    assert fold_for_matching("佢㨃我 又箍住我條頸") == "他打我 又掐着我脖子"
    # 俾 as to give, and the Mandarin pounce, stay
    assert fold_for_matching("佢俾錢我 孩子扑到我怀里") == "他给钱我 孩子扑到我怀里"


def test_cantonese_crying_folds_to_ku_but_a_shout_stays() -> None:
    assert fold_for_matching("我好想喊 又喊咗成晚 喊到眼都腫") == "我好想哭 又哭了成晚 哭到眼都肿"
    assert fold_for_matching("喊人帮忙 他喊我吃饭 大声喊出来") == "喊人帮忙 他喊我吃饭 大声喊出来"


def test_cantonese_aspect_and_direction_fold_to_mandarin() -> None:
    assert fold_for_matching("佢打緊我") == "他打着我"
    assert fold_for_matching("佢一路跟住我返屋企") == "他一路跟着我回家"
    assert fold_for_matching("佢話要嚟學校搶個仔") == "他说要来学校抢儿子"
    assert fold_for_matching("我搬咗屋佢都知道我喺邊") == "我搬了屋他都知道我在哪"


def test_mandarin_words_keep_the_characters_cantonese_reads_otherwise() -> None:
    mandarin = "好惊喜 很吃惊 要紧 抓紧 记住 往返 返回 说话 电话 闹钟 斩钉截铁 虾仁 找个女朋友"
    mandarin += " 挑食 偏食"
    assert fold_for_matching(mandarin) == mandarin


def test_pinyin_of_violence_words_decodes_to_them() -> None:
    assert fold_for_matching("wo xiang na dao kan si ta") == "我想拿刀砍死他"
    assert fold_for_matching("ta qia wo bo zi") == "他掐我脖子"
    assert fold_for_matching("ta yi he jiu jiu fa jiu feng") == "他一喝酒就发酒疯"
    assert fold_for_matching("hou ma bu gei hai zi chi fan") == "后妈不给孩子吃饭"
    assert fold_for_matching("ta na dao bu zhu le") == "他拿到补助了"  # 拿到, not 拿刀
    assert fold_for_matching("xiao si wo le") == "笑死我了"  # chat hyperbole, not 小厮


def test_cantonese_fear_speech_and_time_words_fold_to_mandarin() -> None:
    # 驚 is 怕 after a person or a degree word; 話 is 说 after a person; 呢排 is 这阵子.
    assert fold_for_matching("我驚佢知道 佢話要搞我屋企人") == "我怕他知道 他说要搞我家里人"
    assert fold_for_matching("以前試過食藥 呢排又諗返") == "以前试过吃药 这阵子又想返"
    assert fold_for_matching("我啲首飾你攞走") == "我的首饰你拿走"
    assert fold_for_matching("佢一飲酒就發癲 掟嘢") == "他一喝酒就发疯 扔东西"
    assert fold_for_matching("而家好返好多") == "现在好起来好多"


def test_mandarin_words_keep_jing_and_hua() -> None:
    assert (
        fold_for_matching("好驚喜 我吃驚了 打電話 佢話題好多")
        == "好惊喜 我吃惊了 打电话 他话题好多"
    )


def test_pinyin_of_a_past_act_and_again_decodes_to_the_sign_words() -> None:
    # 又 (again), not the commoner 有; 割过/跳过 with their aspect.
    assert fold_for_matching("yi qian ge guo shou wan zui jin you kai shi xiang le") == (
        "以前割过手腕最近又开始想了"
    )
    assert fold_for_matching("wo you liang ge hai zi") == "我有两个孩子"


def test_a_laugh_typed_among_pinyin_parts_the_run() -> None:
    assert fold_for_matching("qi de wo xiang sha le ta hhh hai hao") == "气得我想杀了他 hhh 还好"
    assert fold_for_matching("i love you so much lol") == "i love you so much lol"


@pytest.mark.parametrize(
    "word",
    [
        "那阵子",
        "前年",
        "女主",
        "男主",
        "纪录片",
        "短视频",
        "没事了",
        "熬过来",
        "挺过来",
        "闺蜜",
        "队友",
    ],
)
def test_the_words_context_reads_survive_pinyin(word: str) -> None:
    # A past, a story, a recovery, someone else: lost as their commonest homophone.
    assert fold_for_matching(" ".join(lazy_pinyin(word))) == word
