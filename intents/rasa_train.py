"""Trains and serves the optional Rasa 3.6 NLU model from the project's own files.

Runs under the project's Python and drives the separate Rasa venv (Python 3.10) through its
``rasa`` command, so nothing here imports Rasa. The Rasa config is generated from the
``recipe``/``language``/``pipeline``/``assistant_id`` keys of ``config.yml``:

- Rasa's JiebaTokenizer loads *every* file under ``dictionary_path``, and ``intents/data``
  also holds YAML files, so the user dictionary is copied into a directory of its own;
- the service's other keys stay out of Rasa's view (Rasa 3.6 tolerates them, but they would
  otherwise change nothing but the noise in its fingerprint);
- a small test model can override DIET's epochs and the char n-gram width.

Models are named by a hash of everything that feeds training, so an unchanged model is reused
rather than retrained.

    python -m intents.rasa_train train [--epochs N] [--max-ngram N]
    python -m intents.rasa_train serve [--port 5005]   # trains if needed, then ``rasa run``
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from intents.datasets import training_files

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_OUT = PROJECT_ROOT / "var" / "rasa"
RASA_KEYS = ("recipe", "language", "pipeline", "assistant_id")
USERDICT = "userdict.txt"
# Written by `make rasa-venv`: the requirements the venv was installed with.
STAMP = ".careline-requirements"
PARTIAL = "-partial"
RASA_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    # Rasa 3.6 and TensorFlow import deprecated APIs on every start: noise, not news.
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::FutureWarning",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}


def default_rasa_venv() -> Path:
    """Where ``make rasa-venv`` puts the venv: outside the clone, so CI can keep it."""
    if env := os.environ.get("RASA_VENV"):
        return Path(env)
    return Path.home() / ".cache" / "careline" / "rasa-venv"


def rasa_command(venv: Path) -> Path:
    return venv / "bin" / "rasa"


def rasa_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **RASA_ENV, **(extra or {})}


@dataclass(frozen=True)
class Overrides:
    """Training knobs a quick test model turns down; None keeps config.yml's value."""

    epochs: int | None = None
    max_ngram: int | None = None


@dataclass(frozen=True)
class Build:
    """A directory Rasa trains from: its own config, dictionary dir and NLU data."""

    root: Path
    config: Path
    data: Path
    fingerprint: str

    def model_name(self, venv: Path) -> str:
        """Also keyed by the venv's install stamp: a model belongs to the Rasa that made it."""
        stamp = venv / STAMP
        rasa = stamp.read_bytes() if stamp.exists() else b""
        return f"careline-{self.fingerprint}-{hashlib.sha256(rasa).hexdigest()[:6]}"


def rasa_config(
    service_config: dict[str, Any], dictionary_dir: Path, overrides: Overrides
) -> dict[str, Any]:
    """The Rasa-only part of ``config.yml`` with the dictionary path and overrides applied."""
    missing = [key for key in ("language", "pipeline") if key not in service_config]
    if missing:
        raise ValueError(f"config.yml lacks Rasa keys: {', '.join(missing)}")
    config = {key: service_config[key] for key in RASA_KEYS if key in service_config}
    pipeline = [dict(component) for component in config["pipeline"]]
    for component in pipeline:
        name = component.get("name")
        if name == "JiebaTokenizer" and component.get("dictionary_path") is not None:
            component["dictionary_path"] = str(dictionary_dir)
        if name == "DIETClassifier" and overrides.epochs is not None:
            component["epochs"] = _positive("epochs", overrides.epochs)
        if (
            name == "CountVectorsFeaturizer"
            and component.get("analyzer") in ("char", "char_wb")
            and overrides.max_ngram is not None
        ):
            component["max_ngram"] = _positive("max_ngram", overrides.max_ngram)
            component["min_ngram"] = min(component.get("min_ngram", 1), component["max_ngram"])
    config["pipeline"] = pipeline
    return config


