"""The `careline` command as a user runs it: real subprocesses, real files, a real server."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from intents import NLU

ROOT = Path(__file__).resolve().parents[1]
CARELINE = [sys.executable, "-m", "bot.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def workdir(tmp_path: Path, model_dir: Path, nlu: NLU) -> Path:
    """A config.yml and secrets of its own; the NLU model trained once for the run (``nlu``)."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    config["database"]["url"] = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'careline.db'}"
    config["nlu"]["model_dir"] = str(model_dir)
    config["service"]["port"] = free_port()
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return tmp_path


def run(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*CARELINE, "--config", str(workdir / "config.yml"), *args],
        cwd=workdir,
        env=_env(workdir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"careline {' '.join(args)} failed:\n{result.stderr}")
    return result


def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")}
    env["CARELINE_SECRETS_FILE"] = str(workdir / "var" / "secrets.env")
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture
def ready(workdir: Path) -> Path:
    run(workdir, "secrets", "init")
    run(workdir, "db", "upgrade")
    return workdir


def test_bad_config_value_is_one_line_without_traceback(workdir: Path) -> None:
    config = yaml.safe_load((workdir / "config.yml").read_text())
    config["nlu"]["threshold"] = 3
    (workdir / "config.yml").write_text(yaml.safe_dump(config))
    for command in (["config", "check"], ["serve"], ["db", "upgrade"]):
        result = run(workdir, *command, check=False)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith("careline: ")
        assert "nlu.threshold" in result.stderr and "Traceback" not in result.stderr


def test_config_check_prints_effective_config_with_secrets_masked(ready: Path) -> None:
    secrets = (ready / "var" / "secrets.env").read_text()
    token = next(
        line.split("=", 1)[1]
        for line in secrets.splitlines()
        if line.startswith("CARELINE_API_TOKEN=")
    )
    result = run(ready, "config", "check")
    assert "configuration OK" in result.stdout
    assert "CARELINE_API_TOKEN: " in result.stdout and token not in result.stdout
    assert "CARELINE_WECHAT_TOKEN: (not set)" in result.stdout


def test_send_crisis_shows_p1_escalation_and_follow_up(ready: Path) -> None:
    out = run(ready, "send", "--local", "我真的不想活了").stdout
    assert "升级：#1 P1" in out
    assert "回访：#1 关怀回访" in out
    assert "crisis_suicide" in out


def test_send_thanks_shows_neither(ready: Path) -> None:
    out = run(ready, "send", "--local", "谢谢").stdout
    assert "升级：无" in out and "回访：无" in out


def test_serve_refuses_an_unmigrated_database(workdir: Path) -> None:
    run(workdir, "secrets", "init")
    result = run(workdir, "serve", check=False)
    assert result.returncode == 2
    assert "careline db upgrade" in result.stderr


@pytest.fixture
def server(ready: Path) -> Iterator[subprocess.Popen[str]]:
    process = start_server(ready)
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def start_server(workdir: Path) -> subprocess.Popen[str]:
    """``careline serve`` in ``workdir``; its log goes to ``serve.log`` there (a pipe nobody
    reads would fill up and stop the server mid-test)."""
    log = workdir / "serve.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*CARELINE, "--config", str(workdir / "config.yml"), "serve"],
            cwd=workdir,
            env=_env(workdir),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    line = process.stdout.readline()  # blocks until the server says it is listening
    assert line.startswith("Careline is running at"), log.read_text()
    return process


