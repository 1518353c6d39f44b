"""The Rasa build directory generated from config.yml and intents/data (no Rasa needed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from intents.rasa_train import (
    DATA_DIR,
    PROJECT_ROOT,
    Overrides,
    RasaServer,
    ensure_model,
    main,
    prepare,
    rasa_config,
    serve_command,
    train,
)

SERVICE_CONFIG = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text("utf-8"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of the project's data dir, YAML files beside the user dictionary included."""
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


def component(config: dict, name: str, **match: object) -> dict:
    found = [
        c
        for c in config["pipeline"]
        if c["name"] == name and all(c.get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, f"{name} {match}: {found}"
    return found[0]


def test_project_config_is_the_pipeline_the_issue_asks_for() -> None:
    config = rasa_config(SERVICE_CONFIG, Path("/build/jieba"), Overrides())
    assert set(config) <= {"recipe", "language", "pipeline", "assistant_id"}
    assert config["language"] == "zh"
    assert component(config, "JiebaTokenizer")["dictionary_path"] == "/build/jieba"
    char = component(config, "CountVectorsFeaturizer", analyzer="char_wb")
    assert char["max_ngram"] > char["min_ngram"] >= 1
    assert component(config, "DIETClassifier")["epochs"] >= 1
    assert 0 < component(config, "FallbackClassifier")["threshold"] < 1


def test_rasa_falls_back_at_the_services_threshold() -> None:
    """Rasa's nlu_fallback and the composite's own threshold agree, so a message falls back
    to out_of_scope alike whichever backend classified it."""
    config = rasa_config(SERVICE_CONFIG, Path("/d"), Overrides())
    fallback = component(config, "FallbackClassifier")["threshold"]
    assert fallback == SERVICE_CONFIG["nlu"]["threshold"]


def test_service_keys_stay_out_of_rasas_config() -> None:
    config = rasa_config(SERVICE_CONFIG, Path("/d"), Overrides())
    assert not {"service", "database", "nlu", "policy", "scheduler"} & set(config)


def test_overrides_touch_only_diet_epochs_and_char_ngrams() -> None:
    config = rasa_config(SERVICE_CONFIG, Path("/d"), Overrides(epochs=3, max_ngram=1))
    assert component(config, "DIETClassifier")["epochs"] == 3
    char = component(config, "CountVectorsFeaturizer", analyzer="char_wb")
    assert (char["min_ngram"], char["max_ngram"]) == (1, 1)
    word = component(config, "CountVectorsFeaturizer", analyzer=None)
    assert "max_ngram" not in word
    # The service's own config is left as it was.
    assert SERVICE_CONFIG == yaml.safe_load((PROJECT_ROOT / "config.yml").read_text("utf-8"))


@pytest.mark.parametrize("overrides", [Overrides(epochs=0), Overrides(max_ngram=-1)])
def test_nonsense_overrides_are_refused(overrides: Overrides) -> None:
    with pytest.raises(ValueError):
        rasa_config(SERVICE_CONFIG, Path("/d"), overrides)


def test_config_without_a_pipeline_is_refused() -> None:
    with pytest.raises(ValueError, match="pipeline"):
        rasa_config({"language": "zh", "service": {}}, Path("/d"), Overrides())


def test_dictionary_dir_holds_only_the_user_dictionary(tmp_path: Path, data_dir: Path) -> None:
    build = prepare(tmp_path / "build", data_dir=data_dir)
    config = yaml.safe_load(build.config.read_text("utf-8"))
    dictionary_dir = Path(component(config, "JiebaTokenizer")["dictionary_path"])
    assert dictionary_dir.is_absolute()
    # JiebaTokenizer loads every file there: YAML beside the dictionary would pollute it.
    assert [p.name for p in dictionary_dir.iterdir()] == ["userdict.txt"]
    assert (dictionary_dir / "userdict.txt").read_bytes() == (
        data_dir / "userdict.txt"
    ).read_bytes()


def test_data_dir_holds_every_nlu_file_and_nothing_else(tmp_path: Path, data_dir: Path) -> None:
    (data_dir / "nlu_extra.yml").write_text('version: "3.1"\nnlu: []\n', "utf-8")
    (data_dir / "crisis.yml").write_text("cues: []\n", "utf-8")
    build = prepare(tmp_path / "build", data_dir=data_dir)
    names = sorted(p.name for p in build.data.iterdir())
    assert names == sorted(p.name for p in data_dir.glob("nlu*.yml"))
    assert "nlu_extra.yml" in names and "crisis.yml" not in names


def test_fingerprint_follows_data_and_settings(tmp_path: Path, data_dir: Path) -> None:
    first = prepare(tmp_path / "a", data_dir=data_dir).fingerprint
    assert prepare(tmp_path / "b", data_dir=data_dir).fingerprint == first
    assert (
        prepare(tmp_path / "c", data_dir=data_dir, overrides=Overrides(epochs=2)).fingerprint
        != first
    )
    with (data_dir / "userdict.txt").open("a", encoding="utf-8") as userdict:
        userdict.write("爱心妈妈结对 10 n\n")
    assert prepare(tmp_path / "d", data_dir=data_dir).fingerprint != first


def test_model_name_follows_the_rasa_install(tmp_path: Path, data_dir: Path) -> None:
    build = prepare(tmp_path / "build", data_dir=data_dir)
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".careline-requirements").write_text("rasa==3.6.21\n", "utf-8")
    before = build.model_name(venv)
    (venv / ".careline-requirements").write_text("rasa==3.6.22\n", "utf-8")
    assert build.model_name(venv) != before
    assert before.startswith(f"careline-{build.fingerprint}-")


def test_prepare_refuses_a_dir_without_nlu_data(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        prepare(tmp_path / "build", data_dir=tmp_path)


def test_serve_listens_on_loopback_with_the_api() -> None:
    command = serve_command(Path("/venv"), Path("/m/model.tar.gz"), 5005)
    assert command[:2] == ["/venv/bin/rasa", "run"]
    assert "--enable-api" in command
    assert command[command.index("--interface") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "5005"


def test_train_without_a_venv_says_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", "--venv", str(tmp_path / "none"), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "make rasa-venv" in capsys.readouterr().err


FAKE_RASA = """#!/bin/sh
# Stands in for `rasa train nlu`: records its arguments, writes the named model into --out.
echo "$@" >> "$(dirname "$0")/calls"
while [ $# -gt 0 ]; do
  case "$1" in --out) out=$2; shift;; --fixed-model-name) name=$2; shift;; esac; shift
done
mkdir -p "$out" && echo model > "$out/$name.tar.gz"
[ -z "$FAIL" ]  # a failure after writing: as if killed while saving
"""


@pytest.fixture
def fake_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    rasa = venv / "bin" / "rasa"
    rasa.write_text(FAKE_RASA, "utf-8")
    rasa.chmod(0o755)
    (venv / ".careline-requirements").write_text("rasa==3.6.21\n", "utf-8")
    return venv


def test_train_renames_a_finished_model_and_reuses_it(
    tmp_path: Path, data_dir: Path, fake_venv: Path
) -> None:
    build = prepare(tmp_path / "build", data_dir=data_dir)
    model = train(build, tmp_path / "models", fake_venv)
    assert model.name == f"{build.model_name(fake_venv)}.tar.gz"
    assert [p.name for p in model.parent.iterdir()] == [model.name]
    calls = (fake_venv / "bin" / "calls").read_text("utf-8").splitlines()
    assert calls[0].startswith(f"train nlu --config {build.config} --nlu {build.data}")
    assert train(build, tmp_path / "models", fake_venv) == model
    assert len((fake_venv / "bin" / "calls").read_text("utf-8").splitlines()) == 1


def test_failed_training_leaves_no_reusable_model(
    tmp_path: Path, data_dir: Path, fake_venv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = prepare(tmp_path / "build", data_dir=data_dir)
    monkeypatch.setenv("FAIL", "1")
    with pytest.raises(subprocess.CalledProcessError):
        train(build, tmp_path / "models", fake_venv, log=tmp_path / "train.log")
    assert not (tmp_path / "models" / f"{build.model_name(fake_venv)}.tar.gz").exists()
    monkeypatch.delenv("FAIL")
    model = train(build, tmp_path / "models", fake_venv)
    assert model.exists()
    assert len((fake_venv / "bin" / "calls").read_text("utf-8").splitlines()) == 2


def test_ensure_model_builds_under_out(tmp_path: Path, fake_venv: Path) -> None:
    model = ensure_model(tmp_path / "rasa", venv=fake_venv, overrides=Overrides(epochs=1))
    assert model.parent == (tmp_path / "rasa" / "models").resolve()
    assert (tmp_path / "rasa" / "build" / "jieba" / "userdict.txt").exists()


def test_server_gets_an_absolute_model_path(tmp_path: Path) -> None:
    # `rasa run` starts in the log's directory: a relative model path would load nothing.
    server = RasaServer(Path("/venv"), Path("var/rasa/models/m.tar.gz"), log=tmp_path / "r.log")
    assert server.model.is_absolute()
    assert server.url == f"http://127.0.0.1:{server.port}"
