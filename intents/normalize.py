"""Text folding before matching and classification.

Mothers write in simplified and traditional characters, full-width punctuation, with
zero-width characters pasted from apps and speech-to-text spacing. Everything downstream
(crisis cues, classifier features, entity parsers) sees one canonical form. ``normalize``
keeps a map back to the original positions so entity spans point into the text as sent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import opencc
from opencc import OpenCC

from intents.pinyin import decode_pinyin


@dataclass(frozen=True)
class Normalized:
    text: str
    # origin[i] is the index in the original text of normalized character i.
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Maps a [start, end) span of the normalized text back to the original text."""
        if start >= end or not self.origin:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def _fold_char(char: str) -> str:
    # NFKC turns full-width letters, digits and punctuation into ASCII; only 1:1 results are
    # taken so positions stay aligned (ligatures and circled numbers keep their form).
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 else char


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str] | None:
    """Every character OpenCC's t2s tables would change; None if the tables are not found.

    Most messages are already simplified, and the pure-Python converter costs ~0.2 ms per
    message, so it only runs on text that contains one of these characters (exact: a phrase
    rule can only apply where one of its changed characters is present)."""
    tables = Path(opencc.__file__).parent / "dictionary"
    changing: set[str] = set()
    try:
        for name in ("TSCharacters.txt", "TSPhrases.txt"):
            for line in (tables / name).read_text(encoding="utf-8").splitlines():
                key, _, values = line.partition("\t")
                for value in values.split():
                    if len(value) != len(key):
                        changing.update(key)
                    else:
                        changing.update(k for k, v in zip(key, value, strict=True) if k != v)
    except OSError:
        return None
    return frozenset(changing)


def _to_simplified(text: str) -> str:
    traditional = _traditional_chars()
    if traditional is not None and traditional.isdisjoint(text):
        return text
    converted = _t2s().convert(text)
    if len(converted) == len(text):
        return converted
    # Phrase conversion changed the length: fall back to characters to keep the offset map.
    return "".join(c if len(s := _t2s().convert(c)) != 1 else s for c in text)


