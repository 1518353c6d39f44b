"""The embedded intent classifier: jieba words + character n-grams + pinyin + static word
vectors (``word_vectors.py``) → a linear model.

Runs in-process in well under a millisecond per message. Artifacts live under
``<model_dir>/<hash>/`` where the hash covers the training data, the user dictionary, the
training configuration and ``CODE_VERSION``, so any change trains a new model beside the old.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba
import joblib
import numpy as np
import sklearn
from pypinyin import Style, lazy_pinyin
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from intents import word_vectors
from intents.calibration import Calibration, fit_calibration, softmax
from intents.datasets import (
    Example,
    crisis_corpus_files,
    read_crisis_corpus,
    read_training_data,
    training_files,
)
from intents.normalize import fold_for_matching
from intents.pinyin import PINYIN_WORDS
from intents.pinyin import warm as warm_pinyin
from intents.settings import NLUSettings
from intents.taxonomy import CRISIS_INTENTS

log = logging.getLogger(__name__)
# jieba logs "Building prefix dict..." at DEBUG to its own stderr handler on every load: noise
# in `careline train|parse` and `make run`, not something a user needs to see.
jieba.setLogLevel(logging.WARNING)

# Bump when feature extraction or training changes in a way the data hash cannot see.
CODE_VERSION = "14"  # 14: a laugh typed among pinyin syllables parts the run
TRAINING_CONFIG: dict[str, Any] = {
    "word": {"sublinear_tf": True, "min_df": 1},
    "char": {"ngram_range": [1, 3], "sublinear_tf": True, "min_df": 1},
    "pinyin": {"sublinear_tf": True, "min_df": 1},
    # × 2 against the three n-gram blocks (each of unit norm): × 5 and × 10 overfit (unseen
    # families 115 → 107 → 101 of 161 on the five weakest; intents/HISTORY.md, eleventh pass).
    "sentence_vectors": {
        "scale": 2.0,
        "min_frequency": word_vectors.MIN_FREQUENCY,
        "sif_a": word_vectors.SIF_A,
    },
    "model": {"C": 100.0, "max_iter": 3000, "class_weight": "balanced"},
    "calibration": {"method": "temperature, crisis platt", "folds": 3, "bounds": [0.2, 5.0]},
}
# The words shown beside a model's crisis probability: at most this many, each raising the
# crisis logit over the message's likeliest other intent by this much or more.
_TOP_WORDS = 3
_WORD_SHARE = 0.5
_WORDLIKE = re.compile(r"[\u3400-\U0002ffffa-z0-9]")
MODEL_FILE = "model.joblib"
META_FILE = "meta.json"


@dataclass(frozen=True)
class Classification:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]


_tokenizers: dict[str | None, jieba.Tokenizer] = {}
_tokenizers_lock = threading.Lock()


def _tokenizer(user_dictionary: str | None) -> jieba.Tokenizer:
    """One jieba tokenizer per user dictionary: building one costs ~1 s."""
    with _tokenizers_lock:
        if user_dictionary not in _tokenizers:
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            if user_dictionary and Path(user_dictionary).exists():
                tokenizer.load_userdict(user_dictionary)
            _tokenizers[user_dictionary] = tokenizer
        return _tokenizers[user_dictionary]


class JiebaAnalyzer:
    """Picklable jieba word analyzer with the domain user dictionary."""

    def __init__(self, user_dictionary: str | None) -> None:
        self.user_dictionary = user_dictionary
        self._tokenizer: jieba.Tokenizer | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"user_dictionary": self.user_dictionary}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.user_dictionary = state["user_dictionary"]
        self._tokenizer = None

    def tokenizer(self) -> jieba.Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = _tokenizer(self.user_dictionary)
        return self._tokenizer

    def __call__(self, text: str) -> list[str]:
        return [word for word in self.tokenizer().lcut(text) if word.strip()]


def model_hash(settings: NLUSettings) -> str:
    digest = hashlib.sha256()
    digest.update(f"code:{CODE_VERSION}\n".encode())
    digest.update(json.dumps(TRAINING_CONFIG, sort_keys=True).encode())
    digest.update(f"word vectors:{word_vectors.table_key()}\n".encode())
    sources = training_files(settings.data_dir) + crisis_corpus_files(settings.data_dir)
    if settings.user_dictionary:
        sources.append(settings.user_dictionary)
    # The pinyin decoder's lexicon changes the text the features are made of.
    sources += [PINYIN_WORDS] if PINYIN_WORDS.exists() else []
    for path in sources:
        digest.update(f"\n{path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fit_model(
    examples: Sequence[Example], user_dictionary: Path | None, *, calibrate: bool = True
) -> FittedModel:
    """Vectorizers (jieba words, characters, pinyin, word vectors) and the fitted linear model,
    calibrated (``calibration.py``) on cross-validated predictions."""
    texts = [fold_for_matching(example.text) for example in examples]
    labels = [example.intent for example in examples]
    fitted = _fit(texts, labels, user_dictionary)
    if calibrate:
        fitted.calibration = _fit_calibration(texts, labels, user_dictionary)
    return fitted


def _fit(texts: Sequence[str], labels: Sequence[str], user_dictionary: Path | None) -> FittedModel:
    char_config = dict(TRAINING_CONFIG["char"])
    char_config["ngram_range"] = tuple(char_config["ngram_range"])
    words = JiebaAnalyzer(str(user_dictionary) if user_dictionary else None)
    vectorizers = [
        TfidfVectorizer(analyzer=words, **TRAINING_CONFIG["word"]),
        TfidfVectorizer(analyzer="char", **char_config),
        TfidfVectorizer(analyzer=PinyinAnalyzer(), **TRAINING_CONFIG["pinyin"]),
    ]
    sentences = SentenceVectors(words, TRAINING_CONFIG["sentence_vectors"]["scale"])
    blocks = [v.fit_transform(texts) for v in vectorizers] + [sentences.fit_transform(texts)]
    model = LogisticRegression(**TRAINING_CONFIG["model"])
    model.fit(sparse.hstack(blocks).tocsr(), labels)
    return FittedModel(vectorizers, model, sentences=sentences)


def out_of_fold_logits(
    texts: Sequence[str], labels: Sequence[str], user_dictionary: Path | None
) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """Each example's logits from a model that did not train on it (3 folds), and the class
    order of their columns; None when some intent has too few examples to cross-validate."""
    folds = int(TRAINING_CONFIG["calibration"]["folds"])
    y = np.asarray(labels)
    if min(Counter(labels).values()) < folds:
        return None
    classes = tuple(sorted(set(labels)))
    logits = np.zeros((len(y), len(classes)))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    for train_index, test_index in splitter.split(np.zeros(len(y)), y):
        fold = _fit([texts[i] for i in train_index], y[train_index], user_dictionary)
        columns = [classes.index(name) for name in fold.classes]
        logits[np.ix_(test_index, columns)] = fold.logits_batch([texts[i] for i in test_index])
    return logits, classes


def _fit_calibration(
    texts: Sequence[str], labels: Sequence[str], user_dictionary: Path | None
) -> Calibration:
    """The temperature that minimises the log-loss of out-of-fold predictions (the linear model
    is under-confident on this data, so too many right answers would fall below the fallback
    threshold), and the crisis intents' Platt scalings on the same predictions."""
    found = out_of_fold_logits(texts, labels, user_dictionary)
    if found is None:
        return Calibration()
    logits, classes = found
    crisis = sorted(str(intent) for intent in CRISIS_INTENTS)
    bounds = TRAINING_CONFIG["calibration"]["bounds"]
    return fit_calibration(logits, labels, classes, crisis, bounds)


