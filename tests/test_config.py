from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_config_is_valid() -> None:
    config = load_config(ROOT / "config.yml")
    assert config.nlu.backend == "embedded"
    assert config.database.url.startswith("sqlite+aiosqlite:///var/")
    assert [c.name for c in config.pipeline][0] == "JiebaTokenizer"


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"nlu": {"treshold": 0.5}})
    assert str(caught.value) == "config.yml: nlu.treshold: unknown key"


def test_bad_value_names_key_problem_and_value() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"service": {"port": 70000}})
    message = str(caught.value)
    assert message.startswith("config.yml: service.port: ")
    assert "65535" in message and "70000" in message
    assert "\n" not in message


def test_several_problems_still_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"service": {"port": "x", "timezone": "Mars/Base"}, "bogus": 1})
    assert "\n" not in str(caught.value)
    assert "more problem" in str(caught.value)


def test_unknown_time_zone_rejected() -> None:
    with pytest.raises(ConfigError, match="service.timezone: unknown time zone 'Mars/Base'"):
        parse_config({"service": {"timezone": "Mars/Base"}})


def test_unsupported_database_driver_rejected() -> None:
    with pytest.raises(ConfigError, match="database.url: must start with"):
        parse_config({"database": {"url": "mysql://root@localhost/x"}})


def test_policy_needs_an_sla_for_every_priority() -> None:
    with pytest.raises(ConfigError, match="policy.sla_minutes: missing SLA for P3"):
        parse_config({"policy": {"sla_minutes": {"P1": 5, "P2": 30}}})


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("service:\n  port: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: line ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yml")


def test_non_mapping_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(path)


def test_programme_hotline_defaults_to_the_jiangmen_line() -> None:
    assert parse_config({}).policy.programme_hotline == "0750-3580580"
    assert load_config(ROOT / "config.yml").policy.programme_hotline == "0750-3580580"


def test_legacy_hotline_number_12338_is_not_taken_for_the_programme_line() -> None:
    policy = parse_config({"policy": {"hotline_number": "12338"}}).policy
    assert policy.programme_hotline == "0750-3580580"


def test_legacy_hotline_number_of_the_programme_still_loads() -> None:
    policy = parse_config({"policy": {"hotline_number": "0750-1234567"}}).policy
    assert policy.programme_hotline == "0750-1234567"
