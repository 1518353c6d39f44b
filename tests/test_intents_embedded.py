"""The embedded classifier: train/load round trip, versioned artifacts, fast path."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from intents import embedded
from intents.datasets import read_training_data
from intents.normalize import fold_for_matching
from intents.settings import NLUSettings

# A small training set in the project's format, split over two files: every nlu*.yml is read.
CRISIS_AND_TALK = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - 你好
    - 您好 在吗
    - 早上好
    - 哈喽 有人吗
    - 你好呀 社工
- intent: thanks
  examples: |
    - 谢谢
    - 谢谢你们
    - 太感谢了
    - 多谢帮忙
    - 谢谢老师
- intent: crisis_suicide
  examples: |
    - 我不想活了
    - 活着没意思 想死
    - 我想自杀
    - 真想一死了之
    - 活不下去了
- intent: emotional_distress
  metadata:
    negative: hyperbole
  examples: |
    - 累死了
    - 烦死了 孩子不听话
    - 心好累 压力好大
    - 最近老失眠
    - 好想哭
"""
SERVICES = """version: "3.1"
nlu:
- intent: job_training
  examples: |
    - 想报名育婴师培训
    - 有没有家政培训
    - 想学月嫂 怎么报名
    - 想找份工作
    - [电商直播](course)培训还有名额吗
- intent: financial_hardship
  examples: |
    - 房租交不起了
    - 孩子学费还差一点
    - 怎么申请低保
    - 家里没钱买米了
    - 微心愿怎么填
"""


