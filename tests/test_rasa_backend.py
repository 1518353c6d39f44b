"""A real Rasa 3.6 server, trained small from the project's files, answering the classifier.

Needs the Rasa venv (`make rasa-venv`). Without it the module is skipped, unless
CARELINE_TEST_RASA=1 (as in CI), where a missing venv fails the run.
"""

from __future__ import annotations

import inspect
import logging
import os
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from intents import build_nlu
from intents.datasets import read_training_data
from intents.protocol import ClassifierUnavailable
from intents.rasa_client import RasaClassifier
from intents.rasa_train import (
    DATA_DIR,
    PROJECT_ROOT,
    STAMP,
    Overrides,
    RasaServer,
    default_rasa_venv,
    prepare,
    rasa_command,
    rasa_env,
    train,
)
from intents.taxonomy import Intent

pytestmark = pytest.mark.rasa

RASA_VENV = default_rasa_venv()
REQUIRED = os.environ.get("CARELINE_TEST_RASA") == "1"
INSTALLED = (RASA_VENV / STAMP).exists() and rasa_command(RASA_VENV).exists()
if not INSTALLED and not REQUIRED:
    pytest.skip(f"no Rasa venv at {RASA_VENV} (make rasa-venv)", allow_module_level=True)

# Small enough for CI on 2 cores (DIET takes 10-20 s per epoch here with 2-char n-grams),
# large enough that the model has clearly learned the project's examples.
TEST_OVERRIDES = Overrides(epochs=5, max_ngram=2)
# `rasa run` imports TensorFlow and loads the model before /status answers.
START_DEADLINE_SECONDS = 240
EXAMPLES_PER_INTENT = 4
CRISIS_TEXT = "药我已经攒够了 孩子们没有我会过得更好"


@pytest.fixture(scope="module")
def rasa_venv() -> Path:
    if not INSTALLED:
        pytest.fail(f"CARELINE_TEST_RASA=1 but no Rasa venv at {RASA_VENV}: run make rasa-venv")
    return RASA_VENV


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, rasa_venv: Path) -> Path:
    out = tmp_path_factory.mktemp("rasa")
    build = prepare(out / "build", overrides=TEST_OVERRIDES)
    log = out / "train.log"
    try:
        # A private component cache, so the test really trains instead of restoring.
        return train(
            build, out / "models", rasa_venv, log=log, env={"RASA_CACHE_DIRECTORY": str(out)}
        )
    except subprocess.CalledProcessError:
        pytest.fail("rasa train nlu failed:\n" + _tail(log))


@pytest.fixture(scope="module")
def start_server(
    tmp_path_factory: pytest.TempPathFactory, rasa_venv: Path, model: Path
) -> Iterator[Callable[[], RasaServer]]:
    """Starts servers of the trained model; every one is stopped at the end of the module."""
    servers: list[RasaServer] = []

    def start() -> RasaServer:
        server = RasaServer(rasa_venv, model, log=tmp_path_factory.mktemp("serve") / "rasa.log")
        servers.append(server.start())
        try:
            server.wait_ready(START_DEADLINE_SECONDS)
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"{exc}:\n{server.log_tail()}")
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def server(start_server: Callable[[], RasaServer]) -> RasaServer:
    return start_server()


@pytest.fixture
async def classifier(server: RasaServer) -> AsyncIterator[RasaClassifier]:
    client = RasaClassifier(server.url, timeout=10.0)
    yield client
    await client.close()


def project_examples() -> dict[str, list[str]]:
    """The first few examples of every intent in the project's NLU data."""
    examples: dict[str, list[str]] = {}
    for example in read_training_data(DATA_DIR):
        examples.setdefault(example.intent, []).append(example.text)
    return {intent: texts[:EXAMPLES_PER_INTENT] for intent, texts in examples.items()}


async def test_rasa_learned_the_project_examples(classifier: RasaClassifier) -> None:
    examples = project_examples()
    assert set(examples) == {intent.value for intent in Intent}
    known = {intent.value for intent in Intent}
    hits = total = 0
    for intent, texts in examples.items():
        for text in texts:
            scores = await classifier.classify(text)
            assert scores.intent in known  # nlu_fallback is mapped to out_of_scope
            assert {name for name, _ in scores.ranking} <= known
            assert 0.0 <= scores.confidence <= 1.0
            hits += scores.intent == intent
            total += 1
    # A few epochs do not fit every example, but a model that learned nothing scores ~1/15.
    assert hits / total >= 0.7, f"{hits}/{total} training examples classified as labelled"


async def test_version_names_the_served_model(classifier: RasaClassifier, model: Path) -> None:
    await classifier.classify("你好")
    assert classifier.version == f"rasa:{model.name}"


async def test_odd_input_gets_an_answer(classifier: RasaClassifier) -> None:
    for text in ("", "。。。", "😭😭😭", "\u200b\ufeff", "半个\ud800代理对", "喺唔喺度啊" * 400):
        scores = await classifier.classify(text)
        assert scores.intent in {intent.value for intent in Intent}