# One toneless Mandarin syllable: initial + final (Hanyu Pinyin's table), as typed in
# romanised messages ("ta he le jiu hui lai jiu da wo").
_PINYIN_SYLLABLE = re.compile(
    r"(?:[bpmfdtnlgkhjqxrzcsyw]|zh|ch|sh)?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|van|ai|ei|ao|ou|an|en|in|un|vn|ia|ie|iu"
    r"|ua|uo|ui|ue|ve|er|a|o|e|i|u|v|ü)"
)
_CJK_OR_WORD = re.compile(r"[\u3400-\U0002ffff]|[a-zü]+")


class PinyinAnalyzer:
    """Toneless pinyin syllables and syllable pairs: homophone typos (微心原, 电上直播, 家爆)
    share them with the intended words, and a message typed in pinyin gets the same features
    as the characters it spells."""

    def __call__(self, text: str) -> list[str]:
        # Character by character through a cache: pypinyin's phrase segmentation costs ~1 ms
        # per 80 characters, and a typo feature does not need the polyphone context.
        syllables: list[str] = []
        for token in _CJK_OR_WORD.findall(text):
            if len(token) == 1 and not token.isascii():
                if syllable := _syllable(token):
                    syllables.append(syllable)
            elif _PINYIN_SYLLABLE.fullmatch(token):
                syllables.append(token.replace("ü", "v"))
        return syllables + [f"{a}_{b}" for a, b in zip(syllables, syllables[1:], strict=False)]


