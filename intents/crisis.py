"""The crisis layer: always runs, whatever the classifier says.

Weighted cues from ``data/crisis.yml`` are matched on folded text (simplified, half-width,
Cantonese → Mandarin, no spaces) after masking hyperbole (累死了, 笑死, 想死你们了). Each
kind of crisis (suicide incl. self-harm, violence) gets a score; the level follows from the
thresholds in the file. Recent messages of the same person add to a message that has a signal
of its own, and the embedded classifier's crisis probability can raise the level, so indirect
talk that no cue names is still escalated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from intents import texts
from intents.context import (
    BETTER_NOW,
    ERRAND,
    FIGURATIVE,
    GOODBYE_EXPLAINED,
    LAUGHED,
    NEGATED,
    OTHER_PERSON,
    OTHERS_NEWS,
    OUTING,
    REPORTED,
    RESOLVED_PAST,
    REST_WISHED,
    RETURN_PROMISED,
    WAY_FORWARD,
    MessageContext,
    Qualifier,
    feeling_better,
    laughed,
    outing,
    space_parts,
)
from intents.normalize import CACHED_TEXT_CHARS, fold_for_matching
from intents.result import CONCERN_FOR_OTHER, OWN_KINDS, Evidence, Risk, RiskLevel
from intents.taxonomy import Intent

KINDS = OWN_KINDS
# The qualifiers that tell a sign is not hers now: a story's, a past she is over, a goodbye
# with a return promised or her everyday reason named, no way out said beside a way forward.
_TOLD_OR_OVER = frozenset(
    {REPORTED, RESOLVED_PAST, RETURN_PROMISED, GOODBYE_EXPLAINED, WAY_FORWARD}
)
CRISIS_INTENT = {"suicide": "crisis_suicide", "violence": "crisis_violence"}
DEFAULT_CUES = Path(__file__).parent / "data" / "crisis.yml"
_MAX_REASONS = 6


@dataclass(frozen=True)
class Family:
    """A warning sign (C-SSRS, WHO/AFSP, crisis-line triage, Danger Assessment): its cues
    share its label, which is what the worker reads."""

    id: str
    kind: str
    label: str
    # A feeling (low mood), not a warning sign: its words are ordinary distress's too.
    feeling: bool = False
    # Its mark is finality (a farewell, AFSP): a promise to meet or write again qualifies it.
    final: bool = False
    # Its mark is no way forward (hopelessness, AFSP): a change she plans qualifies it.
    hopeless: bool = False
    # An act done to someone: a person she names right after its words is who it is done to
    # (打我妈 is her mother beaten). Not a threat (弄死我妈 if she reports is coercion of her).
    done_to: bool = False


@dataclass(frozen=True)
class Cue:
    id: str
    kind: str
    family: Family
    weight: float
    reason: str
    pattern: re.Pattern[str]
    discount: bool = False  # weighs less in reported speech (news, films, others' stories)
    requires_other: bool = False  # counts only next to a medium-level signal of its kind
    # Tells of a past act by itself (救回来, 洗胃): resolved by a recovery told in the message
    # even without a past marker (以前, 那时) in its clause.
    past: bool = False
    # Its words are his threat (他说再提离婚就一起死): the suicide cues do not read them.
    his_words: bool = False


@dataclass(frozen=True)
class CueHit:
    cue: Cue
    matched: str
    weight: float  # the cue's weight after its clause's qualifiers
    qualifiers: tuple[Qualifier, ...] = ()
    span: tuple[int, int] = (0, 0)  # where it matched in the compact text

    @property
    def about_other(self) -> bool:
        return OTHER_PERSON in self.qualifiers


@dataclass(frozen=True)
class Signal:
    """What one message alone says."""

    hits: tuple[CueHit, ...]
    # When every risk word of the message (``anchors``) stands in qualified context (不想死,
    # 他死了, 电视剧里…杀了人, 笑死): those qualifiers. The model's evidence rests on those
    # words, so it is qualified with them.
    model_context: tuple[Qualifier, ...] = ()
    # She says she is better (谢谢你们 我好多了).
    better: bool = False
    # She names her own child (我女儿, 个仔): who a concern for another may be.
    own_child: bool = False

    def score(self, kind: str, *, other: bool = False) -> float:
        """Points of ``kind`` about the writer (or, with ``other``, about someone else)."""
        return sum(h.weight for h in self.hits if h.cue.kind == kind and h.about_other == other)

    @property
    def reported(self) -> bool:
        return any(REPORTED in hit.qualifiers for hit in self.hits)


@dataclass(frozen=True)
class CrisisConfig:
    version: int
    digest: str  # of the cue file, so model_version names the exact cues in use
    thresholds: tuple[tuple[RiskLevel, float], ...]  # highest level first
    history_weight: float
    history_cap: float
    model_medium: float
    model_high: float
    model_with_cue: float
    # The calibrated probability from which the embedded model's first ranking gives medium
    # (None: never; below it, or when None, its first ranking gives low).
    model_ranked_first: float | None
    # A farewell reads as thanks or a goodbye (AFSP): the kind's crisis intent ranked second
    # behind one of ``small_talk`` at this calibrated probability gives medium (None: never).
    model_behind_small_talk: float | None
    # ...and behind emotional_distress, the non-crisis nearest a crisis (None: never).
    model_behind_distress: float | None
    small_talk: frozenset[str]
    reported_factor: float
    reported: re.Pattern[str]
    hyperbole: re.Pattern[str]  # hyperbole and idioms, masked before matching
    anchors: tuple[tuple[str, re.Pattern[str]], ...]  # per kind, the words its risk is said in
    cues: tuple[Cue, ...]
    families: dict[str, Family]
    # A low cue of a warning sign (a means or place named, fear of him; not a feeling) with
    # the model at this calibrated probability gives medium (None: only ``model_with_cue``).
    model_with_sign: float | None = None
    # Denials (没想过自杀), masked as hyperbole is; what the model rests on is then denied.
    denials: re.Pattern[str] | None = None

    @classmethod
    def load(cls, path: Path = DEFAULT_CUES) -> CrisisConfig:
        source = path.read_bytes()
        raw: dict[str, Any] = yaml.safe_load(source.decode("utf-8"))
        levels = raw["levels"]
        thresholds = tuple(
            sorted(
                ((RiskLevel(name), float(score)) for name, score in levels.items()),
                key=lambda pair: pair[1],
                reverse=True,
            )
        )
        families = {
            name: Family(
                name,
                str(item["kind"]),
                str(item["label"]),
                bool(item.get("feeling", False)),
                bool(item.get("final", False)),
                bool(item.get("hopeless", False)),
                bool(item.get("done_to", False)),
            )
            for name, item in (raw.get("families") or {}).items()
        }
        unknown = {family.kind for family in families.values()} - set(KINDS)
        unknown |= {str(item["kind"]) for item in raw["cues"]} - set(KINDS)
        if unknown:
            raise ValueError(f"unknown crisis kind(s) in {path}: {sorted(unknown)}")
        for item in raw["cues"]:
            family = families.get(item.get("family", ""))
            if family is None or family.kind != item["kind"]:
                # A cue without a family of its kind would reach the worker unnamed.
                raise ValueError(f"cue {item['id']} in {path}: no {item['kind']} family")
        cues = tuple(
            Cue(
                id=item["id"],
                kind=item["kind"],
                family=families[item["family"]],
                weight=float(item["weight"]),
                reason=item["reason"],
                pattern=_alternation(item["patterns"]),
                discount=bool(item.get("discount", False)),
                requires_other=bool(item.get("requires_other", False)),
                past=bool(item.get("past", False)),
                his_words=bool(item.get("his_words", False)),
            )
            for item in raw["cues"]
        )
        return cls(
            version=int(raw.get("version", 0)),
            digest=hashlib.sha256(source).hexdigest()[:8],
            thresholds=thresholds,
            history_weight=float(raw["history"]["weight"]),
            history_cap=float(raw["history"]["cap"]),
            model_medium=float(raw["model"]["medium"]),
            model_high=float(raw["model"]["high"]),
            model_with_cue=float(raw["model"]["with_cue"]),
            model_ranked_first=_optional_float(raw["model"].get("ranked_first")),
            model_behind_small_talk=_optional_float(raw["model"].get("behind_small_talk")),
            model_behind_distress=_optional_float(raw["model"].get("behind_distress")),
            small_talk=frozenset(raw["model"].get("small_talk") or ()),
            reported_factor=float(raw["reported"]["factor"]),
            reported=_alternation(raw["reported"]["patterns"]),
            # One alternation, hyperbole first: where both match at one place, the mask is the
            # hyperbole's, as when the denials were listed among it.
            hyperbole=_alternation([*raw["hyperbole"], *(raw.get("denials") or ())]),
            anchors=tuple(
                (kind, _alternation(words)) for kind, words in (raw.get("anchors") or {}).items()
            ),
            cues=cues,
            families=families,
            model_with_sign=_optional_float(raw["model"].get("with_sign")),
            denials=_alternation(raw["denials"]) if raw.get("denials") else None,
        )

    def without_families(self, names: Collection[str]) -> CrisisConfig:
        """The same cues minus those of ``names`` (leave-one-family-out evaluation)."""
        cues = tuple(cue for cue in self.cues if cue.family.id not in names)
        return dataclasses.replace(self, cues=cues)

    def level_for(self, score: float) -> RiskLevel:
        return next((level for level, start in self.thresholds if score >= start), RiskLevel.NONE)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _alternation(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


class CrisisLayer:
    def __init__(self, config: CrisisConfig | None = None) -> None:
        self.config = config or CrisisConfig.load()
        self._his_words = tuple(cue.pattern for cue in self.config.cues if cue.his_words)
        self._cached_signal = lru_cache(maxsize=4096)(self._signal)

    def signal(self, text: str) -> Signal:
        """What ``text`` alone says; cached for short texts (history repeats them)."""
        if len(text) > CACHED_TEXT_CHARS:
            return self._signal(text)
        return self._cached_signal(text)

    def _signal(self, text: str) -> Signal:
        config = self.config
        folded = fold_for_matching(text)
        # Speech-to-text and evasive spelling put spaces inside words (不 想 活).
        compact = folded.replace(" ", "")
        masked = config.hyperbole.sub(lambda m: "_" * len(m.group(0)), compact)
        context = MessageContext(masked, config.reported, space_parts(folded), compact)
        # His threat's words (他说再提离婚就一起死) are no wish of hers: masked for the suicide
        # cues as a hyperbole is, so her own words beside them (我也不想活了) still count.
        his = [
            match.span()
            for pattern in self._his_words
            for match in pattern.finditer(masked)
            if match.group(0)
        ]
        hers = _masked(masked, his) if his else masked
        hits: list[CueHit] = []
        for cue in config.cues:
            # Of a cue's matches, the one its clause weighs most: 我没想过死 不过现在真想死.
            best: CueHit | None = None
            text = hers if cue.kind == "suicide" else masked
            for match in _matches(cue.pattern, text, context):
                if not match.group(0):
                    continue
                qualifiers = context.qualifiers(
                    match.start(), match.end(), cue.kind, cue.discount, past=cue.past
                )
                if (
                    cue.family.done_to
                    and context.person_after(match.end())
                    and OTHER_PERSON not in qualifiers
                ):
                    qualifiers = (*qualifiers, OTHER_PERSON)
                denied = context.negation_inside(match.group(0), cue.pattern)
                if denied and NEGATED not in qualifiers and not context.turned_now(*match.span()):
                    qualifiers = (NEGATED, *qualifiers)
                if cue.family.final and context.goodbye:
                    qualifiers = (*qualifiers, context.goodbye)
                if cue.family.hopeless and context.way_forward:
                    qualifiers = (*qualifiers, WAY_FORWARD)
                weight = cue.weight
                for qualifier in qualifiers:
                    weight *= config.reported_factor if qualifier is REPORTED else qualifier.factor
                # ...and of two as heavy, hers before another's (闺蜜被老公打了，我也被老公打了).
                mine = OTHER_PERSON not in qualifiers
                if best is None or (weight, mine) > (best.weight, not best.about_other):
                    # The words as she wrote them (masking keeps lengths): 打扰, not __.
                    words = compact[match.start() : match.end()]
                    span = (match.start(), match.end())
                    best = CueHit(cue, words, weight, qualifiers, span)
                if not qualifiers:
                    break
            if best is not None:
                hits.append(best)
        hits = _told_once(hits)
        medium = _start(config, RiskLevel.MEDIUM)
        kept = [
            hit
            for hit in hits
            if not hit.cue.requires_other
            or sum(
                other.weight
                for other in hits
                if other.cue.kind == hit.cue.kind and not other.cue.requires_other
            )
            >= medium
        ]
        signal_hits = tuple(hit for hit in kept if hit.weight > 0 or hit.qualifiers)
        model_context = self._model_context(compact, masked, context, signal_hits)
        better = feeling_better(compact)
        if not signal_hits and not model_context:
            if self._errand(compact, context):
                model_context = (ERRAND,)
            elif laughed(compact):
                model_context = (LAUGHED,)
            elif not self._has_anchor(masked, "suicide"):
                # a suicide word only: 打工, 打电话 (masked) and violence words are not theirs
                everyday = (
                    (OUTING if outing(compact) else None)
                    or context.goodbye
                    or (REST_WISHED if context.rest_wished() else None)
                    or (WAY_FORWARD if context.way_forward else None)
                    or (BETTER_NOW if better else None)
                )
                if everyday:
                    model_context = (everyday,)
        return Signal(signal_hits, model_context, better, context.own_child)

    def _errand(self, compact: str, context: MessageContext) -> bool:
        """A bounded favour for a set time (下周孩子放学就拜托你帮我接一下), with no risk word and
        no cue: what a farewell is not (its mark is finality, AFSP). The model's first ranking
        on such a message gives at most low."""
        return not self._has_anchor(compact) and context.bounded_errand()

    def _has_anchor(self, compact: str, kind: str | None = None) -> bool:
        return any(
            pattern.search(compact)
            for anchor_kind, pattern in self.config.anchors
            if kind in (None, anchor_kind)
        )

    def _model_context(
        self, compact: str, masked: str, context: MessageContext, hits: Sequence[CueHit]
    ) -> tuple[Qualifier, ...]:
        """The qualifiers of the message's risk words when every one of them is qualified (a
        hyperbole or idiom masked, denied, another's, a story's, a resolved past); () when one
        stands unqualified or the message has none (以后孩子就拜托你们了 keeps the model whole).
        With no risk word, the words its warning-sign cues matched are what it rests on, when
        they are a story's or a resolved past (新闻里说有个女的在江边被救上来了: a story's
        place)."""
        found: list[Qualifier] = []
        for kind, pattern in self.config.anchors:
            for match in pattern.finditer(compact):
                if "_" in masked[match.start() : match.end()]:
                    if match.group(0) == "打":
                        continue  # 打电话, 打工: not a violence word at all
                    # 没想过自杀: denied; 累死了, 不作不死; 杀青, 秒杀, 吃鸡被爆头: idioms
                    # built on a risk word
                    denied = self._denied(compact, match.start(), match.end())
                    if denied and context.turned_now(*match.span()):
                        return ()  # 以前没想过死 现在天天想: the denial is the past's
                    here: tuple[Qualifier, ...] = (NEGATED,) if denied else (FIGURATIVE,)
                else:
                    here = context.anchor_qualifiers(match.start(), match.end(), kind)
                if not here:
                    return ()
                found += [q for q in here if q not in found]
        # Only a story or a resolved past says the whole message is not hers now; a feeling
        # denied (想去一个没有痛苦的地方) says nothing of the rest.
        signs = [hit for hit in hits if not hit.cue.family.feeling]
        if not found and signs and all(_TOLD_OR_OVER & set(hit.qualifiers) for hit in signs):
            for hit in signs:
                found += [q for q in hit.qualifiers if q not in found]
        if not found and not hits:
            # No risk word and no cue: only the message as a whole can say whose it is and
            # when (隔壁阿伯跌倒了 流了好多血; 那阵子好辛苦 现在看了医生好多了).
            if context.news_of_other():
                found.append(OTHERS_NEWS)
            elif context.recovered_now():
                found.append(RESOLVED_PAST)
        return tuple(found)

    def _denied(self, compact: str, start: int, end: int) -> bool:
        denials = self.config.denials
        return denials is not None and any(
            found.start() <= start and end <= found.end() for found in denials.finditer(compact)
        )

    def assess(
        self,
        text: str,
        history: Sequence[str] = (),
        model_probabilities: Mapping[str, float] | None = None,
        *,
        ranked_first: str | None = None,
        backend_ranked_first: str | None = None,
        ranked_second: str | None = None,
        first_intent: str | None = None,
        model_words: Callable[[str], Sequence[str]] | None = None,
    ) -> Risk:
        """Risk of ``text`` given the same person's recent ``history`` (oldest first), the
        embedded classifier's calibrated crisis probabilities, the kind whose crisis intent it
        ranked first (if it did) and the kind an intent backend with probabilities of its own
        (Rasa) ranked first.

        Every piece of evidence can only raise the level; none vetoes another. Context
        (negation, a resolved past, a story, another person) lowers a cue's own weight only.
        The embedded model speaks through its calibrated probability (``model.medium``); its
        first ranking gives ``medium`` from ``model.ranked_first`` on and ``low`` below, shown,
        never silently dropped. A backend's first ranking, whose probabilities nobody here
        calibrated, gives ``medium``. A crisis kind the embedded model ranked second
        (``ranked_second``) behind small talk (``first_intent`` in ``model.small_talk``: how a
        farewell reads) gives ``medium`` from ``model.behind_small_talk`` on, and behind
        ``emotional_distress`` from ``model.behind_distress`` on. ``model_words``: given a crisis
        intent, the words the model's guess rests on most, shown with its probability.
        """
        probabilities = model_probabilities or {}
        current = self.signal(text)
        earlier = [self.signal(message) for message in history]
        assessed = [
            self._assess_kind(
                kind,
                current,
                earlier,
                probabilities,
                ranked_first == kind,
                backend_ranked_first == kind,
                first_intent if ranked_second == kind else None,
                model_words,
            )
            for kind in KINDS
        ]
        if first_intent == Intent.GOODBYE:
            assessed.append(self._farewell_after_sign(current, earlier))
        # At one level her own crisis leads someone else's (a threat of his suicide to keep her
        # from leaving is her danger, whatever his words' score).
        best = max(
            assessed, key=lambda risk: (risk.level.rank, risk.crisis, risk.score, risk.probability)
        )
        if best.level is not RiskLevel.NONE:
            return _with_other_kind(best, assessed)
        # No risk, but what was weighed is still shown: a model probability of 0.39, a denied
        # cue (issue 17: the parse shows each piece of evidence).
        return Risk(evidence=tuple(item for risk in assessed for item in risk.evidence))

    def _farewell_after_sign(self, current: Signal, earlier: Sequence[Signal]) -> Risk:
        """A goodbye right after her own suicide warning sign in recent messages (我真的不想活了 …
        再见了: AFSP, saying goodbye): medium, for a person to look at, with the sign shown. Not
        a thanks, which is how she answers Careline's own reply to the sign; nor when this
        message has words of its own to weigh, a reason or a return (换新号了, 明天见), or says
        she is better (好多了 再见)."""
        signs: list[CueHit] = []
        for signal in earlier:
            if signal.better or RESOLVED_PAST in signal.model_context:
                signs = []  # she said she is better since (现在好多了)
            signs += [
                hit
                for hit in signal.hits
                if hit.cue.kind == "suicide"
                and hit.weight > 0
                and not hit.qualifiers
                and not hit.cue.family.feeling
            ]
        if not signs or current.hits or current.model_context or current.better:
            return Risk()
        reasons = [texts.FAREWELL_AFTER_SIGN]
        reasons += [texts.history_reason(h.cue.family.label, h.matched) for h in signs]
        evidence = (Evidence("history", "farewell_after_sign", "近期信号后道别", 0.0),)
        return Risk(
            RiskLevel.MEDIUM,
            "suicide",
            tuple(dict.fromkeys(reasons))[:_MAX_REASONS],
            evidence=evidence,
        )

    def _warning_sign_in(self, kind: str, current: Signal, earlier: Sequence[Signal]) -> bool:
        """Whether the messages show more than feelings: history raises a warning sign (or a
        feeling after one), while a tired mother who says so three times is not a crisis."""
        return any(
            hit.cue.kind == kind
            and not hit.about_other
            and hit.weight > 0
            and not hit.cue.family.feeling
            for signal in (current, *earlier)
            for hit in signal.hits
        )

    def _assess_kind(
        self,
        kind: str,
        current: Signal,
        earlier: Sequence[Signal],
        probabilities: Mapping[str, float],
        ranked_first: bool,
        backend_first: bool,
        ahead: str | None = None,
        model_words: Callable[[str], Sequence[str]] | None = None,
    ) -> Risk:
        config = self.config
        evidence: list[Evidence] = []
        reasons: list[str] = []
        own = sorted(
            (h for h in current.hits if h.cue.kind == kind and not h.about_other),
            key=lambda hit: -hit.weight,
        )
        for hit in own:
            evidence.append(_cue_evidence(hit))
            if hit.weight > 0:
                reasons.append(texts.cue_reason(hit.cue.family.label, hit.matched))
        score = current.score(kind)
        if score > 0 and earlier and self._warning_sign_in(kind, current, earlier):
            added = min(
                config.history_cap,
                config.history_weight * sum(signal.score(kind) for signal in earlier),
            )
            if added > 0:
                score += added
                for signal in reversed(earlier):
                    for hit in signal.hits:
                        if hit.cue.kind == kind and not hit.about_other and hit.weight > 0:
                            reasons.append(texts.history_reason(hit.cue.family.label, hit.matched))
                evidence.append(Evidence("history", "recent_messages", "近期消息", added))
        level = config.level_for(score)
        probability = probabilities.get(CRISIS_INTENT[kind], 0.0)
        if probability > 0:
            evidence.append(Evidence("model", CRISIS_INTENT[kind], "模型概率", probability))
        # A weak warning sign (a place, a means, fear of him) is more than a low mood: with the
        # model close behind, together they reach a person (issue 17, unseen families).
        sign = any(hit.weight > 0 and not hit.cue.family.feeling for hit in own)
        raised = self._model_level(level, probability, sign=sign)
        if ranked_first or backend_first:
            # The classifier's top answer is this crisis: never silently dropped. On a family
            # the model never saw, a first ranking at a low probability still tells (leave-one-
            # family-out), so from a floor it calls a person; below it, it is shown and counted
            # as distress: short ordinary messages the model has no other answer for.
            evidence.append(Evidence("intent", CRISIS_INTENT[kind], "意图模型首选", probability))
            floor = config.model_ranked_first
            trusted = backend_first or (floor is not None and probability >= floor)
            first = RiskLevel.MEDIUM if trusted else RiskLevel.LOW
            raised = RiskLevel.highest(raised, first)
        behind = (
            config.model_behind_small_talk
            if ahead in config.small_talk
            else config.model_behind_distress
            if ahead == Intent.EMOTIONAL_DISTRESS
            else None
        )
        close_behind = behind is not None and probability >= behind
        if close_behind:
            # Thanks or a goodbye with this crisis close behind is how a farewell reads; distress
            # with it close behind is how a family the model never saw reads.
            evidence.append(Evidence("intent", CRISIS_INTENT[kind], "次选危机", probability))
            raised = RiskLevel.highest(raised, RiskLevel.MEDIUM)
        qualified = tuple(q for q in current.model_context if q.kind in (None, kind))
        # Someone else's risk is still a risk: the concern below weighs the model unqualified.
        for_concern = raised if qualified else RiskLevel.NONE
        if qualified and raised.rank > RiskLevel.LOW.rank:
            # Every word the risk could rest on is denied, someone else's, a story's or an
            # idiom's: the model's evidence is weighed with that context, as a cue's is.
            names = "、".join(texts.CONTEXT_NAMES[q.name] for q in qualified)
            evidence.append(Evidence("context", "model_context", f"模型证据（{names}）", 0.0))
            raised = RiskLevel.LOW
        if raised.rank > level.rank:
            level = raised
            words = self._leaning(model_words, kind, evidence)
            if close_behind and ahead and probability < config.model_medium:
                reasons.append(texts.behind_small_talk_reason(kind, ahead, probability, words))
            elif (ranked_first or backend_first) and probability < config.model_medium:
                reasons.append(texts.ranked_first_reason(kind, probability, words))
            else:
                reasons.append(texts.model_reason(kind, probability, words))
        others = [h for h in current.hits if h.cue.kind == kind and h.about_other]
        other_level = config.level_for(current.score(kind, other=True))
        # Violence the model sees done to someone the message names (朋友说她老公会打她), with no
        # cue: her concern for another. Not a death: 我爸去年死了 is grief, not a risk to tell.
        done_to_another = kind == "violence" and set(qualified) == {OTHER_PERSON}
        if (
            (others or done_to_another)
            and not any(hit.weight > 0 for hit in own)
            and not earlier_own(earlier, kind)
        ):
            # Someone else at risk: a worker looks at it (P2), but it is not her crisis. Her own
            # child at high risk (我女儿说她不想活了) is her household's emergency: its level.
            concern = RiskLevel.MEDIUM
            if current.own_child:
                concern = RiskLevel.highest(concern, other_level)
            if RiskLevel.highest(level, other_level, for_concern).rank >= RiskLevel.MEDIUM.rank:
                evidence += [_cue_evidence(hit) for hit in others]
                reasons = [texts.other_reason(h.cue.family.label, h.matched) for h in others]
                if not reasons:
                    words = self._leaning(model_words, kind, evidence)
                    reasons = [texts.other_model_reason(kind, probability, words)]
                return Risk(
                    concern,
                    CONCERN_FOR_OTHER,
                    tuple(dict.fromkeys(reasons))[:_MAX_REASONS],
                    score=current.score(kind, other=True),
                    probability=probability,
                    evidence=tuple(evidence),
                )
        if level is RiskLevel.NONE:
            return Risk(evidence=tuple(evidence))
        for hit in own:
            for qualifier in hit.qualifiers:
                reasons.append(texts.context_reason(qualifier.name))
        return Risk(
            level,
            kind,
            tuple(dict.fromkeys(reasons))[:_MAX_REASONS],
            score=score,
            probability=probability,
            evidence=tuple(evidence),
        )

    @staticmethod
    def _leaning(
        model_words: Callable[[str], Sequence[str]] | None, kind: str, evidence: list[Evidence]
    ) -> tuple[str, ...]:
        """The words the model's guess of ``kind`` rests on, written into its evidence too."""
        words = tuple(model_words(CRISIS_INTENT[kind])) if model_words else ()
        if words:
            for index, item in enumerate(evidence):
                if item.source == "model":
                    evidence[index] = dataclasses.replace(item, matched="、".join(words))
        return words

    def _model_level(
        self, level: RiskLevel, probability: float, *, sign: bool = False
    ) -> RiskLevel:
        config = self.config
        has_cue = level.rank >= RiskLevel.LOW.rank
        if has_cue and probability >= config.model_high:
            return RiskLevel.HIGH
        if probability >= config.model_medium or (has_cue and probability >= config.model_with_cue):
            return RiskLevel.MEDIUM
        with_sign = config.model_with_sign
        if has_cue and sign and with_sign is not None and probability >= with_sign:
            return RiskLevel.MEDIUM
        return RiskLevel.NONE