# Run by the Rasa venv's Python: reads config.yml the way `rasa train` does and builds the
# NLU training graph from it, which checks every component name and option.
VALIDATE_CONFIG = """
import sys
from rasa.engine.recipes.recipe import Recipe
from rasa.shared.data import TrainingType
from rasa.shared.utils.io import read_model_configuration
config = read_model_configuration(sys.argv[1])
recipe = Recipe.recipe_for_name(config.get("recipe"))
graph = recipe.graph_config_for_recipe(config, {}, training_type=TrainingType.NLU)
print(" ".join(sorted(graph.train_schema.nodes)))
print(" ".join(sorted(graph.predict_schema.nodes)))
"""


def test_config_yml_as_it_is_is_a_valid_rasa_config(rasa_venv: Path) -> None:
    # The service's own keys sit beside Rasa's: Rasa must ignore them.
    done = subprocess.run(
        [
            str(rasa_venv / "bin" / "python"),
            "-c",
            VALIDATE_CONFIG,
            str(PROJECT_ROOT / "config.yml"),
        ],
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    trained, predicting = (line.split() for line in done.stdout.splitlines()[-2:])
    for component in ("JiebaTokenizer", "CountVectorsFeaturizer", "DIETClassifier"):
        assert any(node.startswith(f"train_{component}") for node in trained), component
    assert any(node.startswith("run_FallbackClassifier") for node in predicting)


@pytest.fixture(scope="module")
def embedded_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded-models")


@pytest.fixture(scope="module")
def nlu_settings() -> type:
    """The gateway NLU's settings class; skips while the composite NLU is not there yet."""
    try:
        from intents.settings import NLUSettings
    except ImportError:
        pytest.skip("intents.settings.NLUSettings not there yet")
    if "settings" not in inspect.signature(build_nlu).parameters:
        pytest.skip("intents.build_nlu(settings) not there yet")
    return NLUSettings


def composite_nlu(settings_class: type, url: str, model_dir: Path):  # type: ignore[no-untyped-def]
    """The gateway's NLU with the Rasa backend: Rasa intents, local crisis layer, fallback."""
    return build_nlu(
        settings_class(backend="rasa", rasa_url=url, rasa_timeout=10.0, model_dir=model_dir)
    )


async def test_gateway_nlu_classifies_through_rasa_and_flags_crisis_locally(
    nlu_settings: type, server: RasaServer, classifier: RasaClassifier, embedded_model_dir: Path
) -> None:
    nlu = composite_nlu(nlu_settings, server.url, embedded_model_dir)
    try:
        greeting = await nlu.parse("你好呀 在吗")
        from_rasa = await classifier.classify("你好呀 在吗")
        assert greeting.intent_ranking == from_rasa.ranking
        assert greeting.model_version.startswith(classifier.version)
        # Rasa's intent, unless it was too unsure for the service's threshold.
        if from_rasa.confidence >= nlu_settings().threshold:
            assert greeting.intent == from_rasa.intent
        else:
            assert greeting.intent == "out_of_scope"
        assert not greeting.risk.crisis
        crisis = await nlu.parse(CRISIS_TEXT)
        # The crisis layer runs locally, whatever the small Rasa model made of the text.
        assert crisis.risk.crisis
        assert crisis.risk.reasons
        assert nlu.fallbacks == 0
    finally:
        await nlu.close()


async def test_gateway_nlu_falls_back_to_embedded_when_rasa_stops(
    nlu_settings: type,
    start_server: Callable[[], RasaServer],
    embedded_model_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = start_server()  # its own server: this test stops it
    nlu = composite_nlu(nlu_settings, server.url, embedded_model_dir)
    embedded_only = build_nlu(nlu_settings(backend="embedded", model_dir=embedded_model_dir))
    client = RasaClassifier(server.url, timeout=10.0)
    messages = (CRISIS_TEXT, "想报名育婴师培训 有名额吗", "谢谢你们")
    try:
        await nlu.parse("你好")
        await client.classify("你好")
        assert nlu.fallbacks == 0
        server.stop()
        with pytest.raises(ClassifierUnavailable):
            await client.classify("你好")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="intents"):
            during_outage = [await nlu.parse(text) for text in messages]
        expected = [await embedded_only.parse(text) for text in messages]
        assert nlu.fallbacks == len(messages)
        for got, want in zip(during_outage, expected, strict=True):
            assert (got.intent, got.intent_ranking, got.risk) == (
                want.intent,
                want.intent_ranking,
                want.risk,
            )
        assert during_outage[0].risk.crisis
        assert [r for r in caplog.records if r.levelno >= logging.WARNING], "outage not logged"
        assert all(text not in r.getMessage() for r in caplog.records for text in messages)
    finally:
        await nlu.close()
        await embedded_only.close()
        await client.close()


def _tail(log: Path, lines: int = 40) -> str:
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text("utf-8", errors="replace").splitlines()[-lines:])