def prepare(
    build_dir: Path,
    *,
    config_file: Path = PROJECT_ROOT / "config.yml",
    data_dir: Path = DATA_DIR,
    overrides: Overrides = Overrides(),
) -> Build:
    """Writes ``build_dir/{config.yml,jieba/,data/}`` afresh from the project's files."""
    nlu_files = training_files(data_dir)
    if not nlu_files:
        raise FileNotFoundError(f"no nlu*.yml training files in {data_dir}")
    build_dir = build_dir.resolve()
    dictionary_dir, nlu_dir = build_dir / "jieba", build_dir / "data"
    for directory in (dictionary_dir, nlu_dir):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)

    service_config = yaml.safe_load(config_file.read_text("utf-8"))
    config = rasa_config(service_config, dictionary_dir, overrides)
    userdict = data_dir / USERDICT
    if userdict.exists():
        shutil.copyfile(userdict, dictionary_dir / USERDICT)
    for nlu_file in nlu_files:
        shutil.copyfile(nlu_file, nlu_dir / nlu_file.name)
    config_text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    config_path = build_dir / "config.yml"
    config_path.write_text(config_text, "utf-8")

    # Hashed with a placeholder for the build's own path: the same inputs elsewhere (another
    # checkout, a test's tmp dir) name the same model.
    portable = rasa_config(service_config, Path("<dictionary>"), overrides)
    digest = hashlib.sha256(yaml.safe_dump(portable, allow_unicode=True, sort_keys=False).encode())
    for path in sorted(dictionary_dir.iterdir()) + sorted(nlu_dir.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return Build(build_dir, config_path, nlu_dir, digest.hexdigest()[:12])


def train(
    build: Build,
    models_dir: Path,
    venv: Path,
    *,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> Path:
    """Trains with ``rasa train nlu`` unless a model of this fingerprint exists; returns it."""
    name = build.model_name(venv)
    model = models_dir.resolve() / f"{name}.tar.gz"
    if model.exists():
        return model
    command = [
        str(rasa_command(venv)),
        "train",
        "nlu",
        "--config",
        str(build.config),
        "--nlu",
        str(build.data),
        "--out",
        str(model.parent),
        "--fixed-model-name",
        name + PARTIAL,
    ]
    with log.open("ab") if log else contextlib.nullcontext() as output:
        subprocess.run(
            command, cwd=build.root, env=rasa_env(env), check=True, stdout=output, stderr=output
        )
    # Renamed only when complete: an interrupted run never leaves a model that looks reusable.
    written = model.with_name(f"{name}{PARTIAL}.tar.gz")
    if not written.exists():
        raise RuntimeError(f"rasa train nlu finished without writing {written}")
    os.replace(written, model)
    return model


def ensure_model(
    out: Path = DEFAULT_OUT,
    *,
    venv: Path | None = None,
    overrides: Overrides = Overrides(),
    log: Path | None = None,
) -> Path:
    """The project's Rasa model under ``out/models``, trained first when missing or stale.

    For the benchmark: ``RasaServer(default_rasa_venv(), ensure_model(), log=...)``.
    """
    build = prepare(out / "build", overrides=overrides)
    return train(build, out / "models", venv or default_rasa_venv(), log=log)


def serve_command(venv: Path, model: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    """``rasa run`` with the HTTP API (for /model/parse) on loopback only."""
    return [
        str(rasa_command(venv)),
        "run",
        "--enable-api",
        "--model",
        str(model),
        "--port",
        str(port),
        "--interface",
        host,
    ]


class RasaServer:
    """``rasa run`` in its own process group on a loopback port, for tests and benchmarks.

    ``with RasaServer(venv, model, log=...) as server:`` starts it, waits until the model is
    loaded and stops the whole process group on exit.
    """

    def __init__(self, venv: Path, model: Path, *, log: Path, port: int | None = None) -> None:
        # Absolute: the server runs in the log's directory, not the caller's.
        self.venv, self.model, self.log = venv, model.resolve(), log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RasaServer:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                serve_command(self.venv, self.model, self.port),
                cwd=self.log.parent,
                env=rasa_env(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop() reaches every child
            )
        return self

    def wait_ready(self, deadline_seconds: float = 240.0) -> dict[str, Any]:
        """Polls ``/status`` until the model is loaded; raises if the server dies or is late.

        ``rasa run`` imports TensorFlow and loads the model before it answers (~20 s here).
        """
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rasa run exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/status", timeout=5) as response:
                    status = json.loads(response.read())
                if isinstance(status, dict) and status.get("model_file"):
                    return status
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"rasa run not ready within {deadline_seconds} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text("utf-8", errors="replace").splitlines()[-lines:])

    def __enter__(self) -> RasaServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intents.rasa_train", description=__doc__)
    parser.add_argument("action", choices=("prepare", "train", "serve"))
    parser.add_argument("--venv", type=Path, default=default_rasa_venv())
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--config", type=Path, default=PROJECT_ROOT / "config.yml")
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--epochs", type=int, help="DIET epochs (default: config.yml)")
    parser.add_argument("--max-ngram", type=int, help="char n-gram width (default: config.yml)")
    parser.add_argument("--port", type=int, default=5005)
    args = parser.parse_args(argv)

    build = prepare(
        args.out / "build",
        config_file=args.config,
        data_dir=args.data,
        overrides=Overrides(args.epochs, args.max_ngram),
    )
    if args.action == "prepare":
        print(build.config)
        return 0
    if not rasa_command(args.venv).exists():
        print(f"no Rasa venv at {args.venv}: run `make rasa-venv`", file=sys.stderr)
        return 2
    try:
        model = train(build, args.out / "models", args.venv)
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    print(model)
    if args.action == "serve":
        sys.stdout.flush()
        command = serve_command(args.venv, model, args.port)
        os.execve(command[0], command, rasa_env())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