def _matches(
    pattern: re.Pattern[str], text: str, context: MessageContext
) -> Iterator[re.Match[str]]:
    """The cue's matches, and for one that runs over into another clause or WeChat part, the
    first match from that clause on too: 邻居说她老公打她，我老公也打我 holds her own words inside
    the neighbour's match, which finditer alone would not give again."""
    for match in pattern.finditer(text):
        yield match
        inside = context.break_inside(match.start(), match.end())
        if inside is not None and (later := pattern.search(text, inside)) is not None:
            yield later


def _told_once(hits: list[CueHit]) -> list[CueHit]:
    """A story's or a past's words count once: of two cues of one kind that matched the same
    words in a told or resolved clause (新闻说有人拿刀砍人 is a threat's words and a plan's), only
    the heavier is kept. Her own words now keep every cue they match."""

    def overlaps(a: CueHit, b: CueHit) -> bool:
        return a.span[0] < b.span[1] and b.span[0] < a.span[1]

    def told(hit: CueHit) -> bool:
        # Someone she knows at risk now (邻居家的孩子天天被打) is a live concern, not a story.
        return bool(_TOLD_OR_OVER & set(hit.qualifiers)) and not hit.about_other

    kept = []
    for index, hit in enumerate(hits):
        heavier = any(
            other.cue.kind == hit.cue.kind
            and told(other)
            and overlaps(hit, other)
            and (other.weight, -position) > (hit.weight, -index)
            for position, other in enumerate(hits)
            if position != index
        )
        if not (told(hit) and heavier):
            kept.append(hit)
    return kept


