"""Measuring the NLU: intent scores, crisis recall and false alarms, confusion matrix."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix, f1_score
from sklearn.model_selection import train_test_split

from intents.calibration import Calibration, fit_calibration, softmax
from intents.composite import CompositeNLU
from intents.crisis import CRISIS_INTENT, CrisisConfig, CrisisLayer
from intents.datasets import (
    AGGRESSION_LABELS,
    EXPLORATION_LABEL,
    SUICIDE_LABELS,
    UNRELATED_LABEL,
    Example,
)
from intents.embedded import (
    TRAINING_CONFIG,
    EmbeddedClassifier,
    fit_model,
    out_of_fold_logits,
)
from intents.entities import EntityExtractor
from intents.normalize import fold_for_matching
from intents.protocol import NLU
from intents.result import ParseResult
from intents.settings import NLUSettings
from intents.taxonomy import CRISIS_INTENTS

NO_CRISIS = "no_crisis"
_KIND_OF = {intent: kind for kind, intent in CRISIS_INTENT.items()}
# What choosing model.medium weighs a missed crisis at, in false alarms (a person reading a
# message that needed no one): safety first.
MISS_COST = 10.0


def is_crisis_flag(result: ParseResult) -> bool:
    """What counts as escalated: a crisis risk level or a crisis intent."""
    return result.risk.crisis or result.intent in CRISIS_INTENTS


@dataclass(frozen=True)
class Rate:
    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else float("nan")

    def __str__(self) -> str:
        return f"{self.value:.3f} ({self.hits}/{self.total})"


@dataclass
class Report:
    labels: list[str]
    per_intent: dict[str, Any]
    macro_f1: float
    confusion: np.ndarray
    crisis_recall: Rate
    false_alarms: Rate
    groups: dict[str, Rate] = field(default_factory=dict)

    def to_text(self) -> str:
        lines = [f"{'intent':<22}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
        for label in self.labels:
            row = self.per_intent.get(label)
            if row:
                lines.append(
                    f"{label:<22}{row['precision']:>10.3f}{row['recall']:>10.3f}"
                    f"{row['f1-score']:>10.3f}{int(row['support']):>9}"
                )
        lines.append(f"macro-F1: {self.macro_f1:.3f}")
        lines.append(f"crisis recall: {self.crisis_recall}")
        lines.append(f"crisis false-alarm rate: {self.false_alarms}")
        lines += [f"{name}: {rate}" for name, rate in self.groups.items()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "macro_f1": self.macro_f1,
            "crisis_recall": self.crisis_recall.value,
            "false_alarm_rate": self.false_alarms.value,
            "groups": {name: rate.value for name, rate in self.groups.items()},
            "per_intent": {k: v for k, v in self.per_intent.items() if k in self.labels},
        }


def is_psyguard(examples: Sequence[Example]) -> bool:
    return any(example.labels for example in examples)


async def predict(nlu: NLU, examples: Iterable[Example]) -> list[ParseResult]:
    return [await nlu.parse(example.text) for example in examples]


def _crisis_view(result: ParseResult) -> str:
    if not is_crisis_flag(result):
        return NO_CRISIS
    if result.intent in CRISIS_INTENTS:
        return result.intent
    return f"crisis_{result.risk.kind or 'suicide'}"


def evaluate(examples: Sequence[Example], results: Sequence[ParseResult]) -> Report:
    """Scores predictions. For PsyGUARD-style sets (examples with source labels) the intents
    are collapsed to crisis_suicide / crisis_violence / no_crisis, and 关于自杀的探索 (where
    flagging is acceptable) is left out of the scores."""
    psyguard = is_psyguard(examples)
    pairs = [
        (example, result)
        for example, result in zip(examples, results, strict=True)
        if not (psyguard and EXPLORATION_LABEL in example.labels)
    ]
    if psyguard:
        gold = [e.intent if e.intent in CRISIS_INTENTS else NO_CRISIS for e, _ in pairs]
        predicted = [_crisis_view(r) for _, r in pairs]
    else:
        gold = [e.intent for e, _ in pairs]
        predicted = [r.intent for _, r in pairs]
    labels = sorted(set(gold) | set(predicted))
    per_intent = classification_report(
        gold, predicted, labels=labels, output_dict=True, zero_division=0
    )
    flags = [is_crisis_flag(r) for _, r in pairs]
    crisis_gold = [e.intent in CRISIS_INTENTS for e, _ in pairs]
    report = Report(
        labels=labels,
        per_intent=per_intent,
        macro_f1=float(f1_score(gold, predicted, labels=sorted(set(gold)), average="macro")),
        confusion=confusion_matrix(gold, predicted, labels=labels),
        crisis_recall=Rate(
            sum(f for f, g in zip(flags, crisis_gold, strict=True) if g), sum(crisis_gold)
        ),
        false_alarms=Rate(
            sum(f for f, g in zip(flags, crisis_gold, strict=True) if not g),
            len(flags) - sum(crisis_gold),
        ),
    )
    if psyguard:
        report.groups = _psyguard_groups(examples, results)
    else:
        negatives = [
            (e, r) for e, r in zip(examples, results, strict=True) if e.negative == "hyperbole"
        ]
        report.groups["crisis flags on hyperbole negatives"] = Rate(
            sum(is_crisis_flag(r) for _, r in negatives), len(negatives)
        )
    return report


def _psyguard_groups(
    examples: Sequence[Example], results: Sequence[ParseResult]
) -> dict[str, Rate]:
    def rate(selector: frozenset[str]) -> Rate:
        chosen = [r for e, r in zip(examples, results, strict=True) if set(e.labels) & selector]
        return Rate(sum(is_crisis_flag(r) for r in chosen), len(chosen))

    groups = {
        "recall suicide+self-harm labels": rate(SUICIDE_LABELS),
        "recall aggression labels": rate(AGGRESSION_LABELS),
        f"false alarms on {UNRELATED_LABEL}": rate(frozenset({UNRELATED_LABEL})),
        f"flagged {EXPLORATION_LABEL} (acceptable)": rate(frozenset({EXPLORATION_LABEL})),
    }
    for label in sorted(SUICIDE_LABELS | AGGRESSION_LABELS):
        groups[f"  recall {label}"] = rate(frozenset({label}))
    return groups


def save_confusion_png(report: Report, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(6.0, 0.55 * len(report.labels) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(report.confusion, cmap="Blues")
    # Intent names are ASCII on purpose: a CJK font may be missing on the machine.
    axes.set_xticks(range(len(report.labels)), report.labels, rotation=60, ha="right")
    axes.set_yticks(range(len(report.labels)), report.labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("expected")
    axes.set_title(title)
    peak = report.confusion.max() or 1
    for (row, column), count in np.ndenumerate(report.confusion):
        if count:
            colour = "white" if count > peak / 2 else "black"
            axes.text(column, row, str(count), ha="center", va="center", color=colour, fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def holdout_split(
    examples: Sequence[Example], test_size: float = 0.2, seed: int = 13
) -> tuple[list[Example], list[Example]]:
    counts = Counter(example.intent for example in examples)
    # Stratify by intent; hyperbole negatives are kept in proportion through their intent.
    strata = [e.intent if counts[e.intent] > 1 else "_rare" for e in examples]
    train, test = train_test_split(
        list(examples), test_size=test_size, random_state=seed, stratify=strata
    )
    return train, test


def holdout_nlu(train: Sequence[Example], settings: NLUSettings, crisis: CrisisLayer) -> NLU:
    """A composite NLU whose classifier saw only ``train`` (nothing written to disk)."""
    fitted = fit_model(train, settings.user_dictionary)
    return CompositeNLU(
        embedded=EmbeddedClassifier(fitted, "embedded-holdout"),
        crisis=crisis,
        entities=EntityExtractor(settings.timezone),
        threshold=settings.threshold,
    )


def families_of(examples: Sequence[Example]) -> list[str]:
    return sorted({example.family for example in examples if example.family})


async def by_family(
    examples: Sequence[Example],
    corpus: Sequence[Example],
    settings: NLUSettings,
    config: CrisisConfig,
    on_family: Callable[[str, Rate, Rate], None] | None = None,
    calibration: Calibration | None = None,
    only: Collection[str] = (),
    on_unseen: Callable[[Example, ParseResult], None] | None = None,
) -> dict[str, tuple[Rate, Rate]]:
    """Leave-one-family-out: for each warning-sign family (or those in ``only``), a model
    trained without its examples (from whichever file) and a crisis layer without its cues score
    its examples. Returns, per family, the crisis recall so (never seen) and, for comparison,
    with the family's cues back in. ``on_unseen`` gets each held-out example with its parse
    when its family was never seen."""
    results: dict[str, tuple[Rate, Rate]] = {}
    for family in families_of(examples):
        if only and family not in only:
            continue
        held = [example for example in examples if example.family == family]
        train = [example for example in examples if example.family != family] + list(corpus)
        fitted = _fit(train, settings, calibration)
        rates = []
        for layer_config in (config.without_families({family}), config):
            nlu = CompositeNLU(
                embedded=EmbeddedClassifier(fitted, f"embedded-without-{family}"),
                crisis=CrisisLayer(layer_config),
                entities=EntityExtractor(settings.timezone),
                threshold=settings.threshold,
            )
            parsed = await predict(nlu, held)
            if on_unseen is not None and not rates:
                for example, result in zip(held, parsed, strict=True):
                    on_unseen(example, result)
            flags = [is_crisis_flag(result) for result in parsed]
            rates.append(Rate(sum(flags), len(flags)))
        results[family] = (rates[0], rates[1])
        if on_family is not None:
            on_family(family, rates[0], rates[1])
    return results


async def psyguard_cross_validated(
    project: Sequence[Example],
    psyguard: Sequence[Example],
    settings: NLUSettings,
    config: CrisisConfig,
    folds: int = 5,
    on_fold: Callable[[int], None] | None = None,
    calibration: Calibration | None = None,
    seed: int = 0,
) -> tuple[list[Example], list[ParseResult]]:
    """PsyGUARD scored honestly once it is trained on: each fold is parsed by a model trained on
    the project's data and the other folds (training keeps ``read_crisis_corpus``'s mapping).
    ``seed`` deals the folds: a few texts near the model's boundary flip with any change of its
    training data, so a change is judged over several deals, not one."""
    from sklearn.model_selection import StratifiedKFold

    from intents.datasets import to_training_example

    labels = [example.labels[0] if example.labels else "" for example in psyguard]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scored: list[Example] = []
    results: list[ParseResult] = []
    for fold, (train_index, test_index) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        extra = [
            trained
            for i in train_index
            if (trained := to_training_example(psyguard[i])) is not None
        ]
        fitted = _fit([*project, *extra], settings, calibration)
        nlu = CompositeNLU(
            embedded=EmbeddedClassifier(fitted, f"embedded-fold-{fold}"),
            crisis=CrisisLayer(config),
            entities=EntityExtractor(settings.timezone),
            threshold=settings.threshold,
        )
        test = [psyguard[i] for i in test_index]
        scored += test
        results += await predict(nlu, test)
        if on_fold is not None:
            on_fold(fold)
    return scored, results


def _fit(train: Sequence[Example], settings: NLUSettings, calibration: Calibration | None):  # noqa: ANN202
    """A model on ``train``; with ``calibration`` given (the full model's: a temperature and two
    Platt scalings, five numbers), the three cross-validation fits that would refit it are
    skipped, a quarter of the time."""
    if calibration is None:
        return fit_model(train, settings.user_dictionary)
    fitted = fit_model(train, settings.user_dictionary, calibrate=False)
    fitted.calibration = calibration
    return fitted


@dataclass(frozen=True)
class ThresholdRow:
    """The whole layer out of fold with ``model.medium`` at ``threshold`` (None: the rule it
    replaced, a crisis ranked first → medium on the tempered probability)."""

    threshold: float | None
    recall: Rate
    false_alarms: Rate
    hyperbole: Rate


def calibration_table(
    examples: Sequence[Example],
    settings: NLUSettings,
    config: CrisisConfig,
    thresholds: Sequence[float],
) -> list[ThresholdRow]:
    """Out-of-fold crisis recall, false alarms and hyperbole flags of the whole crisis layer
    (cues, context and the model) for each candidate ``model.medium``: every example's
    probabilities come from a model that did not train on it (the calibration's own folds), and
    are Platt-scaled as the trained model's are."""
    texts = [fold_for_matching(example.text) for example in examples]
    labels = [example.intent for example in examples]
    found = out_of_fold_logits(texts, labels, settings.user_dictionary)
    if found is None:
        raise ValueError("too few examples of some intent to cross-validate")
    logits, classes = found
    bounds = TRAINING_CONFIG["calibration"]["bounds"]
    crisis_intents = sorted(str(intent) for intent in CRISIS_INTENTS)
    calibration = fit_calibration(logits, labels, classes, crisis_intents, bounds)
    tempered = softmax(logits / calibration.temperature)
    rows = [dict(zip(classes, row.tolist(), strict=True)) for row in tempered]
    first = [_KIND_OF.get(classes[int(row.argmax())]) for row in tempered]
    gold = [label in CRISIS_INTENTS for label in labels]
    hyperbole = [example.negative == "hyperbole" for example in examples]

    def score(threshold: float | None) -> ThresholdRow:
        if threshold is None:
            layer = CrisisLayer(config)
        else:
            # The probability alone: a first ranking gives low here, whatever the floor.
            changed = dataclasses.replace(config, model_medium=threshold, model_ranked_first=None)
            layer = CrisisLayer(changed)
        flags = []
        for example, probabilities, kind in zip(examples, rows, first, strict=True):
            if threshold is None:
                risk = layer.assess(example.text, (), probabilities, backend_ranked_first=kind)
            else:
                calibrated = calibration.crisis_probabilities(probabilities)
                risk = layer.assess(example.text, (), calibrated, ranked_first=kind)
            flags.append(risk.crisis)
        return ThresholdRow(
            threshold,
            Rate(sum(f for f, g in zip(flags, gold, strict=True) if g), sum(gold)),
            Rate(sum(f for f, g in zip(flags, gold, strict=True) if not g), len(gold) - sum(gold)),
            Rate(sum(f for f, h in zip(flags, hyperbole, strict=True) if h), sum(hyperbole)),
        )

    return [score(None)] + [score(threshold) for threshold in thresholds]


def choose_threshold(rows: Sequence[ThresholdRow], miss_cost: float = MISS_COST) -> float:
    """The threshold of least expected cost, a missed crisis costing ``miss_cost`` false alarms
    (a tie goes to the lower threshold: when in doubt, a crisis escalates)."""
    candidates = [row for row in rows if row.threshold is not None]

    def cost(row: ThresholdRow) -> tuple[float, float]:
        misses = row.recall.total - row.recall.hits
        return (misses * miss_cost + row.false_alarms.hits, row.threshold or 0.0)

    chosen = min(candidates, key=cost).threshold
    assert chosen is not None
    return chosen