def write_training_data(directory: Path) -> Path:
    """A data dir with two nlu*.yml files and a user dictionary; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "nlu.yml").write_text(CRISIS_AND_TALK, encoding="utf-8")
    (directory / "nlu_extra.yml").write_text(SERVICES, encoding="utf-8")
    (directory / "userdict.txt").write_text("育婴师 100 n\n微心愿 100 nz\n", encoding="utf-8")
    return directory


@pytest.fixture
def settings(tmp_path: Path) -> NLUSettings:
    return NLUSettings(model_dir=tmp_path / "models", data_dir=write_training_data(tmp_path / "d"))


def test_reads_every_nlu_file_and_strips_entity_annotations(settings: NLUSettings) -> None:
    examples = read_training_data(settings.data_dir)
    assert {e.intent for e in examples} == {
        "greet", "thanks", "crisis_suicide", "emotional_distress", "job_training",
        "financial_hardship",
    }  # fmt: skip
    assert any(e.text == "电商直播培训还有名额吗" for e in examples)
    assert sum(e.negative == "hyperbole" for e in examples) == 5


def test_train_then_load_round_trip(settings: NLUSettings) -> None:
    path = embedded.ensure_trained(settings)
    assert path.parent == settings.model_dir
    assert path.name == embedded.model_hash(settings)
    meta = json.loads((path / embedded.META_FILE).read_text(encoding="utf-8"))
    assert meta["examples"] == 30
    assert meta["sklearn_version"]
    classifier = embedded.load(settings)
    assert classifier.version == f"embedded-{path.name}"
    result = classifier.classify_sync("我想报名育婴师培训")
    assert result.intent == "job_training"
    assert abs(sum(classifier.probabilities("你好").values()) - 1.0) < 1e-9
    assert [name for name, _ in result.ranking] == sorted(
        classifier.intents, key=lambda name: -dict(result.ranking)[name]
    )[: len(result.ranking)]


def test_existing_model_is_reused_not_retrained(settings: NLUSettings) -> None:
    first = embedded.ensure_trained(settings)
    stamp = (first / embedded.MODEL_FILE).stat().st_mtime_ns
    assert embedded.ensure_trained(settings) == first
    assert (first / embedded.MODEL_FILE).stat().st_mtime_ns == stamp


def test_changed_data_gets_a_new_version(settings: NLUSettings) -> None:
    before = embedded.model_hash(settings)
    with (settings.data_dir / "nlu_extra.yml").open("a", encoding="utf-8") as file:
        file.write("    - 想学做面点\n")
    assert embedded.model_hash(settings) != before


def test_changed_pinyin_lexicon_gets_a_new_version(
    settings: NLUSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = tmp_path / "pinyin_words.txt"
    words.write_text("掐 50000\n", encoding="utf-8")
    monkeypatch.setattr(embedded, "PINYIN_WORDS", words)
    before = embedded.model_hash(settings)
    words.write_text("掐 50000\n砍死 10000\n", encoding="utf-8")
    assert embedded.model_hash(settings) != before


def test_model_from_another_sklearn_version_is_retrained(settings: NLUSettings) -> None:
    path = embedded.ensure_trained(settings)
    meta_file = path / embedded.META_FILE
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["sklearn_version"] = "0.0.1"
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    assert not embedded.is_current(path)
    embedded.ensure_trained(settings)
    assert embedded.is_current(path)


def test_fast_path_matches_sklearn(settings: NLUSettings) -> None:
    fitted = embedded.load(settings).fitted
    texts = ["你好", "房租交不起了 怎么办", "我不想活了", "完全没见过的字句 ¥%", ""]
    folded = [fold_for_matching(text) for text in texts]
    fast = np.array([fitted.probabilities(text) for text in folded])
    assert np.allclose(fast, fitted.probabilities_batch(folded), atol=1e-9)


def test_missing_training_data_is_an_error(tmp_path: Path) -> None:
    settings = NLUSettings(model_dir=tmp_path / "m", data_dir=tmp_path / "empty")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError):
        embedded.train(settings)


def test_loading_jieba_logs_nothing_below_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """jieba's "Building prefix dict..." lines would clutter the CLI's stderr."""
    caplog.set_level(logging.DEBUG)
    dictionary = tmp_path / "userdict.txt"
    dictionary.write_text("育婴师 100 n\n", encoding="utf-8")
    assert "育婴师" in embedded.JiebaAnalyzer(str(dictionary))("想学育婴师")
    assert not [record for record in caplog.records if record.name == "jieba"]


def test_fast_path_ranks_as_sklearn_on_every_training_example(model_dir: Path) -> None:
    """The project's model: the single-message path gives sklearn's probabilities, and so
    its ranking, for every training example and for odd input."""
    settings = NLUSettings(model_dir=model_dir)
    classifier = embedded.load(settings)
    fitted = classifier.fitted
    texts = [example.text for example in read_training_data(settings.data_dir)] + [
        "",
        "   \n\t ",
        "😭😭😭🙏",
        "我們還是會繼續堅持下去嗎 謝謝妳們",
        "𠀀𠀁𪚥 囧 卍 ¥%＃",
        "ｗｅｃｈａｔ微信号：ABC_123",
        "孩子发烧了怎么办 " * 200,
    ]
    reference = fitted.probabilities_batch([fold_for_matching(text) for text in texts])
    for text, expected in zip(texts, reference, strict=True):
        fast = classifier.classify_sync(text)
        slow = embedded.classification(dict(zip(fitted.classes, expected.tolist(), strict=True)))
        assert [name for name, _ in fast.ranking] == [name for name, _ in slow.ranking], text
        assert np.allclose(
            [p for _, p in fast.ranking], [p for _, p in slow.ranking], rtol=0, atol=1e-9
        ), text


@pytest.mark.parametrize(
    ("risk", "greeting"),
    [("割腕", "晚安"), ("喝农药", "晚安"), ("寻短见", "嗨"), ("轻生", "欢迎"), ("上吊", "早安")],
)
def test_the_word_vector_block_reads_a_means_of_suicide_apart_from_a_greeting(
    model_dir: Path, risk: str, greeting: str
) -> None:
    """The project model's dense block alone (``word_vectors.py``): what the words mean moves
    its logits toward crisis_suicide for the one and toward greet for the other."""
    fitted = embedded.load(NLUSettings(model_dir=model_dir)).fitted
    cut = fitted.word.analyzer
    moved = fitted.word_vector_logits(cut(risk)) - fitted.word_vector_logits(cut(greeting))
    assert moved[fitted.classes.index("crisis_suicide")] > moved[fitted.classes.index("greet")]


def test_reference_path_is_sklearns_predict_proba(settings: NLUSettings) -> None:
    """At temperature 1 the reference path is the logistic regression's own predict_proba."""
    fitted = embedded.load(settings).fitted
    folded = [fold_for_matching(text) for text in ["你好", "房租交不起了", "我不想活了", ""]]
    assert fitted.sentences is not None
    blocks = [v.transform(folded) for v in fitted.vectorizers]
    features = sparse.hstack([*blocks, fitted.sentences.transform(folded)])
    untempered = embedded.FittedModel(fitted.vectorizers, fitted.model, sentences=fitted.sentences)
    assert np.allclose(
        untempered.probabilities_batch(folded), fitted.model.predict_proba(features), atol=1e-12
    )
    fast = np.array([untempered.probabilities(text) for text in folded])
    assert np.allclose(fast, fitted.model.predict_proba(features), atol=1e-9)