def stop_server(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_restart_loses_no_message_and_no_follow_up(
    ready: Path, server: subprocess.Popen[str]
) -> None:
    out = run(ready, "send", "我真的不想活了").stdout
    assert "升级：#1 P1" in out and "本地" not in out  # went through the running service
    stop_server(server)

    restarted = start_server(ready)
    try:
        out = run(ready, "send", "谢谢").stdout
        assert "升级：无" in out and "本地" not in out
    finally:
        stop_server(restarted)
    with sqlite3.connect(ready / "var" / "careline.db") as db:
        inbound = db.execute("SELECT text FROM message WHERE direction='in' ORDER BY id").fetchall()
        follow_ups = db.execute("SELECT id, status FROM followup").fetchall()
    assert [t for (t,) in inbound] == ["我真的不想活了", "谢谢"]
    assert follow_ups == [(1, "scheduled")]
    with sqlite3.connect(ready / "var" / "careline.db") as db:
        due = db.execute("SELECT kind, status FROM outbox WHERE follow_up_id = 1").fetchall()
    assert due == [("follow_up", "pending")], "the check-in waits in the outbox, across restarts"


def test_chat_conversation_in_the_terminal(ready: Path) -> None:
    result = subprocess.run(
        [*CARELINE, "--config", str(ready / "config.yml"), "chat", "--local"],
        cwd=ready,
        env=_env(ready),
        input="你好\n我最近很难过 天天哭\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    replies = [line for line in result.stdout.splitlines() if "小助手：" in line]
    assert len(replies) == 2
    assert "再见" in result.stdout


def test_escalations_show_and_ack_from_the_terminal(ready: Path) -> None:
    run(ready, "send", "--local", "我真的不想活了")
    shown = run(ready, "escalations", "show", "1").stdout
    assert "升级 #1 · P1 · 待通知" in shown and "escalation.opened" in shown
    taken = run(ready, "escalations", "ack", "1", "--by", "sw-chen").stdout
    assert "已由 sw-chen 确认处理" in taken
    again = run(ready, "escalations", "ack", "1", "--by", "sw-lin").stdout
    assert "未能确认" in again
    assert "已确认" in run(ready, "escalations", "show", "1").stdout


def _password_in(output: str) -> str:
    return output.rsplit("：", 1)[1].split()[0]


def test_first_admin_password_is_printed_once_and_signs_in(ready: Path) -> None:
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    made = run(ready, "users", "first-admin").stdout
    assert "admin" in made
    password = _password_in(made.splitlines()[0])
    assert len(password) >= 16
    assert run(ready, "users", "first-admin").stdout == "", "only while there is no account"
    assert password not in (ready / "var" / "secrets.env").read_text(), "never kept in a file"

    process = start_server(ready)
    try:
        port = yaml.safe_load((ready / "config.yml").read_text())["service"]["port"]
        sign_in = f"http://127.0.0.1:{port}/staff/sign-in"
        assert sign_in in made, "where to sign in, as this configuration serves it"
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        form = opener.open(sign_in).read().decode()
        token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        body = urllib.parse.urlencode(
            {"csrf": token, "username": "admin", "password": password, "next": "/staff/admin"}
        ).encode()
        page = opener.open(sign_in, data=body)
        assert page.url.endswith("/staff/admin")
        assert "系统管理" in page.read().decode()
    finally:
        stop_server(process)


def test_users_add_reset_and_disable(ready: Path) -> None:
    added = run(ready, "users", "add", "sw-chen", "--role", "social_worker").stdout
    first = _password_in(added.splitlines()[-1])
    assert "陈晓" in run(ready, "users", "list").stdout, "named from the roster"
    assert run(ready, "users", "add", "sw-chen", check=False).returncode == 1
    reset = run(ready, "users", "reset", "sw-chen").stdout
    assert _password_in(reset.splitlines()[-1]) != first
    assert run(ready, "users", "reset", "nobody", check=False).returncode == 1
    run(ready, "users", "disable", "sw-chen")
    assert "已停用" in run(ready, "users", "list").stdout
    with sqlite3.connect(ready / "var" / "careline.db") as db:
        hashes = db.execute("SELECT password_hash FROM staffuser").fetchall()
        actions = [a for (a,) in db.execute("SELECT action FROM auditevent ORDER BY id")]
    assert hashes[0][0].startswith("$argon2id$")
    assert actions == ["staff.user_added", "staff.password_reset", "staff.user_disabled"]