@lru_cache(maxsize=16384)
def _syllable(char: str) -> str:
    if not "\u3400" <= char <= "\U0002ffff":
        return ""  # only CJK characters have pinyin
    return "".join(lazy_pinyin(char, style=Style.NORMAL, errors="ignore")).strip()


class SentenceVectors:
    """The message as one vector of what its words mean (``word_vectors.py``), centred on the
    training messages' mean: what lets a word the examples never held (烟头, 别再醒了) count."""

    def __init__(self, analyzer: JiebaAnalyzer, scale: float) -> None:
        self.analyzer = analyzer
        self.scale = scale
        self.mean_: np.ndarray | None = None

    def vector(self, words: Sequence[str]) -> np.ndarray:
        """Of a message's jieba words, uncentred and unscaled: the fast path folds both into its
        weights. In float64, as the model's weights are, so both paths give the same
        probabilities."""
        return word_vectors.load().sentence(words).astype(np.float64)

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        rows = [self.vector(self.analyzer(text)) for text in texts]
        return np.vstack(rows) if rows else np.zeros((0, word_vectors.DIMENSIONS))

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        vectors = self._vectors(texts)
        self.mean_ = vectors.mean(axis=0)
        return sparse.csr_matrix((vectors - self.mean_) * self.scale)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return sparse.csr_matrix((self._vectors(texts) - self.mean_) * self.scale)


@dataclass(frozen=True)
class _Block:
    """One vectorizer at inference time: its analyzer, and each term's row in the model's
    idf-weighted coefficients together with the term's idf."""

    analyze: Callable[[str], list[str]]
    terms: dict[str, tuple[int, float]]

    def features(self, terms: list[str], rows: list[int], weights: list[float]) -> None:
        """Appends the rows of the ``terms`` (``analyze``'s) found and their sublinear tf divided
        by the block's tf-idf l2 norm: TfidfVectorizer's vector, with idf moved into the
        coefficients."""
        found, norm = self._found(terms)
        for _, row, tf in found:
            rows.append(row)
            weights.append(tf / norm)

    def weighted(self, terms: list[str]) -> list[tuple[str, int, float]]:
        """(term, row, weight) of each of the ``terms`` found, as ``features`` appends them."""
        found, norm = self._found(terms)
        return [(term, row, tf / norm) for term, row, tf in found]

    def _found(self, terms: list[str]) -> tuple[list[tuple[str, int, float]], float]:
        found: list[tuple[str, int, float]] = []
        squares = 0.0
        for term, count in Counter(terms).items():
            entry = self.terms.get(term)
            if entry is not None:
                row, idf = entry
                tf = 1.0 + math.log(count) if count > 1 else 1.0
                found.append((term, row, tf))
                squares += (tf * idf) ** 2
        return found, math.sqrt(squares)