def _with_other_kind(best: Risk, assessed: Sequence[Risk]) -> Risk:
    """``best`` with the first reasons of her other kind of crisis when its own cues reach
    a crisis too (他说要一起死 我也不想活了: a threat and her wish, which a worker must see
    together); the model alone on the other kind adds nothing."""
    also = [risk for risk in assessed if risk is not best and risk.crisis and risk.score > 0]
    if not also:
        return best
    shown = (*best.reasons[: _MAX_REASONS - 2], *also[0].reasons[:2], *best.reasons)
    return dataclasses.replace(
        best,
        reasons=tuple(dict.fromkeys(shown))[:_MAX_REASONS],
        evidence=(*best.evidence, *also[0].evidence),
    )


def _masked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with ``spans`` masked as a hyperbole is (lengths kept)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = "_" * (end - start)
    return "".join(chars)


def earlier_own(earlier: Sequence[Signal], kind: str) -> bool:
    """Whether her recent messages spoke of her own risk of ``kind``."""
    return any(signal.score(kind) > 0 for signal in earlier)


def _cue_evidence(hit: CueHit) -> Evidence:
    label = hit.cue.family.label
    if hit.qualifiers:
        label += "（" + "、".join(texts.CONTEXT_NAMES[q.name] for q in hit.qualifiers) + "）"
    return Evidence("cue", hit.cue.family.id, label, round(hit.weight, 3), hit.matched)


def _start(config: CrisisConfig, level: RiskLevel) -> float:
    return next(start for candidate, start in config.thresholds if candidate is level)