def test_loading_looks_up_the_pinyin_of_every_known_character(settings: NLUSettings) -> None:
    embedded.ensure_trained(settings)
    embedded._syllable.cache_clear()
    fitted = embedded.load(settings).fitted
    characters = [term for term in fitted.vectorizers[1].vocabulary_ if len(term) == 1]
    assert embedded._syllable.cache_info().currsize == len(characters)


def test_pinyin_typed_messages_share_the_characters_pinyin_features() -> None:
    analyze = embedded.PinyinAnalyzer()
    assert analyze("ta he le jiu jiu da wo") == analyze("他喝了酒就打我")
    assert analyze("wechat ok") == []  # English words are not pinyin


@pytest.mark.parametrize("text", ["他又打我了", "孩子把药吐了 我又喂了一次", "今晚好想一觉不醒"])
def test_the_words_shares_add_up_to_the_word_and_vector_blocks(model_dir: Path, text: str) -> None:
    """Each word's share of a crisis logit over another intent's, from the fast path, sums to
    what sklearn's own word and word-vector columns give that difference."""
    fitted = embedded.load(NLUSettings(model_dir=model_dir)).fitted
    folded = fold_for_matching(text)
    towards, against = fitted.classes.index("crisis_violence"), fitted.classes.index("thanks")
    shares = fitted.word_shares(folded, towards, against)
    coef = np.asarray(fitted.model.coef_)
    word_columns = len(fitted.word.vocabulary_)
    ngram_columns = sum(len(v.vocabulary_) for v in fitted.vectorizers)
    assert fitted.sentences is not None and fitted.sentences.mean_ is not None
    word_part = fitted.word.transform([folded]) @ coef[:, :word_columns].T
    centred = fitted.sentences.transform([folded]).toarray()
    raw = centred + fitted.sentences.mean_ * fitted.sentences.scale
    vector_part = raw @ coef[:, ngram_columns:].T
    expected = (np.asarray(word_part) + vector_part)[0]
    assert sum(shares.values()) == pytest.approx(expected[towards] - expected[against], abs=1e-6)


def test_the_words_a_crisis_guess_rests_on_are_the_messages_own(model_dir: Path) -> None:
    classifier = embedded.load(NLUSettings(model_dir=model_dir))
    text = "他又打我了"
    words = classifier.leaning_words(text, classifier.probabilities(text), "crisis_violence")
    assert "打" in words, words
    assert set(words) <= set(classifier.fitted.word.analyzer(text))
    assert classifier.leaning_words("", classifier.probabilities(""), "crisis_suicide") == ()
    assert classifier.leaning_words(text, classifier.probabilities(text), "no_such") == ()
