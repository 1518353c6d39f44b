"""`train`, `parse` and `evaluate` through ``intents.cli.add_commands``."""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from pathlib import Path

import pytest

from intents.cli import add_commands
from intents.crisis import CrisisConfig
from intents.datasets import read_dataset, read_training_data
from intents.evaluation import psyguard_cross_validated
from intents.settings import NLUSettings
from tests.test_intents_embedded import write_training_data


@pytest.fixture
def settings(tmp_path: Path) -> NLUSettings:
    return NLUSettings(model_dir=tmp_path / "models", data_dir=write_training_data(tmp_path / "d"))


def run(settings: NLUSettings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="careline")
    add_commands(parser.add_subparsers(dest="command", required=True), lambda: settings)
    args = parser.parse_args(list(argv))
    return args.run(args)


def test_train_prints_counts_and_scores_then_reuses_the_model(
    settings: NLUSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "train") == 0
    out, err = capsys.readouterr()
    assert "30 examples" in out
    assert "job_training" in out and "crisis_violence" in out
    assert "5-fold cross-validation: macro-F1" in out
    assert "training" in err  # the progress bar
    (model,) = settings.model_dir.iterdir()
    assert (model / "model.joblib").exists()
    assert run(settings, "train", "--no-cv") == 0
    assert "(up to date)" in capsys.readouterr().out
    stamp = (model / "model.joblib").stat().st_mtime_ns
    assert run(settings, "train", "--force", "--no-cv") == 0
    assert "(up to date)" not in capsys.readouterr().out
    assert (model / "model.joblib").stat().st_mtime_ns != stamp


def test_train_if_missing_builds_quietly(
    settings: NLUSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "train", "--if-missing") == 0
    assert capsys.readouterr().out.startswith("model: ")
    assert len(list(settings.model_dir.iterdir())) == 1


