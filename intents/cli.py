"""``careline train | parse | evaluate``: added to the main CLI by ``add_commands``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from intents import embedded
from intents.calibration import Calibration
from intents.crisis import CrisisConfig, CrisisLayer
from intents.datasets import (
    EXPLORATION_LABEL,
    Example,
    crisis_corpus_files,
    read_crisis_corpus,
    read_dataset,
    read_training_data,
)
from intents.evaluation import (
    MISS_COST,
    Rate,
    Report,
    by_family,
    calibration_table,
    choose_threshold,
    evaluate,
    families_of,
    holdout_nlu,
    holdout_split,
    is_crisis_flag,
    predict,
    psyguard_cross_validated,
    save_confusion_png,
)
from intents.factory import build_nlu, ensure_model
from intents.settings import NLUSettings
from intents.taxonomy import CRISIS_INTENTS, Intent

GetSettings = Callable[[], NLUSettings]
CV_FOLDS = 5
# Candidates for crisis.yml's model.medium (`evaluate --calibration`).
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def add_commands(subparsers: Any, get_settings: GetSettings) -> None:
    """Adds ``train``, ``parse`` and ``evaluate``; settings are read only when one runs."""
    train = subparsers.add_parser("train", help="train the embedded intent model")
    train.add_argument("--force", action="store_true", help="retrain even if up to date")
    train.add_argument(
        "--if-missing", action="store_true", help="only build a missing model, no scores"
    )
    train.add_argument("--no-cv", action="store_true", help="skip cross-validation")
    train.set_defaults(run=lambda args: run_train(args, get_settings()))

    parse = subparsers.add_parser(
        "parse", help="classify messages: one per stdin line, or the one given; prints JSON lines"
    )
    parse.add_argument("message", nargs="*", help="a message (default: read lines from stdin)")
    parse.add_argument("--now", type=datetime.fromisoformat, help="anchor for relative times")
    parse.set_defaults(run=lambda args: run_parse(args, get_settings()))

    evaluate_cmd = subparsers.add_parser(
        "evaluate", help="score the NLU on Rasa NLU YAML or PsyGUARD-style JSON"
    )
    evaluate_cmd.add_argument(
        "data", nargs="?", type=Path, help="dataset file (default with --holdout: project data)"
    )
    evaluate_cmd.add_argument(
        "--holdout",
        action="store_true",
        help="train on 80%% of the data and score the held-out 20%%",
    )
    evaluate_cmd.add_argument(
        "--output", type=Path, default=Path("var/eval"), help="where the PNG and JSON go"
    )
    evaluate_cmd.add_argument(
        "--seed",
        type=int,
        default=None,
        help="the holdout's split (default 13), or --psyguard-cv's folds (default 0)",
    )
    evaluate_cmd.add_argument(
        "--by-family",
        action="store_true",
        help="leave-one-family-out crisis recall: each warning-sign family held out whole",
    )
    evaluate_cmd.add_argument(
        "--family",
        action="append",
        default=[],
        metavar="NAME",
        help="with --by-family: only this family (repeatable), a cheaper run while iterating",
    )
    evaluate_cmd.add_argument(
        "--psyguard-cv",
        action="store_true",
        help="5-fold cross-validated scores on the PsyGUARD split the model trains on",
    )
    evaluate_cmd.add_argument(
        "--calibration",
        action="store_true",
        help="out-of-fold crisis recall and false alarms for each model.medium threshold",
    )
    evaluate_cmd.set_defaults(run=lambda args: run_evaluate(args, get_settings()))


# --- train ----------------------------------------------------------------------------------


def run_train(args: argparse.Namespace, settings: NLUSettings) -> int:
    if args.if_missing:
        path = ensure_model(settings)
        print(f"model: {path}")
        return 0
    examples = read_training_data(settings.data_dir)
    counts = Counter(example.intent for example in examples)
    print(f"{len(examples)} examples in {settings.data_dir}")
    for intent in Intent:
        print(f"  {intent.value:<22}{counts.get(intent.value, 0):>6}")
    unknown = sorted(set(counts) - {intent.value for intent in Intent})
    if unknown:
        print(f"unknown intents in the data: {', '.join(unknown)}", file=sys.stderr)
        return 2
    path = embedded.model_path(settings)
    up_to_date = embedded.is_current(path) and not args.force
    steps = (0 if args.no_cv else CV_FOLDS) + (0 if up_to_date else 1)
    with tqdm(
        total=steps, desc="training", unit="fit", file=sys.stderr, disable=steps == 0
    ) as progress:
        if not args.no_cv:
            scores = cross_validate(examples, settings, progress)
            print(
                f"{CV_FOLDS}-fold cross-validation: macro-F1 {scores['macro_f1']:.3f} "
                f"± {scores['macro_f1_std']:.3f}, accuracy {scores['accuracy']:.3f}, "
                f"macro-F1 with the {settings.threshold} fallback {scores['macro_f1_fallback']:.3f}"
            )
        if not up_to_date:
            path = embedded.train(settings, examples=examples, replace_current=args.force)
            progress.update(1)
    print(f"model: {path}{' (up to date)' if up_to_date else ''}")
    return 0


def cross_validate(
    examples: Sequence[Example], settings: NLUSettings, progress: tqdm | None = None
) -> dict[str, float]:
    labels = np.array([example.intent for example in examples])
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=0)
    macro, macro_fallback, accuracy = [], [], []
    for train_index, test_index in folds.split(np.zeros(len(labels)), labels):
        fitted = embedded.fit_model([examples[i] for i in train_index], settings.user_dictionary)
        classifier = embedded.EmbeddedClassifier(fitted, "cv")
        predicted, with_fallback = [], []
        for i in test_index:
            result = classifier.classify_sync(examples[i].text)
            predicted.append(result.intent)
            below = result.confidence < settings.threshold
            with_fallback.append(Intent.OUT_OF_SCOPE.value if below else result.intent)
        gold = labels[test_index]
        macro.append(f1_score(gold, predicted, average="macro"))
        macro_fallback.append(f1_score(gold, with_fallback, average="macro"))
        accuracy.append(accuracy_score(gold, predicted))
        if progress is not None:
            progress.update(1)
    return {
        "macro_f1": float(np.mean(macro)),
        "macro_f1_std": float(np.std(macro)),
        "macro_f1_fallback": float(np.mean(macro_fallback)),
        "accuracy": float(np.mean(accuracy)),
    }


# --- parse ----------------------------------------------------------------------------------


def run_parse(args: argparse.Namespace, settings: NLUSettings) -> int:
    messages = [" ".join(args.message)] if args.message else None
    return asyncio.run(_parse(settings, messages, args.now))


async def _parse(settings: NLUSettings, messages: list[str] | None, now: datetime | None) -> int:
    nlu = build_nlu(settings)
    try:
        lines = messages if messages is not None else (line.rstrip("\n") for line in sys.stdin)
        for line in lines:
            if not line.strip():
                continue
            result = await nlu.parse(line, now=now)
            sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
    finally:
        await nlu.close()
    return 0


# --- evaluate -------------------------------------------------------------------------------


def run_evaluate(args: argparse.Namespace, settings: NLUSettings) -> int:
    return asyncio.run(_evaluate(args, settings))


async def _evaluate(args: argparse.Namespace, settings: NLUSettings) -> int:
    config = CrisisConfig.load(settings.crisis_cues)
    if args.by_family:
        return await _evaluate_by_family(settings, config, args.family, args.output)
    if args.calibration:
        return _evaluate_calibration(settings, config)
    if args.psyguard_cv:
        project = read_training_data(settings.data_dir)
        corpus = crisis_corpus_files(settings.data_dir)
        if not corpus:
            print("evaluate: no crisis corpus beside the training data", file=sys.stderr)
            return 2
        psyguard = read_dataset(corpus[0])
        with tqdm(total=5, desc="folds", file=sys.stderr) as progress:
            test, results = await psyguard_cross_validated(
                project,
                psyguard,
                settings,
                config,
                on_fold=lambda _: progress.update(1),
                calibration=_current_calibration(settings),
                seed=0 if args.seed is None else args.seed,
            )
        report = evaluate(test, results)
        print(report.to_text())
        _write_report(args.output, "psyguard-cv", report)
        errors = _write_errors(args.output / "errors-psyguard-cv.jsonl", test, results)
        print(f"false alarms and misses, with their evidence: {errors}")
        return 0
    if args.holdout:
        examples = read_dataset(args.data) if args.data else read_training_data(settings.data_dir)
        seed = 13 if args.seed is None else args.seed
        train, test = holdout_split(examples, seed=seed)
        print(f"holdout: training on {len(train)}, scoring {len(test)} examples")
        train += read_crisis_corpus(settings.data_dir)
        nlu = holdout_nlu(train, settings, CrisisLayer(config))
        name = "holdout"
    else:
        if args.data is None:
            print("evaluate: give a DATA file or --holdout", file=sys.stderr)
            return 2
        test = read_dataset(args.data)
        nlu = build_nlu(settings)
        name = args.data.stem
    try:
        results = await predict(nlu, test)
    finally:
        await nlu.close()
    report = evaluate(test, results)
    print(report.to_text())
    _write_report(args.output, name, report)
    if args.holdout:
        errors = args.output / f"errors-holdout-seed{seed}.jsonl"
        print(
            f"false alarms and misses, with their evidence: {_write_errors(errors, test, results)}"
        )
    return 0


def _write_report(output: Path, name: str, report: Report) -> None:
    png = save_confusion_png(report, output / f"confusion-{name}.png", f"Careline NLU: {name}")
    (output / f"report-{name}.json").write_text(
        json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    print(f"confusion matrix: {png}")


def _write_errors(path: Path, examples: Sequence[Example], results: Sequence[Any]) -> Path:
    """One JSON line per false alarm or miss, with the evidence that decided it: what a study
    of the errors needs (families of context, thresholds), without re-running the folds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for example, result in zip(examples, results, strict=True):
            flagged, crisis = is_crisis_flag(result), example.intent in CRISIS_INTENTS
            if flagged == crisis or EXPLORATION_LABEL in example.labels:
                continue
            row = {
                "error": "false_alarm" if flagged else "miss",
                "labels": list(example.labels),
                "intent": example.intent,
                "negative": example.negative,
                "text": example.text,
                "parse": result.to_dict(),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _write_rows(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _current_calibration(settings: NLUSettings) -> Calibration | None:
    """The trained model's calibration, reused by evaluations that fit many models."""
    meta = embedded.model_path(settings) / embedded.META_FILE
    if not meta.exists():
        return None
    raw = json.loads(meta.read_text(encoding="utf-8"))
    return Calibration.from_dict(raw.get("calibration") or {"temperature": raw["temperature"]})


async def _evaluate_by_family(
    settings: NLUSettings, config: CrisisConfig, only: Sequence[str], output: Path
) -> int:
    examples = read_training_data(settings.data_dir)
    families = families_of(examples)
    if not families:
        print("evaluate: no examples tagged with a family (metadata: family)", file=sys.stderr)
        return 2
    unknown = sorted(set(only) - set(families))
    if unknown:
        print(f"evaluate: no examples of family {', '.join(unknown)}", file=sys.stderr)
        return 2
    corpus = read_crisis_corpus(settings.data_dir)
    print(f"{'family held out':<22}{'recall unseen':>16}{'with its cues':>16}")

    def show(family: str, unseen: Rate, with_cues: Rate) -> None:
        print(f"{family:<22}{str(unseen):>16}{str(with_cues):>16}", flush=True)

    # Each unseen-family example with the evidence that decided it: what a study of the misses
    # needs without re-running the folds.
    rows: list[dict[str, Any]] = []

    def record(example: Example, result: Any) -> None:
        flagged = is_crisis_flag(result)
        rows.append({"family": example.family, "flagged": flagged, "text": example.text})
        rows[-1]["parse"] = result.to_dict()

    results = await by_family(
        examples,
        corpus,
        settings,
        config,
        on_family=show,
        calibration=_current_calibration(settings),
        only=only,
        on_unseen=record,
    )
    path = _write_rows(output / "unseen-by-family.jsonl", rows)
    print(f"each unseen example with its evidence: {path}")
    unseen = Rate(
        sum(r.hits for r, _ in results.values()), sum(r.total for r, _ in results.values())
    )
    print(f"leave-one-family-out crisis recall: {unseen}")
    return 0


def _evaluate_calibration(settings: NLUSettings, config: CrisisConfig) -> int:
    examples = read_training_data(settings.data_dir) + read_crisis_corpus(settings.data_dir)
    rows = calibration_table(examples, settings, config, THRESHOLDS)
    print(f"{'model.medium':<26}{'crisis recall':>20}{'false alarms':>20}{'hyperbole':>14}")
    for row in rows:
        name = "ranked first → medium" if row.threshold is None else f"{row.threshold:.2f}"
        print(f"{name:<26}{str(row.recall):>20}{str(row.false_alarms):>20}{str(row.hyperbole):>14}")
    chosen = choose_threshold(rows)
    print(f"chosen (least misses × {MISS_COST:g} + false alarms): {chosen:.2f}")
    print(f"in use (crisis.yml model.medium): {config.model_medium:.2f}")
    return 0