def normalize(text: str) -> Normalized:
    """Traditional → simplified, full-width → half-width, lower-case ASCII, no format
    characters (zero-width spaces/joiners, BOM, bidi marks), whitespace runs → one space."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if unicodedata.category(char) == "Cf":
            continue
        char = _fold_char(char)
        if char.isspace():
            if not chars or chars[-1] == " ":
                continue
            char = " "
        elif char.isascii():
            char = char.lower()
        chars.append(char)
        origin.append(index)
    if chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    return Normalized(_to_simplified("".join(chars)), tuple(origin))


def normalize_text(text: str) -> str:
    return normalize(text).text


# Cantonese written forms → Mandarin, for matching only (results are never shown).
# Longer forms first so 佢哋 becomes 他们, not 他哋.
_CANTONESE: tuple[tuple[str, str], ...] = (
    ("佢哋", "他们"),
    ("我哋", "我们"),
    ("你哋", "你们"),
    ("点解", "为什么"),
    ("点样", "怎么"),
    ("边个", "谁"),
    ("而家", "现在"),
    ("琴日", "昨天"),
    ("听日", "明天"),
    ("今日", "今天"),
    ("冇得", "没得"),
    ("落去", "下去"),
    ("唔使", "不用"),
    ("唔好", "不要"),
    ("著", "着"),
    ("唔该", "谢谢"),
    ("点算", "怎么办"),
    ("系咪", "是不是"),
    ("系唔系", "是不是"),
    ("屋企", "家里"),
    ("成日", "整天"),
    ("日日", "天天"),
    ("喺度", "在这里"),
    ("嗰度", "那里"),
    ("𠮶度", "那里"),
    ("呢度", "这里"),
    ("顶唔顺", "撑不住"),
    ("顶唔住", "撑不住"),
    ("捱唔住", "撑不住"),
    ("打交", "打架"),
    ("走佬", "逃走"),
    ("搞掂", "搞定"),
    ("冇用", "没用"),
    ("唔得", "不行"),
    ("唔通", "难道"),
    ("咪再", "别再"),
    ("几多", "多少"),
    ("边度", "哪里"),
    ("返嚟", "回来"),
    ("郁手", "动手"),
    ("多谢", "谢谢"),
    ("仔女", "孩子"),
    ("老豆", "爸爸"),
    ("唔", "不"),
    ("冇", "没"),
    ("佢", "他"),
    ("係", "是"),
    ("嘅", "的"),
    ("喺", "在"),
    ("咗", "了"),
    ("啲", "些"),
    ("哋", "们"),
    ("乜", "什么"),
    ("咁", "这么"),
    ("嚟", "来"),
    ("睇", "看"),
    ("搵", "找"),
    ("揾", "找"),
    ("畀", "给"),
    ("俾", "给"),
    ("攰", "累"),
    ("嘢", "东西"),
    ("瞓", "睡"),
    ("喇", "了"),
    ("嘞", "了"),
    ("谂", "想"),
    ("諗", "想"),
    ("嗰", "那"),
    ("𠮶", "那"),  # OpenCC's t2s writes 嗰 so
    ("呢个", "这个"),
    ("呢啲", "这些"),
    ("咩", "什么"),
    ("啱啱", "刚刚"),
    ("攞", "拿"),
    ("揸", "拿"),
    ("嬲", "生气"),
    ("劏", "杀"),
    ("嚿", "块"),
    ("咁样", "这样"),
    # Words of violence and fear (issue 17: Cantonese crises caught as often as Mandarin).
    ("喺边", "在哪"),
    ("去边", "去哪"),
    ("嗌交", "吵架"),
    ("出街", "出门"),
    ("搬屋", "搬家"),
    ("新屋", "新家"),
    ("成身", "浑身"),
    ("整亲", "弄伤"),
    ("打亲", "打伤"),
    ("细路", "孩子"),
    ("阿爷", "爷爷"),
    ("阿嫲", "奶奶"),
    ("收埋", "藏起"),
    ("入面", "里面"),
    ("条颈", "脖子"),
    ("个颈", "脖子"),
    ("掟", "扔"),
    ("拎", "拿"),
    ("搣", "掐"),
    ("掴", "扇"),
    # Time words the context rules read (呢排 = 这阵子: a feeling that is back).
    ("呢排", "这阵子"),
    ("近排", "最近"),
    ("呢几日", "这几天"),
    ("呢两日", "这两天"),
    # 啲 after a person is 的 (我啲首饰), elsewhere 些.
    ("我啲", "我的"),
    ("你啲", "你的"),
    ("佢啲", "他的"),
    ("发癫", "发疯"),
    ("凑大", "带大"),
    ("返屋企", "回家"),
    ("返去", "回去"),
    ("挂住", "挂念"),
    ("好返", "好起来"),  # recovered (而家好返好多): what the resolved-past rule reads
    # Taiwan's word for a nanny, which OpenCC's t2s leaves as it is.
    ("保母", "保姆"),
)
_CANTONESE_RE = re.compile(
    "|".join(re.escape(src) for src, _ in sorted(_CANTONESE, key=lambda pair: -len(pair[0])))
)
_CANTONESE_MAP = dict(_CANTONESE)
# 係 is folded to 系 by OpenCC; read it as 是 except in Mandarin words built on 系.
# 仲 is Cantonese 还 (仲要, 仲系) except in 仲裁 and the seasons' 仲夏/仲秋.
_ZHONG_AS_HAI = re.compile(r"仲(?![裁夏秋春冬])")
# 个仔 / 个女 after a person is Cantonese 儿子 / 女儿 (我個仔, 佢個女), not 一个女人.
_GE_CHILD = re.compile(r"(?<=[我你他她们大])个(仔|女)(?![人孩生士性子的])")
_CHILD = {"仔": "儿子", "女": "女儿"}
# 饮 is Cantonese 喝 (饮酒, 饮醉) except in Mandarin words built on it.
_YIN_AS_HE = re.compile(r"(?<![冷热餐])饮(?![料食品用水机])")
# 食 is Cantonese 吃 (食药, 食饭) except in Mandarin words built on it.
_SHI_AS_CHI = re.compile(
    r"(?<![饮伙粮零美素主甜面进节寒挑偏暴绝杂肉])食(?![物品堂材欲谱量指言客疗用盐])"
)
# Cantonese grammar that Mandarin cues are written without. 住 after a verb of holding or
# following is 着 (跟住我, 拿住把刀, 锁住); 紧 after an action verb is the progressive (打紧我,
# 等紧我), not 要紧/抓紧.
_ZHU_AS_ZHE = re.compile(r"(?<=[跟指望锁追等抱揸拿攞捉扯揪掐守箍揿])住")
_JIN_AS_ZHE = re.compile(r"(?<=[打等追骂闹揍跟找搵睇看做吃喝讲说])紧")
# 返 is 回 before a place or a direction (返屋企, 返去, 返工), not in 返回/往返.
_FAN_AS_HUI = re.compile(r"返(?=(去|来|到|家|工|学|乡下|娘家|公司|屋))")
# 落 is 下 before stairs and floors (踢我落楼梯, 行落街).
_LUO_AS_XIA = re.compile(r"落(?=(楼|街|车|床|地))")
# 惊 is 怕 (我好惊佢), but not in 惊喜/吃惊/震惊/惊讶...
_JING_AS_PA = re.compile(r"(?<![吃震受])惊(?![喜讶奇艳叹呼醒动险人魂悚异呆])")
# 虾 (蝦) someone is to bully them; 闹 someone is to scold them; 斩 someone is to chop at them.
_XIA_AS_BULLY = re.compile(r"虾(?=(我|你|他|她|人|孩子|儿子|女儿|个仔|个女))")
_NAO_AS_SCOLD = re.compile(r"闹(?=(我|你|他|她|孩子|儿子|女儿|个仔|个女))")
_ZHAN_AS_KAN = re.compile(r"斩(?=(死|我|你|他|她|人|伤|开|断))")
# 话 after a person or a threat is 说 (佢话要嚟, 恐吓话要), not 电话/说话.
_HUA_AS_SHUO = re.compile(r"(?<=[他她我你们吓胁妈爸])话(?![题费筒术语剧音里中说少多])")
# 个仔/个女 after a verb is 儿子/女儿 (抢个仔, 见个女), not 找个女朋友.
_VERB_CHILD = re.compile(
    r"(?<=[抢见凑带打接送睇看找锡走])个(仔|女)(?![人孩生士性子的儿朋同老医工])"
)
# 𠝹 / 鎅 / 界 (gaai3) is Cantonese 割, to cut: 𠝹手, 界手 (cutting herself). 界 only before a
# hand, a wrist or oneself, or as a verb after 不/又/再/想/要 (唔界唔舒服), so 世界/边界/界定 stay.
_GAAI_AS_GE = re.compile(
    r"[𠝹鎅]|(?<![世边眼外业学各境分交临疆国视政商租地])界(?=[手脉腕脚]|自己|伤|损)"
    r"|(?<=[不又再想要])界(?![定限线面别])"
)
# 喊 is Cantonese 哭, to cry (好想喊, 喊到眼都肿), after a wish, a degree or an aspect; not the
# Mandarin shout (喊人, 喊我, 喊出来, 喊话).
_HAAM_AS_KU = re.compile(
    r"(?<=[想好又成日都就])喊(?![我你他她人话叫出口醒住们])|喊(?=(到|咗|紧|晒|完|嘅))"
)
_XI_AS_SHI = re.compile(r"(?<![关联体派中院世直谱水星父母])系(?![统列数着上好紧鞋带])")


# Read before the word map (it makes 俾 给): 俾/畀 before a doer and a blow is the passive 被
# (我俾老公打, 俾佢扑咗几拳), as Mandarin cues are written.
_HITS = r"(打|踢|扑|㨃|揼|推|掴|扇|闹|斩|箍|掐|搣|拉|扯|锁|困|强奸|非礼|虾|虐)"
_BEI_PASSIVE = re.compile(
    r"[俾畀](?=(佢|佢哋|人|老公|老豆|阿爸|阿妈|家婆|奶奶|爷爷|前夫|男朋友|老细|老板|细佬|大佬)?"
    + _HITS
    + ")"
)
# Blows in Cantonese: 㨃 (a punch), 扑 and 揼 at someone (扑头, 揼我), 箍 round the neck (a choke).
_PUNCH = re.compile(
    r"㨃|(?<![飞反猛])扑(?=(我|你|他|她|佢|头|咗|几|一拳|拳))|揼(?=(我|你|他|她|佢|头|心口))"
)
_CHOKE = re.compile(r"箍(?=(住|着)?(我|你|他|她|佢)?(的|嘅)?(条|个)?(颈|脖子))")


def fold_cantonese(text: str) -> str:
    """Cantonese cue words → Mandarin equivalents (唔→不, 冇→没, 佢→他, 係→是, 嘅→的...)."""
    text = _BEI_PASSIVE.sub("被", text)
    text = _PUNCH.sub("打", text)
    text = _CHOKE.sub("掐", text)
    text = _CANTONESE_RE.sub(lambda m: _CANTONESE_MAP[m.group(0)], text)
    text = _ZHONG_AS_HAI.sub("还", text)
    text = _SHI_AS_CHI.sub("吃", text)
    text = _YIN_AS_HE.sub("喝", text)
    text = _GE_CHILD.sub(lambda m: _CHILD[m.group(1)], text)
    text = _VERB_CHILD.sub(lambda m: _CHILD[m.group(1)], text)
    text = _ZHU_AS_ZHE.sub("着", text)
    text = _JIN_AS_ZHE.sub("着", text)
    text = _FAN_AS_HUI.sub("回", text)
    text = _LUO_AS_XIA.sub("下", text)
    text = _JING_AS_PA.sub("怕", text)
    text = _XIA_AS_BULLY.sub("欺负", text)
    text = _NAO_AS_SCOLD.sub("骂", text)
    text = _ZHAN_AS_KAN.sub("砍", text)
    text = _HUA_AS_SHUO.sub("说", text)
    text = _GAAI_AS_GE.sub("割", text)
    text = _HAAM_AS_KU.sub("哭", text)
    return _XI_AS_SHI.sub("是", text)


# Cache bound: 4,096 entries of at most 1,000 characters (a few MB, whatever is sent).
CACHED_TEXT_CHARS = 1000


def fold_for_matching(text: str) -> str:
    """What crisis cues and classifier features see (cached: both read the same message,
    and history messages come round again)."""
    if len(text) > CACHED_TEXT_CHARS:
        return _fold_for_matching(text)
    return _cached_fold_for_matching(text)


def _fold_for_matching(text: str) -> str:
    return fold_cantonese(decode_pinyin(normalize(text).text))


_cached_fold_for_matching = lru_cache(maxsize=4096)(_fold_for_matching)


def clear_cache() -> None:
    """Forget folded texts (benchmarks measure the uncached cost)."""
    _cached_fold_for_matching.cache_clear()