class FittedModel:
    """Vectorizers and the linear model, with a fast single-message path."""

    def __init__(
        self,
        vectorizers: list[TfidfVectorizer],
        model: LogisticRegression,
        calibration: Calibration | None = None,
        sentences: SentenceVectors | None = None,
    ) -> None:
        self.vectorizers = vectorizers
        self.model = model
        self.calibration = calibration or Calibration()
        self.sentences = sentences
        self._prepare()

    @property
    def temperature(self) -> float:
        """softmax(logits / temperature) are the intent probabilities."""
        return self.calibration.temperature

    def __getstate__(self) -> dict[str, Any]:
        return {
            "vectorizers": self.vectorizers,
            "model": self.model,
            "calibration": self.calibration.to_dict(),
            "sentences": self.sentences,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        calibration = Calibration.from_dict(state["calibration"])
        self.__init__(  # type: ignore[misc]
            state["vectorizers"], state["model"], calibration, state.get("sentences")
        )

    @property
    def word(self) -> TfidfVectorizer:
        return self.vectorizers[0]

    def warm(self) -> None:
        """Builds jieba's dictionary, and looks up the pinyin of every character the model
        knows (~1,500, ~30 ms; ~25 µs each when a message meets them first), and the pinyin
        decoder's lexicon (~1.5 s, not in the first romanised message's request)."""
        self.word.analyzer.tokenizer()
        warm_pinyin()
        for term in self.vectorizers[1].vocabulary_:  # character n-grams
            if len(term) == 1:
                _syllable(term)
        if self.sentences is not None:
            word_vectors.load()

    def _prepare(self) -> None:
        # sklearn's transform and decision_function spend most of a millisecond checking
        # their input for one message. Here a message costs dict look-ups and one small
        # matrix product: the weights hold idf × coefficient for every feature, so a block
        # only needs its tf-idf norm, and l2 normalisation stays per vectorizer as in sklearn.
        self.classes: tuple[str, ...] = tuple(str(c) for c in self.model.classes_)
        self._blocks: list[_Block] = []
        offset = 0
        for vectorizer in self.vectorizers:
            idf = vectorizer.idf_.tolist()
            terms = {term: (offset + i, idf[i]) for term, i in vectorizer.vocabulary_.items()}
            self._blocks.append(_Block(vectorizer.build_analyzer(), terms))
            offset += len(idf)
        coef = np.asarray(self.model.coef_, dtype=float)
        intercept = np.asarray(self.model.intercept_, dtype=float)
        if coef.shape[0] == 1:  # binary problems store one row
            coef, intercept = np.vstack([-coef[0], coef[0]]), np.hstack([-intercept, intercept])
        # The word-vector block's columns follow the n-grams': its scale goes into its weights
        # and its centring into the intercept, so a message needs only its raw vector.
        self._dense: np.ndarray | None = None
        if self.sentences is not None and self.sentences.mean_ is not None:
            dense = coef[:, offset:].T * self.sentences.scale  # dimensions × classes
            intercept = intercept - self.sentences.mean_ @ dense
            self._dense = np.ascontiguousarray(dense)
        idf = np.concatenate([v.idf_ for v in self.vectorizers])
        # features × classes, and the intercept as a last row that every message has once.
        self._weights = np.ascontiguousarray(
            np.vstack([coef[:, :offset].T * idf[:, None], intercept])
        )
        self._intercept_row = offset

    def probabilities(self, folded: str) -> list[float]:
        rows: list[int] = []
        weights: list[float] = []
        # The word block's terms are the words the sentence block reads (one jieba analyzer,
        # ``_fit``): the message is cut once.
        words = self._blocks[0].analyze(folded)
        self._blocks[0].features(words, rows, weights)
        for block in self._blocks[1:]:
            block.features(block.analyze(folded), rows, weights)
        rows.append(self._intercept_row)
        weights.append(1.0)
        # For one message a numpy call costs more than its arithmetic: take + dot straight
        # from the lists (half the time of list indexing), and the softmax in Python.
        logits = np.dot(weights, self._weights.take(rows, axis=0))
        if self._dense is not None:
            logits = logits + self.word_vector_logits(words)
        logits = logits.tolist()
        top = max(logits)
        exps = [math.exp((logit - top) / self.temperature) for logit in logits]
        total = sum(exps)
        return [value / total for value in exps]

    def word_shares(self, folded: str, towards: int, against: int) -> dict[str, float]:
        """Each jieba word's share of ``logit[towards] - logit[against]``: its term in the word
        block and its part of the word-vector block, both linear in the word. The character and
        pinyin blocks, whose features cut across words, are left out."""
        words = self._blocks[0].analyze(folded)
        shares: dict[str, float] = {}
        for term, row, weight in self._blocks[0].weighted(words):
            coefficients = self._weights[row]
            shares[term] = weight * float(coefficients[towards] - coefficients[against])
        if self._dense is not None and self.sentences is not None:
            direction = self._dense[:, towards] - self._dense[:, against]
            vectors = word_vectors.load().shares(words)
            for word, vector in zip(words, vectors, strict=True):
                shares[word] = shares.get(word, 0.0) + float(vector @ direction)
        return shares

    def word_vector_logits(self, words: Sequence[str]) -> np.ndarray:
        """The word-vector block's share of the logits for a message's jieba ``words`` (its
        centring is in the intercept)."""
        if self._dense is None or self.sentences is None:
            return np.zeros(len(self.classes))
        return self.sentences.vector(words) @ self._dense

    def logits_batch(self, folded: Sequence[str]) -> np.ndarray:
        """sklearn's own path, for evaluation and calibration on many messages."""
        blocks = [v.transform(folded) for v in self.vectorizers]
        if self.sentences is not None:
            blocks.append(self.sentences.transform(folded))
        features = sparse.hstack(blocks).tocsr()
        logits = np.asarray(self.model.decision_function(features), dtype=float)
        return logits if logits.ndim == 2 else np.column_stack([-logits, logits])

    def probabilities_batch(self, folded: Sequence[str]) -> np.ndarray:
        return softmax(self.logits_batch(folded) / self.temperature)


class EmbeddedClassifier:
    """Implements ``IntentClassifier``; also exposes raw probabilities for the crisis layer."""

    def __init__(self, fitted: FittedModel, version: str) -> None:
        self.fitted = fitted
        self.version = version

    @property
    def intents(self) -> tuple[str, ...]:
        return self.fitted.classes

    def probabilities(self, text: str) -> dict[str, float]:
        values = self.fitted.probabilities(fold_for_matching(text))
        return dict(zip(self.fitted.classes, values, strict=True))

    def crisis_probabilities(self, probabilities: Mapping[str, float]) -> dict[str, float]:
        """Each crisis intent's probability Platt-scaled out of fold: what the crisis layer
        weighs (``probabilities`` as given by ``probabilities``)."""
        # A model too small to cross-validate has no scaling: its crisis probabilities as they are.
        crisis = {str(intent): probabilities.get(intent, 0.0) for intent in CRISIS_INTENTS}
        return crisis | self.fitted.calibration.crisis_probabilities(probabilities)

    def leaning_words(
        self, text: str, probabilities: Mapping[str, float], intent: str, top: int = _TOP_WORDS
    ) -> tuple[str, ...]:
        """The words of ``text`` that raised ``intent`` most over the message's likeliest other
        intent (暴力 over 其他: 他, 说): what a worker reads beside the model's probability, so a
        guess resting on a pronoun is seen as one."""
        others = [name for name in self.fitted.classes if name not in CRISIS_INTENTS]
        if intent not in self.fitted.classes or not others:
            return ()
        against = max(others, key=lambda name: probabilities.get(name, 0.0))
        shares = self.fitted.word_shares(
            fold_for_matching(text),
            self.fitted.classes.index(intent),
            self.fitted.classes.index(against),
        )
        ranked = sorted(
            (
                (share, word)
                for word, share in shares.items()
                if share >= _WORD_SHARE and _WORDLIKE.search(word)
            ),
            reverse=True,
        )
        return tuple(word for _, word in ranked[:top])

    def classify_sync(self, text: str) -> Classification:
        return classification(self.probabilities(text))

    async def classify(self, text: str) -> Classification:
        return self.classify_sync(text)


def classification(probabilities: dict[str, float], top: int = 10) -> Classification:
    ranking = tuple(sorted(probabilities.items(), key=lambda item: -item[1])[:top])
    intent, confidence = ranking[0]
    return Classification(intent, confidence, ranking)


def train(
    settings: NLUSettings,
    *,
    examples: Sequence[Example] | None = None,
    replace_current: bool = False,
) -> Path:
    """Trains on ``settings.data_dir`` (the project's examples plus the crisis corpus beside
    them) and saves the artifact; returns its directory. A current model of the same hash that
    appeared meanwhile is kept unless ``replace_current``."""
    digest = model_hash(settings)
    examples = list(examples) if examples is not None else read_training_data(settings.data_dir)
    examples += read_crisis_corpus(settings.data_dir)
    started = time.perf_counter()
    fitted = fit_model(examples, settings.user_dictionary)
    target = settings.model_dir / digest
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=settings.model_dir))
    try:
        joblib.dump(fitted, staging / MODEL_FILE)
        meta = {
            "hash": digest,
            "code_version": CODE_VERSION,
            "sklearn_version": sklearn.__version__,
            "training_config": TRAINING_CONFIG,
            "examples": len(examples),
            "intents": sorted({example.intent for example in examples}),
            "temperature": round(fitted.temperature, 4),
            "calibration": fitted.calibration.to_dict(),
            "trained_seconds": round(time.perf_counter() - started, 2),
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if is_current(target) and not replace_current:
            return target  # another process trained the same hash meanwhile: keep theirs
        if target.exists():
            shutil.rmtree(target)  # stale (another scikit-learn version) or half-deleted
        os.replace(staging, target)  # atomic: a reader never sees a half-written model
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log.info("trained intent model %s on %d examples", digest, len(examples))
    return target


def model_path(settings: NLUSettings) -> Path:
    return settings.model_dir / model_hash(settings)


def is_current(path: Path) -> bool:
    meta_file = path / META_FILE
    if not (path / MODEL_FILE).exists() or not meta_file.exists():
        return False
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    # A pickle from another scikit-learn version may load wrongly: retrain instead.
    return meta.get("sklearn_version") == sklearn.__version__


def ensure_trained(settings: NLUSettings, *, force: bool = False) -> Path:
    path = model_path(settings)
    if force or not is_current(path):
        path = train(settings, replace_current=force)
    return path


def load(settings: NLUSettings) -> EmbeddedClassifier:
    """Loads the current model, training it first when missing."""
    path = ensure_trained(settings)
    fitted: FittedModel = joblib.load(path / MODEL_FILE)
    fitted.warm()  # now, not on the first messages
    return EmbeddedClassifier(fitted, f"embedded-{path.name}")
