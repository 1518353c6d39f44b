"""Whose risk a statement is, and whether it is real, judged on the clause a cue matched in.

A message often mixes clauses: 我以前想过死 现在好多了 (a resolved past), 电视剧里女主跳楼了
我也不想活了 (a drama, then her own words), 我闺蜜说她不想活了 (someone else at risk). Reading
these qualifiers over the whole message would let one clause silence another, so each is
applied only to the clause that holds the risk statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Clause breaks in folded, space-free text.
_BREAK = re.compile(r"[,，。.!！?？;；…~～、\n]+")
# Speech-to-text has no punctuation: 她说她不想活了我很担心 is two clauses, hers and the
# writer's reaction to it. A clause starts where the writer (我/俺) begins to say how she feels
# about it or asks what to do; the reaction words are those of a worried bystander, not of a
# risk statement, so 他打了我我好害怕 still keeps 他打了我 in a clause with the writer in it.
_REACTION = re.compile(
    r"(?<=[\u3400-\u9fff])(?=(我|俺)(心里|真的|是|现在|真是)?"
    r"(很|好|真|非常|特别|挺|都|也|有点|超|太|快)?"
    r"(担心|担忧|害怕|怕|着急|心疼|心慌|慌了|吓坏|不知道|不晓得|唔知|该怎么|应该怎么|怎么办|能做|能帮"
    r"|想帮|想问|要不要(报警|告诉|陪)))"
)
# A denial right before the statement: 没有想过死, 他没打我, 从来不会伤害自己.
_NEGATION_WORDS = (
    r"(没有|没|从没|从来没|从来不|从来都不|从不|从未|并没有|并没|并不|并未|不曾|未曾|未试过|不会|绝不"
    r"|决不|绝对不|不是)"
)
_NEGATION = re.compile(r"(?<!有)" + _NEGATION_WORDS + r"(有)?(想过|想|要|打算|再){0,2}$")
_NEGATION_INSIDE = re.compile(_NEGATION_WORDS)


# 怎么还没死, 为什么我还没…: a why-not-yet question longs for what it names.
_WHY_NOT_YET = re.compile(r"(怎么|为什么|为何|为啥|咋|凭什么)(我|你|他|她)?(还|仍然|仍)$")


def _asks(text: str, denial: re.Match[str]) -> bool:
    """A denial word that asks rather than denies: half of an A-not-A question (会不会, 是不是,
    有没有), or the 没 of a why-not-yet question (怎么还没死)."""
    if denial.group(1) is None:
        return False
    start = denial.start(1)
    a_not_a = start > 0 and text[start - 1] == denial.group(1)[-1]
    return a_not_a or _WHY_NOT_YET.search(text[:start]) is not None


def _denied_before(before: str, negation: re.Pattern[str]) -> bool:
    """Whether ``before`` ends in a denial (``negation``) that is no A-not-A question."""
    found = negation.search(before)
    return found is not None and not _asks(before, found)


# For the words a risk is spoken in (死, 自杀, 打): a wish or an intent denied before them
# (不想死, 不能死, 不会去自杀). Not for cues: 不想活 is the risk itself.
_ANCHOR_NEGATION = re.compile(
    r"(?<![有还])(" + _NEGATION_WORDS[1:-1] + r"|不想|不能|不可以|不要|不愿意?|别|不敢|没必要)"
    r"(有)?(想过|想|要|打算|再|去|会){0,3}$"
)
# A past, told as over: 以前/那时 in the clause, and the message says it has passed.
_PAST = re.compile(
    r"以前|曾经|那时|当时|当年|小时候|年前|去年|前年|那段(时间|日子)|之前|年轻的时候"
    # a span of years told as over (那几年, 前几年, 那些年, 那阵子, 那会儿)
    r"|(那|前)(几|两|三)年|那些年|那阵子?|那会儿?"
    # Cantonese 旧年 (last year), 嗰阵 (folded 那阵: then)
    r"|旧年"
)
_RESOLVED = re.compile(
    r"(现在|如今|目前)(已经|都)?(好了|好多了|好很多|好起来|没事了|挺好|很好|不会了|走出来|过(得|的)(很|挺)?好)"
    r"|(已经|都|早就|早)(走出来|过去|好了|没事)了?|都过去了"
    # a recovery told as won (终于走出来了, 真的熬过来了)
    r"|(终于|真的|总算|慢慢)(走出来|熬过来|挺过来|好起来)了"
    # 现在 with what the recovery rests on between (现在有了孩子 挺好的), never a denial
    # (现在不是很好).
    # (up to 12 characters: speech-to-text runs 现在有工作了孩子也懂事挺好的 together)
    r"|(现在|如今|目前)((?!不|没)[^,，。.!！?？;；]){1,12}(挺好|很好|好多了|好很多|过(得|的)(很|挺)?好|走出来了)"
    # back at work, the life resumed (现在有在上班了, Cantonese 而家返咗工)
    r"|(现在|如今|目前)(已经|也)?(有在|开始|重新|回去)?(上班|工作|返了?工|复工)了"
    r"|后来(慢慢)?(就)?(好了|好起来了|走出来了|挺过来了)"
    # a life told as good again (现在每天都很开心, 现在过得很幸福), never with a denial between
    r"|(现在|如今|目前)((?!不|没)[^,，。.!！?？;；]){0,8}(开心|幸福|快乐|踏实|安稳)"
)
_NOW = ("现在", "如今", "目前", "后来")
# A denial of the past, turned by a clause of now (以前没想过死 现在天天想; 之前从没想过 这阵子
# 老是想): the denial is the past's, and the clause of now, often with its object dropped, is what
# she says. Not when now is denied too (现在也没有) or told as a recovery (现在好多了).
_TURN_NOW = re.compile(
    r"(但是?|可是?|不过|然而)?(现在|如今|最近|这几天|这两天|这阵子|这段时间|后来)"
    r"((?!不|没|别)[^,，。.!！?？;；]){0,10}$"
)
# ...unless the feeling is said to be back: the past attempt is then a warning sign.
_RETURNING = re.compile(r"又(有|开始|来|冒|想)|最近|这几天|这两天|这阵子|回来了")
_FIRST_PERSON = re.compile(r"我|俺|自己")
# The writer as the one who watched or read the story (我在看一本小说, 看得我好气, 我看哭了):
# she is its audience, not in it, so its clause is still the story's.
_AUDIENCE = re.compile(
    r"(我|俺)(昨晚|今晚|刚才|刚|在|正在|最近)?(看|读|听|刷)(了|到|完|着)?"
    # ...moved by it, not driven to anything (看得我想死 stays hers)
    r"|(看|读|听)(得|的)(我|俺)(?=(好|很|真|都|也|直)?(气|哭|难受|心疼|害怕|怕|难过|生气|火大|心酸|揪心))"
    r"|(我|俺)(都)?(看|听)(哭|笑|气|呆|傻|怕)了?"
)
# Her own wish to do what the story told (看新闻说有个妈妈跳河了 我也好想这样): imitation, the risk
# the WHO's media guidelines warn of. The story's words are then hers, not a report.
_IDENTIFIES = re.compile(
    r"(我|俺)(也|都)(好|很|真|真的|特别|有点)?(想|想要|打算|准备)"
    r"(这样|这么做|这样做|跟(她|他|他们|她们)一样|学(她|他)|像(她|他)(那样|一样)|走这条路)"
)
# Another person as the clause's subject. Household members who hurt her (他, 老公, 婆婆) are
# not listed for violence: 他打我 is her crisis; 他不想活了 is someone else's.
_OTHER = (
    r"(朋友|闺蜜|同事|邻居|同学|亲戚|网友|别人|人家|室友|表姐|表妹|堂姐|堂妹|姐姐|妹妹|弟弟|哥哥"
    r"|嫂子|弟媳|大姑子|小姑子|姑姐|阿姨|邻居家|同事家|朋友家"
    # neighbours and acquaintances whose words she passes on (隔壁大姐跟我说她男人…)
    r"|街坊|老乡|工友|病友|对门|隔壁|大姐|大嫂|大妈"
    # her own sister or brother, said bare (我姐, 我哥)
    r"|(?<=[我俺])(姐|妹|哥|弟)"
    # the same in Cantonese, read here rather than folded, so the model's features stay as
    # trained (folding them retrained it, twelfth pass): 阿妹, 家姐, 隔篱, 老友, 我個friend
    r"|阿妹|家姐|阿姐|细佬|隔篱|老友|朋友仔|师奶|friends?)"
)
# Not bare 孩子 or 妈妈: a mother says 妈妈先走了 of herself, and 孩子们 to address them.
_OTHER_SUICIDE = re.compile(
    _OTHER + r"|(?<!我)(他|她|他们|她们)(?!们?的)|(我|俺)(的|家)?(孩子|女儿|儿子|妈|爸|老公)"
)
_OTHER_VIOLENCE = re.compile(_OTHER + r"(家的?)?(孩子|女儿|儿子)?")
# Her own child hurt is her crisis, even when the one who hurts is named in _OTHER (阿姨 as a
# nanny or a kindergarten carer: 我儿子说幼儿园的阿姨打他).
_OWN_CHILD = re.compile(
    r"(我|俺)(的|家)?(孩子|女儿|儿子|宝宝|娃|闺女|小孩)"
    # Cantonese 个女, 个仔: her daughter, her son (not 个女人, 个女仔: a woman, a girl)
    r"|(?<![他她])个(女(?![人仔孩])|仔)|囡囡"
)
# For violence words a bare 不 denies too (他从不打人, 他以前不杀人的): unlike 不想活, 不打 is not
# itself the risk.
# 他从来没动手打过我: the hand denied, and the blow with it.
_VIOLENCE_NEGATION = re.compile(
    f"(?:{_ANCHOR_NEGATION.pattern})|(?:(?<!有)不(会|再|敢)?$)|(?:(?<!有)(没|没有|从没|从来没)(有)?动(过)?手$)"
)
# Whose death a risk word speaks of when no cue does: besides the people above, an animal or a
# relative (它死了, 老爸死得早). Not 人 in general: 人死了是不是就什么都不知道了 is often her
# own. Not bare 妈妈: a mother says 妈妈要是死了 of herself.
_OTHER_SUBJECT = re.compile(
    _OTHER_SUICIDE.pattern
    + r"|它|有人|大家|对方|狗|猫|宠物"
    # A person named by a common noun (某个女孩惨死, 那个老人死了): not the writer, who says 我.
    + r"|女孩|男孩|女生|男生|女人|男人|少年|少女|老人|老太太|老头|某人|某个人"
    + r"|爷爷|奶奶|外公|外婆|姥姥|姥爷|公公|前夫|老公|丈夫|爸|父亲|母亲|老妈|(?<=我)妈"
)
# ...or as the one the death is done to, whoever does it: 给狗狗安乐死, 把他弄死 (for suicide words;
# harm to others has its own cues).
_OTHER_OBJECT = re.compile(r"(给|帮|替|把|让|叫)(" + _OTHER_SUBJECT.pattern + r").{0,4}$")
# 我闺蜜, 我的朋友, 我个朋友 (Cantonese 我個friend): the 我 names whose friend it is, not who is at
# risk.
# 跟我说, 告诉我: the 我 is who heard it.
_POSSESSIVE = re.compile(
    r"(我|俺)(的|家|个)?(的)?(?=" + _OTHER + r"|孩子|女儿|儿子|妈|爸|老公|狗|猫|宠物|姐|妹|哥|弟)"
    r"|(跟|对|和|同|给|向)(我|俺)(说|讲|哭诉|发|打电话)|告诉(了)?(我|俺)"
)


_COMMA_ONLY = re.compile(r"[,，、]+")
# Someone named after a preposition is who she was with, fell out with, was wronged by or did
# it for (跟闺蜜吵翻了 想死, 被同事冤枉 不想活了, 为了孩子): not who the risk is about. Not 把,
# 让 or 叫: 让他去死 is about him. Only a modifier between: in 跟我说她想死, 她 is at risk.
_PREPOSITIONAL_OTHER = re.compile(
    r"(与|跟|和|同|被|对|向|替|帮|给|为了?|因为)(好|最好的|一个|那个|这个|几个|个)?(?:"
    + _OTHER_SUBJECT.pattern
    + ")"
)


def _mask_prepositional_others(text: str) -> str:
    """``text`` with each person after a preposition blanked, at the same length (offsets into
    it stay valid)."""
    return _PREPOSITIONAL_OTHER.sub(lambda found: "·" * len(found.group()), text)


def _other_subject(text: str) -> bool:
    """Someone else, and not the writer, is who ``text`` speaks of (我的老公 is someone else)."""
    return not _FIRST_PERSON.search(_POSSESSIVE.sub("", text)) and bool(
        _OTHER_SUBJECT.search(_mask_prepositional_others(text))
    )


def _opens_with_other(clause: str) -> bool:
    """The clause's subject, in first position, is someone else (俺老公上个月, 我爸爸得了病), not
    someone it names later as an object (借给别人十几万)."""
    own = _POSSESSIVE.sub("", clause)
    return not _FIRST_PERSON.search(own) and bool(_OTHER_SUBJECT.match(own))


def _any_subject(text: str) -> bool:
    return bool(_FIRST_PERSON.search(text) or _OTHER_SUBJECT.search(text))


# A WeChat message parts its clauses with spaces (闺蜜借钱不还 想死的心都有): a cue's own part is
# what says whose risk it is, with the part before only when that part is no more than someone
# named (我闺蜜 想自杀) or ends in their saying so (她跟我说 想死). Speech-to-text puts spaces
# inside words too (不 想 活, 我 没有 想过): only a space between runs of this many characters
# or more parts anything.
SPACE_PARTED_RUN = 3
_NAMED_ONLY = re.compile(
    r"(我|俺)?(的|家)?(那个|一个|有个|这个)?(?:" + _OTHER_SUBJECT.pattern + r")(她|他)?(们)?"
)
_SAYING_AT_END = re.compile(
    r"(说|讲|告诉我|问我|哭诉|留言|发消息|发微信|打电话来)(了|过|着)?(说)?(她|他)?$"
)
# ...or the cue's part opens with the saying, its subject left in the part before (她和老公吵架
# 说不想活了).
_SAYING_AT_START = re.compile(r"(还|又|就|总|老|一直|天天)?(哭着|闹着|嚷着)?(说|讲|喊|嚷)")


# Her echo of what someone else said (她说想死 我也是; 我妈说她不想活了，其实我也一样; 我又何尝
# 不是; Cantonese 我都係, folded 我都是): a clause or WeChat part of its own after another's risk,
# saying it of herself too. The statement is then hers as well as theirs.
_ECHO = re.compile(
    r"(其实|说实话|老实说|唉|哎)?(我|俺)(现在|最近|有时|有时候|其实)?"
    r"((也|都|又何尝不|何尝不)(是|想|一样|这样|这么想|差不多|好不到哪(里)?去|想过(这样|这个)?"
    r"|有(过)?(这种|这样的|一样的|这个)?(想法|念头))|比(她|他)(还|更)(想|严重|难受))"
    r"(啊|呀|吧|了|啦|呢)?"
)
# ...or her partner's doing the same to her (她老公打她 我老公也这样): violence only, since 我老公
# 也是 after another's wish to die is his, not hers.
_PARTNER_ECHO = re.compile(
    r"(我|俺)(家)?(老公|男人|丈夫|前夫|那位|那口子)(现在|最近|有时|有时候)?(也|还不是)"
    r"(是|一样|这样|这么(干|对我)?|差不多|打我|打过我)(啊|呀|吧|了|啦|呢)?"
)


def space_parts(folded: str) -> tuple[int, ...]:
    """Positions, in ``folded`` with its spaces taken out, where a space parted two runs of at
    least ``SPACE_PARTED_RUN`` characters."""
    parts: list[int] = []
    position = 0
    previous = 0
    for run in folded.split(" "):
        if not run:
            continue
        if position and previous >= SPACE_PARTED_RUN and len(run) >= SPACE_PARTED_RUN:
            parts.append(position)
        position += len(run)
        previous = len(run)
    return tuple(parts)


@dataclass(frozen=True)
class Qualifier:
    name: str  # "negated", "resolved_past", "reported", "other_person"
    factor: float  # what the cue's weight is multiplied by
    # The one kind whose model evidence it qualifies (None: any): a goodbye's reason says
    # nothing of violence (我换了电话又搬了家 他还是找到我了 is stalking).
    kind: str | None = None


NEGATED = Qualifier("negated", 0.0)
RESOLVED_PAST = Qualifier("resolved_past", 0.3)
REPORTED = Qualifier("reported", 0.3)
OTHER_PERSON = Qualifier("other_person", 1.0)  # weight kept; the kind becomes concern
FIGURATIVE = Qualifier("figurative", 0.0)  # inside a masked hyperbole or idiom (累死了, 不作不死)
# A farewell's mark is finality (AFSP): one that promises to come back, meet or write again
# (搬去深圳了 以后有空再来看大家) is a goodbye for a move, a job, a trip.
RETURN_PROMISED = Qualifier("return_promised", 0.3, "suicide")
_RETURN_PROMISE = re.compile(
    r"(以后|下次|改天|有空|有时间|得闲|迟些|迟点|回来|过年|放假|到时候?)(我)?(再|会|一定|还会)(回来)?"
    r"((来|回)?(聚|见面?|联系|联络)|(来|回)?(看|探|约)(看)?(你们|大家|你|各位|姐妹们?))"
    r"|(常|多|保持)(联系|联络|来往)|回头见|下次见|有空(再)?聚"
    # a set time to talk again (明天见, 晚点再聊, 周末再说)
    r"|(明天|明早|明晚|晚点|晚些|等下|等会儿?|待会儿?|周末|下周|下礼拜)(再)?(见|聊|说|联系|找你)"
    r"|(下次|下回|改天|回头|有空)(我)?(再)?请(你|你们|大家)?(吃饭|喝茶|饮茶|喝咖啡|吃)"
)
# ...and so is one that names the everyday reason for it: a move, a new number, a job, a
# course's end, a trip, a birth or a check-up (下个月我搬去深圳了; 换新号了 加我新微信; 课程今天
# 结业; 我去外地培训那一周 孩子就拜托你了; 孩子的衣服都小了). A vague 出远门 or 去一个很远的
# 地方 names none.
GOODBYE_EXPLAINED = Qualifier("goodbye_explained", 0.3, "suicide")
_REASON_OF_OTHER = re.compile(
    "(" + _OTHER_SUBJECT.pattern + r")(也|都|又|要|就|已经|刚|出|出去|回)*$"
)
# A reason denied is none (不是去旅行，是以后都不再出现; Cantonese 唔係 folds to 不是).
_REASON_DENIED = re.compile(r"(不是|并不是|并非|又不是|不是说)(要|想|去|为了)?$")
_EVERYDAY_REASON = re.compile(
    r"搬(家|走|去|到|过去|了去|回)|(?<!送)(回|返)(老家|乡下|娘家)|调(到|去|回)(了)?.{0,3}(上班|工作|县|市|省)"
    r"|去(外地|外省|外市|县里|市里|城里)|移民"
    r"|换(了)?(个|部)?(新)?(手机|号|号码|微信|账号|帐号)|新(的)?(手机)?(号码|号|微信|账号)"
    r"|找到(了)?(新)?工作|换(了)?(个|份)?(新)?工作|(开始|回去|重新|要去|去)(上班|返工|工作)|新工作|入职|复工|(工作|事)(已经)?落实"
    r"|(去|在)(外地|城里|广东|深圳|工厂)?打工|转工"
    r"|结业|结课|(课|课程|培训|学习班|这期|这一期)(今天|已经|都)?(就|也)?(结束|上完|完了)|上完(了)?(课|培训)"
    r"|出差|培训|旅游|旅行|探亲|加班|值班|夜班|生二胎|坐月子|产检|复诊|覆诊|体检"
    r"|(衣服|鞋|裤子|玩具|推车|婴儿车|学步车).{0,3}(都|也)?(小了|穿不下|穿不了|玩不了)"
    r"|(开刀|手术|住院).{0,3}(一|两|三|几|十)(天|周|个星期|个礼拜|晚)"
)

# --- Death in a dream, death as everyone's fate (the model's evidence only) -----------------
# A death dreamt (梦见自己死了) or said of everyone (人总会死, 迟早有一天会死) is no wish, plan or
# act of the writer's: the model's evidence on that 死 is qualified. Only the bare death word:
# a suicide in a dream (梦到自杀了, 梦里选择了自杀) keeps its weight (PsyGUARD calls it ideation),
# and cues are never qualified by these.
DREAMT = Qualifier("dream", 1.0)
MORTALITY = Qualifier("mortality", 1.0)
# 做梦都想 is a wish (做梦都想死), not a dream.
_DREAM = re.compile(r"梦见|梦到|梦里|梦中|做梦(?!都|也)|做了(个|一个)?(噩|恶)?梦|噩梦|恶梦")
_MORTALITY = re.compile(
    # people in general (人总会死, 人都要死的), or a time that comes to everyone (迟早有一天会死)
    r"((人|人人|每个人|是人)(都|也|总|终|终究|终归|迟早|早晚)(都|也)?(会|要|难免|免不了|逃不过)?(一)?"
    r"|(迟早|早晚|总有一天|迟早有一天|早晚有一天|终有一天)(都|也)?(会|要)?)$"
)
# ...unless a person is named in the clause: 我迟早会死在他手里, 你迟早会死 (a curse).
_ANY_PERSON = re.compile(r"我|俺|你|您|他|她|自己")
# A favour bounded in time: asked for once (一下, 一趟) with a near, set time (下周, 明天下午,
# 放学), never with 以后 (以后孩子就拜托你了 is the farewell's form).
ERRAND = Qualifier("errand", 1.0)
_ONCE = re.compile(r"(帮|替|给)(我|俺)?.{0,8}(一下|一趟|一会儿?)")
_SET_TIME = re.compile(
    r"今天|今晚|明天|明早|明晚|后天|下周|这周|周末|周[一二三四五六日天]|星期[一二三四五六日天]"
    r"|上午|下午|中午|傍晚|放学|下班|[0-9一二三四五六七八九十两]+点"
)
_FROM_NOW_ON = re.compile(r"以后|往后|今后|将来|从此|一辈子|永远|再也")

# A rest she longs for, bounded: to sleep until a set hour or not wake so early (真希望睡到中午
# 都别醒; 睡下去就不要醒那么早了), to vanish for a weekend. Not a wish never to wake.
REST_WISHED = Qualifier("rest_wished", 1.0, "suicide")
_REST = re.compile(
    r"睡到(中午|下午|晚上|天亮|自然醒|日上三竿|晏昼|[0-9一二三四五六七八九十两]+点)"
    r"|醒(得)?(那么|这么|太|咁)早|睡(个)?(懒觉|够|饱)|(好好|多)睡(上)?(几|一|两)(天|觉|晚)"
    r"|消失(一|几|两|半)(个)?(周末|天|日|小时|会|下|晚|礼拜|星期)"
    # a few minutes more in bed (再赖十分钟, 再瞓多阵): the alarm's, not a wish never to wake
    r"|再(赖|睡|躺|眯)(床)?(个|多)?([0-9一二三四五六七八九十两几半]+(分钟|分|小时|个钟)|一会儿?|一阵|阵)"
)

# A change she plans, named beside "I can't go on like this" (我不能再这样下去了 我要改变; 这种
# 日子不想过了 明天就去跟老板提辞职): a way forward, which hopelessness is the lack of (AFSP).
# Her own plan only (我要, 明天就去), and never a going away (离开, 走) or a life to come (下辈子).
WAY_FORWARD = Qualifier("way_forward", 0.3, "suicide")
_WAY_FORWARD = re.compile(
    r"(?<!下辈子)(?<!下辈子我)(?<!来世)(?<!来世我)(?<![不没别])(要|想|打算|准备|决定|明天就|下个月就|马上就?)(去)?"
    r"[^,，。.!！?？]{0,6}"
    r"(辞职|辞工|换(个|份)?工作|转工|跳槽|离婚|分居|搬出去住|改变|重新找工作|找(份)?工作"
    r"|学(个|门)?(技术|手艺)|考(个)?证|报(个)?(班|课|培训)|找回(我)?自己|出去工作|回去上班)"
)

# --- A laugh typed (the model's evidence only) ---------------------------------------------
# 老公呼噜打得震天响 真想拿枕头捂住他😂, 我要是得个感冒能请两天假 哈哈想想而已: a message with no
# cue, marked as play by a laugh — the mark crisis.yml's hyperbole reads on 气到想杀了他 haha. Her
# own words of risk are cues and stay whatever the laugh (想死 哈哈); only the model's guess from
# everyday words is weighed with it. Not 呵呵, often bitter.
LAUGHED = Qualifier("laughed", 1.0)
_LAUGH = re.compile(r"哈哈|hh+|haha|lol|xd|😂|🤣|😆")


def laughed(text: str) -> bool:
    return bool(_LAUGH.search(text))


# --- An outing at the water or up high (the model's evidence only) --------------------------
# 带孩子去河边遛弯, 在天台晒被子, 去海边捡贝壳: the places the model weighs as a means are the
# outing's, in a message with no cue (crisis.yml's place cues leave these activities out too).
OUTING = Qualifier("outing", 1.0, "suicide")
_OUTING = re.compile(
    r"(楼顶|天台|顶楼|江边|河边|海边|湖边|河堤|江堤|海堤|桥上|桥边|大桥|水库|沙滩)(上|边|那边)?"
    r".{0,6}(散步|遛|跑步|锻炼|钓鱼|烧烤|野餐|放风筝|拍照|看风景|看日出|看日落|看烟花|游泳"
    r"|捡贝壳|执贝壳|玩|晒|晾|收衣服|收被子|乘凉|骑车|露营|划船)"
)


def outing(text: str) -> bool:
    return bool(_OUTING.search(text))


# ...and so does her saying she is better, with no cue and no suicide word (吃了药好多了: the model
# reads 药 there); after a warning sign it keeps a goodbye from reading as a farewell. Not 没事了
# or 放心, which a farewell's calm says too (你们放心 我没事了).
BETTER_NOW = Qualifier("better_now", 1.0)
_FEELING_BETTER = re.compile(r"好多了|好点了|好一点了|好些了|好很多了")


def feeling_better(text: str) -> bool:
    """Better now, with nothing said of 'from now on' (好多了 再也不用难受了 is finality's)."""
    return bool(_FEELING_BETTER.search(text)) and not _FROM_NOW_ON.search(text)


# --- News of someone else, the writer nowhere in it (the model's evidence only) -------------
# 隔壁屋陈太个老公前日跌亲…救护车送咗佢去医院, 我姐夫开车被人撞了一下: a message about another
# person from its first word, with no risk word and no cue. The model has only the story's words
# (血, 医院, 撞) to go on, and they are that person's: its evidence is qualified. Not her own
# child (我儿子说幼儿园的阿姨打他 is her crisis), nor a bare 妈妈 (a mother speaks of herself so),
# nor a husband (老公出去喝酒了 is often the first line of hers).
OTHERS_NEWS = Qualifier("others_news", 1.0)
_FILLER = r"(嗯|呃|额|那个|就是|欸|诶|哎|唉|啊|话说)*"
_KIN = (
    r"(公公|婆婆|家公|家婆|姐夫|妹夫|姑父|姨父|舅舅|舅妈|姑姑|叔叔|伯伯|阿伯|阿婆|阿公|外婆|奶奶"
    r"|爷爷|外公|姥姥|姥爷|表哥|表弟|堂哥|堂弟|侄子|侄女|外甥女?|老爸|老妈)"
)
# A person she names right after an act's words (打我妈, 又打我嫂子, 打我阿媽): the act's object is
# that person, not her. Her own child is hers to protect (打我女儿 stays hers, as child harm).
_PERSON_AFTER_ME = re.compile(
    r"(我|俺)?(的)?(" + _OTHER + r"|妈|爸|姐|妹|哥|弟|阿(妈|爸|嫂|婆|公|嫲|爷)|" + _KIN[1:-1] + r")"
    # ...not the subject of what follows (打我 妈也不管, run together by speech-to-text)
    r"(?!也|都|还|就|却|又|才|不|没|说|看|在|知道)"
)
# ...or one of a place she belongs to (我们单位有个同事, Cantonese 我哋公司: 我们 folded).
_OUR_PLACE = (
    r"((我|俺)们(单位|公司|小区|村|楼|楼下|楼上|班|厂|店|学校|群)"
    r"(里|的)?(有个|有一个|那个|一个|的)?)?"
)
_NEWS_OF_OTHER = re.compile(
    f"{_FILLER}((我|俺)(的|家|个)?({_KIN}|爸爸|妈妈|爸|妈|{_OTHER})|{_OUR_PLACE}({_KIN}|{_OTHER}))"
)

# An animal as the one who does it (猫咪跳下来把杯子打碎了): no violence between people, when no
# person is named before the word (狗被他打了 is his doing; 它 may be a typo of 他, so not it).
ANIMAL = Qualifier("animal", 1.0)
# Violence done to someone else the message names (朋友说她老公会打她, 我妹妹被她老公打了): the
# word's object is her or him, or the named person is who it is done to (被), and the writer is
# not (我被, 打我). Not for a child: her own child hurt is her crisis (_OWN_CHILD). 她老公 is
# another woman's husband, so she is named too.
_NAMED_OTHER = re.compile(_OTHER + r"|(?<![我俺])(她|他)(的)?(老公|丈夫|男人|前夫|男朋友|对象)")
_DONE_TO_THIRD = re.compile(r"(了|过|得)?(她|他)(?!们?的)")
_OTHER_PASSIVE = re.compile(_OTHER + r"((?!我|俺).){0,6}被((?!我|俺).){0,6}$")
_ANIMAL = re.compile(r"猫|狗|宠物|兔子|仓鼠|鹦鹉|小鸟|鸡|鸭|鹅|老鼠")
_PERSON_WORD = re.compile(
    r"我|俺|你|您|他|她|自己|人|孩子|儿子|女儿|宝宝|娃|老公|丈夫|前夫|婆婆|公公|爸|妈|哥|姐|弟|妹"
)
_DEATH_WORD = re.compile(r"死")


def _writer_in(clause: str) -> bool:
    """The writer is in ``clause`` other than as a story's audience."""
    return bool(_FIRST_PERSON.search(_AUDIENCE.sub("", clause)))


def clauses(text: str) -> list[tuple[int, int]]:
    """[start, end) of each clause of ``text``."""
    spans, start = [], 0
    breaks = sorted([*_BREAK.finditer(text), *_REACTION.finditer(text)], key=lambda m: m.start())
    for match in breaks:
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans or [(0, len(text))]


class MessageContext:
    """The qualifiers that hold for a statement at a position of one (folded, compact) text."""

    def __init__(
        self,
        text: str,
        reported: re.Pattern[str],
        space_parted: tuple[int, ...] = (),
        unmasked: str | None = None,
    ) -> None:
        """``reported`` names fiction, news and hearsay (crisis.yml's ``reported`` patterns);
        ``space_parted``: where spaces parted the message (``space_parts``); ``unmasked``: the
        text before hyperbole masking, of the same length (the mask hides 打工, a reason)."""
        self.text = text
        self.unmasked = text if unmasked is None else unmasked
        self.space_parted = space_parted
        self.spans = clauses(text)
        self.resolved = bool(_RESOLVED.search(text)) and not _RETURNING.search(text)
        # A goodbye for a move, a job, a trip: a return promised or her everyday reason named.
        self.goodbye: Qualifier | None = (
            RETURN_PROMISED
            if _RETURN_PROMISE.search(text)
            else GOODBYE_EXPLAINED
            if self._own_reason()
            else None
        )
        self.own_child = bool(_OWN_CHILD.search(text))
        self.way_forward = bool(_WAY_FORWARD.search(self.unmasked))
        # A clause is reported when it names a story, or follows one without speaking of
        # the writer (看了个新闻 有个妈妈跳楼了), but 我也不想活了 after it is her own.
        self.reported: list[bool] = []
        previous = False
        for start, end in self.spans:
            clause = text[start:end]
            here = bool(reported.search(clause)) or (previous and not _writer_in(clause))
            self.reported.append(here)
            previous = here
        if any(self.reported) and _IDENTIFIES.search(text):
            self.reported = [False] * len(self.spans)
        # Clauses and WeChat parts together, as (start, end) pairs.
        bounds = sorted({*space_parted, *(start for start, _ in self.spans), len(text)})
        self.parts = list(zip(bounds, bounds[1:], strict=False))
        parts = [
            (start, text[start:end].strip(",，。.!！?？;；…~～、 ")) for start, end in self.parts
        ]
        self.echoes = [start for start, part in parts if _ECHO.fullmatch(part)]
        self.partner_echoes = [start for start, part in parts if _PARTNER_ECHO.fullmatch(part)]

    def _own_reason(self) -> bool:
        """An everyday reason for leaving that is hers: 老公出去打工了 以后孩子就拜托你们了 names
        his, and explains nothing of her goodbye."""
        for found in _EVERYDAY_REASON.finditer(self.unmasked):
            clause_start = self.spans[self._clause(found.start())][0]
            # who goes is named right before it (我老公出去, 他调到): not a greeting's 大家
            # earlier, nor someone thanked (谢谢她 嗯工作的事已经落实了)
            before = self.unmasked[clause_start : found.start()]
            if not _REASON_OF_OTHER.search(before) and not _REASON_DENIED.search(before):
                return True
        return False

    def rest_wished(self) -> bool:
        return bool(_REST.search(self.text)) and not _FROM_NOW_ON.search(self.text)

    def bounded_errand(self) -> bool:
        """A favour asked once for a set time, with nothing said of 'from now on'."""
        text = self.text
        return bool(_ONCE.search(text) and _SET_TIME.search(text)) and not _FROM_NOW_ON.search(text)

    def _clause(self, position: int) -> int:
        for index, (start, end) in enumerate(self.spans):
            if start <= position < end:
                return index
        return len(self.spans) - 1

    def qualifiers(
        self, start: int, end: int, kind: str, discount: bool, *, past: bool = False
    ) -> tuple[Qualifier, ...]:
        """What qualifies the statement text[start:end] of a cue of ``kind`` (``past``: the
        statement tells of a past act by itself, 救回来, with no marker needed)."""
        index = self._clause(start)
        clause_start, clause_end = self.spans[index]
        before = self.text[clause_start:start]
        found: list[Qualifier] = []
        if _denied_before(before[-8:], _NEGATION) and not self.turned_now(start, end):
            found.append(NEGATED)
        clause = self.text[clause_start:clause_end]
        if (
            self.resolved
            and (past or _PAST.search(clause))
            and not self._after_recovery(clause_start, start)
        ):
            found.append(RESOLVED_PAST)
        # A story's first-person cues (我也不想活了) keep their weight; a clause without the
        # writer in it (女主被老公打) is the story's.
        echoed = self.echoed_after(end, kind)
        if self.reported[index] and (discount or not _writer_in(clause)) and not echoed:
            found.append(REPORTED)
        own_child = kind == "violence" and self.own_child
        whose = self._whose_part(clause_start, start)
        # ...and it ends where the next space-parted part begins: 我闺蜜说她想跳楼 我老公又打我了
        # is her friend's wish and her own danger, two WeChat clauses.
        part_end = min(
            (p for p in self.space_parted if start < p <= clause_end), default=clause_end
        )
        if (
            not own_child
            and not echoed
            and self._about_other(self.text[whose:part_end], start - whose, kind)
        ):
            found.append(OTHER_PERSON)
        return tuple(found)

    def person_after(self, position: int) -> bool:
        """The words that end at ``position`` are done to a person she names right after them
        (打我妈, 又打我嫂子), with no WeChat part between."""
        return position not in self.space_parted and bool(
            _PERSON_AFTER_ME.match(self.text, position)
        )

    def break_inside(self, start: int, end: int) -> int | None:
        """Where a clause or a WeChat part begins inside text[start:end], if one does."""
        return min((a for a, _ in self.parts if start < a < end), default=None)

    def turned_now(self, start: int, end: int) -> bool:
        """The statement text[start:end] is told of the past (以前, in its clause up to its end)
        and a clause or part of now after it turns it (以前没想过死 现在天天想)."""
        clause_start = self.spans[self._clause(start)][0]
        if not _PAST.search(self.text, clause_start, end):
            return False
        return any(
            _TURN_NOW.match(self.text[a:b]) and not _RESOLVED.search(self.text[a:b])
            for a, b in self.parts
            if a >= end
        )

    def echoed_after(self, position: int, kind: str) -> bool:
        """She says it of herself too, after the statement (她说想死 我也是; of violence, 我老公也
        这样)."""
        echoes = self.echoes + (self.partner_echoes if kind == "violence" else [])
        return any(echo >= position for echo in echoes)

    def _whose_part(self, clause_start: int, position: int) -> int:
        """Where the words that say whose the statement at ``position`` is begin: its clause,
        or the clause's last space-parted part before it (with the part before that when it
        only names someone, or when one of the two parts tells of saying it)."""
        parts = [p for p in self.space_parted if clause_start < p <= position]
        if not parts:
            return clause_start
        start = parts[-1]
        previous = parts[-2] if len(parts) > 1 else clause_start
        before = self.text[previous:start]
        if (
            _NAMED_ONLY.fullmatch(before)
            or _SAYING_AT_END.search(before)
            or _SAYING_AT_START.match(self.text, start)
        ):
            return previous
        return start

    def anchor_qualifiers(self, start: int, end: int, kind: str) -> tuple[Qualifier, ...]:
        """What qualifies a risk word text[start:end] (a word the model's evidence rests on):
        the cue qualifiers, a denied wish (不想死, 他从不打人), and for a death, another
        subject before it or another it is done to (他死了, 老爸死得早, 给狗狗安乐死)."""
        found = [
            q
            for q in self.qualifiers(start, end, kind, discount=True)
            # Who is named beside a violence word may be who does it, not who is at risk
            # (女儿在学校被同学打, 阿姨掐的).
            if not (kind == "violence" and q is OTHER_PERSON)
        ]
        clause_start = self.spans[self._clause(start)][0]
        before = self.text[clause_start:start]
        echoed = self.echoed_after(end, kind)
        negation = _ANCHOR_NEGATION if kind == "suicide" else _VIOLENCE_NEGATION
        if (
            NEGATED not in found
            and _denied_before(before[-8:], negation)
            and not self.turned_now(start, end)
        ):
            found.append(NEGATED)
        # The subject is read before the word only: 老爸死得早 我那时才八岁.
        if (
            kind == "suicide"  # 他打孩子 is a child at risk, whoever the subject
            and not echoed
            and not self.text.startswith(("我", "俺"), end)  # 他要弄死我 is a threat to her
            and OTHER_PERSON not in found
            and (
                _OTHER_OBJECT.search(before)
                or _other_subject(before)
                or (not _any_subject(before) and _opens_with_other(self._carried_subject(start)))
            )
        ):
            found.append(OTHER_PERSON)
        if kind == "suicide" and _DEATH_WORD.fullmatch(self.text[start:end]):
            found += self._dream_or_mortality(start)
        if kind == "violence" and _ANIMAL.search(before) and not _PERSON_WORD.search(before):
            found.append(ANIMAL)
        if (
            kind == "violence"
            and OTHER_PERSON not in found
            and not echoed
            and self._done_to_another(start, end)
        ):
            found.append(OTHER_PERSON)
        return tuple(found)

    def _done_to_another(self, start: int, end: int) -> bool:
        """A violence word done to a person the message named before it, not to the writer
        or her child."""
        before = self.text[:start]
        if not _NAMED_OTHER.search(_POSSESSIVE.sub("", before)) or _OWN_CHILD.search(before):
            return False
        return bool(_DONE_TO_THIRD.match(self.text, end) or _OTHER_PASSIVE.search(before[-16:]))

    def _after_recovery(self, clause_start: int, position: int) -> bool:
        """The statement at ``position`` comes after the recovery, with no past marker between:
        said now (那阵子好辛苦 现在好多了 以后孩子就拜托你们了: a calm, then a farewell), not of the
        past the recovery closed."""
        before = self.text[clause_start:position]
        recoveries = list(_RESOLVED.finditer(before))
        return bool(recoveries) and not _PAST.search(before, recoveries[-1].end())

    def recovered_now(self) -> bool:
        """A past told as over by how she is now (那阵子…现在好多了, 后来慢慢好起来了; not a bare
        都过去了, which a farewell says too)."""
        return (
            self.resolved
            and bool(_PAST.search(self.text))
            and any(found.group(0).startswith(_NOW) for found in _RESOLVED.finditer(self.text))
        )

    def news_of_other(self) -> bool:
        """The message tells of someone else from its first word, and the writer is nowhere
        in it (she names them as hers only: 我姐夫)."""
        opener = _NEWS_OF_OTHER.match(self.text)
        if opener is None or self.own_child:
            return False
        return not _FIRST_PERSON.search(_POSSESSIVE.sub("", self.text[opener.end() :]))

    def _dream_or_mortality(self, start: int) -> list[Qualifier]:
        """A bare 死 dreamt (梦见自己也死了) or everyone's (迟早有一天会死; not 我迟早会死)."""
        clause_start, clause_end = self.spans[self._clause(start)]
        before = self.text[clause_start:start]
        if _DREAM.search(before):
            return [DREAMT]
        clause = self.text[clause_start:clause_end]
        if _MORTALITY.search(before) and not _ANY_PERSON.search(clause):
            return [MORTALITY]
        return []

    def _carried_subject(self, position: int) -> str:
        """The clause before the one at ``position`` when only a comma parts them: Chinese
        drops a subject the clause before named (俺老公上个月，出车祸死了)."""
        index = self._clause(position)
        if index == 0:
            return ""
        (start, end), (next_start, _) = self.spans[index - 1], self.spans[index]
        if not _COMMA_ONLY.fullmatch(self.text[end:next_start]):
            return ""
        return self.text[start:end]

    @staticmethod
    def negation_inside(matched: str, pattern: re.Pattern[str]) -> bool:
        """Whether ``matched`` holds a denial its cue does not need: 他没打我 still matches
        being hit once 没 is taken out, while 没法活 does not match without it. Only a denial
        right after the subject counts (药我一直没吃都留着 is preparation, not a denial)."""
        for found in _NEGATION_INSIDE.finditer(matched[:6]):
            if found.start() > 3:
                break
            if _asks(matched, found):
                continue
            if pattern.search(matched[: found.start()] + matched[found.end() :]):
                return True
        return False

    @staticmethod
    def _about_other(clause: str, offset: int, kind: str) -> bool:
        own = _POSSESSIVE.sub("", clause)
        if _FIRST_PERSON.search(own):
            return False
        pattern = _OTHER_SUICIDE if kind == "suicide" else _OTHER_VIOLENCE
        return bool(pattern.search(_mask_prepositional_others(clause)[: max(offset, 0) + 2]))
