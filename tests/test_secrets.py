from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from bot.secrets import (
    GENERATED,
    SecretsError,
    generate_missing,
    load_secrets,
    mask,
    read_env_file,
)


def test_generates_each_missing_secret_once_with_private_mode(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secrets.env"
    created = generate_missing(path, environ={})
    assert set(created) == {f"CARELINE_{n.upper()}" for n in GENERATED}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    assert generate_missing(path, environ={}) == []
    assert path.read_text() == first


@pytest.fixture(autouse=True)
def no_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("CARELINE_")]:
        monkeypatch.delenv(name)


def test_two_installs_get_different_secrets(tmp_path: Path) -> None:
    a = load_secrets(secrets_file=_generated(tmp_path / "a"))
    b = load_secrets(secrets_file=_generated(tmp_path / "b"))
    assert a.api_token != b.api_token
    assert a.session_secret != b.session_secret
    assert len(base64.urlsafe_b64decode(a.field_key)) == 32


def test_environment_wins_over_file_and_is_not_generated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secrets.env"
    created = generate_missing(path, environ={"CARELINE_API_TOKEN": "from-env"})
    assert "CARELINE_API_TOKEN" not in created
    monkeypatch.setenv("CARELINE_API_TOKEN", "from-env")
    secrets = load_secrets(secrets_file=path)
    assert secrets.api_token == "from-env"
    assert secrets.field_key == read_env_file(path)["CARELINE_FIELD_KEY"], "the rest from the file"


def test_an_empty_variable_counts_as_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _generated(tmp_path)
    monkeypatch.setenv("CARELINE_API_TOKEN", "")
    assert load_secrets(secrets_file=path).api_token == read_env_file(path)["CARELINE_API_TOKEN"]


def test_wechat_and_database_secrets_are_never_generated(tmp_path: Path) -> None:
    secrets = load_secrets(secrets_file=_generated(tmp_path))
    assert secrets.wechat_token is None and secrets.database_password is None


def test_bad_field_key_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELINE_FIELD_KEY", "short")
    secrets = load_secrets(secrets_file=tmp_path / "none")
    with pytest.raises(SecretsError, match="CARELINE_FIELD_KEY must be 32 bytes"):
        secrets.field_key_bytes()


def test_masking_never_shows_a_whole_secret() -> None:
    assert mask(None) == "(not set)"
    assert mask("abcdefghijklmnop") == "ab…op (set)"
    assert "secret" not in mask("secret")


def _generated(directory: Path) -> Path:
    path = directory / "secrets.env"
    generate_missing(path, environ={})
    return path