def test_train_rejects_unknown_intents(
    settings: NLUSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    (settings.data_dir / "nlu_extra.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: weather\n  examples: |\n    - 下雨吗\n', encoding="utf-8"
    )
    assert run(settings, "train", "--no-cv") == 2
    assert "weather" in capsys.readouterr().err


def test_parse_reads_stdin_lines_and_writes_json_lines(
    settings: NLUSettings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = "你好\n\n我不想活了\n明天下午三点回电话\n\u200b累死了\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert run(settings, "parse", "--now", "2026-11-23T10:00:00+08:00") == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in results] == [
        "你好",
        "我不想活了",
        "明天下午三点回电话",
        "\u200b累死了",
    ]
    assert results[1]["intent"]["name"] == "crisis_suicide" and results[1]["risk"]["crisis"]
    assert results[2]["entities"][0]["value"] == "2026-11-24T15:00:00+08:00"
    assert not results[3]["risk"]["crisis"]


def test_parse_a_message_given_as_argument(
    settings: NLUSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "parse", "他又打我了") == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["intent"]["name"] == "crisis_violence"


def test_evaluate_rasa_yaml_writes_report_and_png(
    settings: NLUSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "eval.yml"
    data.write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: job_training\n  examples: |\n    - 育婴师培训怎么报名\n    - 想找工作\n"
        "- intent: crisis_suicide\n  examples: |\n    - 我真的不想活了\n"
        "- intent: crisis_violence\n  examples: |\n    - 老公又打我\n"
        # A hyperbole the small model learned as distress: with a crisis ranked first now
        # escalating, 想死你们了 (which it never saw) would be its honest crisis guess.
        "- intent: emotional_distress\n  metadata:\n    negative: hyperbole\n"
        "  examples: |\n    - 累死了\n",
        encoding="utf-8",
    )
    output = tmp_path / "out"
    assert run(settings, "evaluate", str(data), "--output", str(output)) == 0
    out = capsys.readouterr().out
    assert "crisis recall: 1.000 (2/2)" in out
    assert "crisis flags on hyperbole negatives: 0.000 (0/1)" in out
    png = output / "confusion-eval.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    report = json.loads((output / "report-eval.json").read_text(encoding="utf-8"))
    assert report["crisis_recall"] == 1.0
    assert "job_training" in report["per_intent"]


def test_evaluate_psyguard_style_json_reports_label_groups(
    settings: NLUSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = [
        ("我真的不想活了", "主动自杀意图"),
        ("又用刀划自己了", "自伤行为"),
        ("他天天打我", "他人攻击行为"),
        ("我真想杀了他", "用户攻击行为"),
        ("今天考试考砸了 有点难过", "与自杀/自伤/攻击行为无关"),
        ("累死了 想睡觉", "与自杀/自伤/攻击行为无关"),
        ("人为什么会想自杀", "关于自杀的探索"),
    ]
    data = tmp_path / "dev.json"
    data.write_text(
        json.dumps([{"text": t, "labels": [label]} for t, label in items], ensure_ascii=False),
        encoding="utf-8",
    )
    assert run(settings, "evaluate", str(data), "--output", str(tmp_path / "o")) == 0
    out = capsys.readouterr().out
    assert "recall suicide+self-harm labels: 1.000 (2/2)" in out
    assert "recall aggression labels: 1.000 (2/2)" in out
    assert "false alarms on 与自杀/自伤/攻击行为无关: 0.000 (0/2)" in out
    assert (tmp_path / "o" / "confusion-dev.png").exists()


def test_evaluate_holdout_trains_on_the_rest(
    settings: NLUSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "evaluate", "--holdout", "--output", str(tmp_path / "o")) == 0
    out = capsys.readouterr().out
    assert "holdout: training on 24, scoring 6 examples" in out
    assert "macro-F1:" in out and "crisis flags on hyperbole negatives" in out
    assert not settings.model_dir.exists()  # nothing written for a holdout run
    # Its false alarms and misses, one JSON line each, with the evidence that decided them.
    errors = tmp_path / "o" / "errors-holdout-seed13.jsonl"
    assert errors.exists() and f"{errors}" in out
    for line in errors.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert row["error"] in {"false_alarm", "miss"} and row["text"] and "risk" in row["parse"]


def test_evaluate_without_data_is_a_usage_error(
    settings: NLUSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "evaluate") == 2
    assert "DATA" in capsys.readouterr().err


FAMILIES = """version: "3.1"
nlu:
- intent: crisis_suicide
  metadata:
    family: farewell
  examples: |
    - 以后孩子就拜托你们了
    - 谢谢你们 以后不用再担心我了
- intent: crisis_violence
  metadata:
    family: drinking_violence
  examples: |
    - 他喝了酒回来就打我
    - 一喝醉就动手
"""


def test_evaluate_by_family_holds_each_family_out_whole(
    settings: NLUSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (settings.data_dir / "nlu_families.yml").write_text(FAMILIES, encoding="utf-8")
    assert run(settings, "evaluate", "--by-family", "--output", str(tmp_path / "o")) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if "/2)" in line}
    assert set(rows) == {"farewell", "drinking_violence"}
    assert "leave-one-family-out crisis recall:" in out and "/4)" in out
    # Every example scored unseen, with whether it was flagged and why.
    lines = (tmp_path / "o" / "unseen-by-family.jsonl").read_text(encoding="utf-8").splitlines()
    unseen = [json.loads(line) for line in lines]
    assert sorted(row["family"] for row in unseen) == ["drinking_violence"] * 2 + ["farewell"] * 2
    flagged = sum(row["flagged"] for row in unseen)
    assert f"({flagged}/4)" in out
    assert all("risk" in row["parse"] for row in unseen)


MORE_DRINKING = """version: "3.1"
nlu:
- intent: crisis_violence
  metadata:
    family: drinking_violence
  examples: |
    - 佢飲醉酒返嚟就郁手
"""


def test_evaluate_by_family_joins_a_family_across_files_and_can_run_one(
    settings: NLUSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (settings.data_dir / "nlu_families.yml").write_text(FAMILIES, encoding="utf-8")
    (settings.data_dir / "nlu_violence.yml").write_text(MORE_DRINKING, encoding="utf-8")
    output = tmp_path / "o"
    args = ("evaluate", "--by-family", "--family", "drinking_violence", "--output", str(output))
    assert run(settings, *args) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if "/3)" in line}
    rows.pop("leave-one-family-out")  # the overall line
    assert set(rows) == {"drinking_violence"}  # three examples from two files, one family
    unseen = [
        json.loads(line)
        for line in (output / "unseen-by-family.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    hits = int(rows["drinking_violence"][1].strip("(").split("/")[0])
    assert len(unseen) == 3 and sum(row["flagged"] for row in unseen) == hits


def test_evaluate_by_family_names_an_unknown_family(
    settings: NLUSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (settings.data_dir / "nlu_families.yml").write_text(FAMILIES, encoding="utf-8")
    args = ("evaluate", "--by-family", "--family", "stalking", "--output", str(tmp_path / "o"))
    assert run(settings, *args) == 2
    assert "stalking" in capsys.readouterr().err


def test_evaluate_by_family_without_tagged_examples_is_a_usage_error(
    settings: NLUSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "evaluate", "--by-family", "--output", str(tmp_path / "o")) == 2
    assert "family" in capsys.readouterr().err


UNRELATED = "与自杀/自伤/攻击行为无关"
PSYGUARD_LIKE = [
    ("我真的不想活了", "主动自杀意图"), ("活着没意思 想死", "主动自杀意图"),
    ("我想自杀", "主动自杀意图"), ("真想一死了之", "主动自杀意图"),
    ("活不下去了 想结束", "主动自杀意图"),
    ("今天考试考砸了", UNRELATED), ("和同事吵了一架", UNRELATED),
    ("最近有点焦虑", UNRELATED), ("睡眠不太好", UNRELATED), ("不知道选什么专业", UNRELATED),
]  # fmt: skip


def write_psyguard_like(settings: NLUSettings) -> None:
    (settings.data_dir / "psyguard_valid.json").write_text(
        json.dumps(
            [{"text": t, "labels": [label]} for t, label in PSYGUARD_LIKE], ensure_ascii=False
        ),
        encoding="utf-8",
    )


def test_evaluate_psyguard_cv_scores_each_fold_with_a_model_that_never_saw_it(
    settings: NLUSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_psyguard_like(settings)
    assert run(settings, "evaluate", "--psyguard-cv", "--output", str(tmp_path / "o")) == 0
    out = capsys.readouterr().out
    # Every text scored once, by the fold that did not train on it.
    assert re.search(r"recall suicide\+self-harm labels: [0-9.]+ \(\d/5\)", out)
    assert re.search(r"false alarms on 与自杀/自伤/攻击行为无关: [0-9.]+ \(\d/5\)", out)
    assert (tmp_path / "o" / "report-psyguard-cv.json").exists()
    for line in (tmp_path / "o" / "errors-psyguard-cv.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        assert row["error"] in ("false_alarm", "miss") and "risk" in row["parse"]


async def test_psyguard_cv_seed_deals_the_folds_anew_and_scores_each_text_once(
    settings: NLUSettings,
) -> None:
    write_psyguard_like(settings)
    project = read_training_data(settings.data_dir)
    psyguard = read_dataset(settings.data_dir / "psyguard_valid.json")
    config = CrisisConfig.load(settings.crisis_cues)
    orders = []
    for seed in (0, 1):
        scored, results = await psyguard_cross_validated(
            project, psyguard, settings, config, seed=seed
        )
        assert len(results) == len(scored)
        orders.append([example.text for example in scored])
    assert sorted(orders[0]) == sorted(orders[1]) == sorted(text for text, _ in PSYGUARD_LIKE)
    assert orders[0] != orders[1]
