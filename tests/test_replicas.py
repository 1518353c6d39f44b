"""Two `careline serve` processes on one PostgreSQL, as production runs replicas.

Every message is delivered to both (a sender's retry reaching the other replica), one replica is
killed with SIGKILL mid-load, and the survivor is left to finish: nothing is lost, nothing is
done twice.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import aiohttp
import psycopg
import pytest
import yaml
from sqlalchemy.engine import URL

from tests.conftest import _drop_postgres, _fresh_postgres
from tests.test_cli import free_port, run, start_server

pytestmark = pytest.mark.postgres

CRISES = ["我真的不想活了", "他喝了酒又打我，我好怕", "活着好累，想结束这一切"]
ORDINARY = ["谢谢你们", "孩子的学费交不起了", "有没有育婴师培训", "最近睡不好，心里很烦"]


@pytest.fixture
def pg_url(postgres_template: URL):  # type: ignore[no-untyped-def]
    url = _fresh_postgres(postgres_template)
    yield url
    _drop_postgres(url)


def replica_dir(tmp_path: Path, name: str, url: URL, model_dir: Path, secrets: Path) -> Path:
    workdir = tmp_path / name
    (workdir / "var").mkdir(parents=True)
    config = yaml.safe_load((Path(__file__).parents[1] / "config.yml").read_text("utf-8"))
    config["database"]["url"] = url.render_as_string(hide_password=False)
    config["nlu"]["model_dir"] = str(model_dir)
    config["service"]["port"] = free_port()
    (workdir / "config.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    (workdir / "var" / "secrets.env").write_bytes(secrets.read_bytes())  # one set of secrets
    return workdir


def api_token(workdir: Path) -> str:
    for line in (workdir / "var" / "secrets.env").read_text().splitlines():
        if line.startswith("CARELINE_API_TOKEN="):
            return line.split("=", 1)[1]
    raise AssertionError("no API token")


async def deliver(session: aiohttp.ClientSession, base: str, token: str, body: dict) -> int:
    try:
        async with session.post(
            f"{base}/api/v1/messages",
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ) as response:
            await response.read()
            return response.status
    except aiohttp.ClientError:
        return 0  # the replica is gone: the sender retries elsewhere


def scalar(url: URL, sql: str) -> int:
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchone()[0]


def test_two_replicas_with_retries_to_both_and_one_killed_lose_and_repeat_nothing(
    tmp_path: Path, pg_url: URL, model_dir: Path, nlu
) -> None:  # type: ignore[no-untyped-def]
    first = replica_dir(tmp_path, "a", pg_url, model_dir, _secrets(tmp_path, pg_url, model_dir))
    second = replica_dir(tmp_path, "b", pg_url, model_dir, first / "var" / "secrets.env")
    replicas = [start_server(first), start_server(second)]
    bases = [f"http://127.0.0.1:{_port(w)}" for w in (first, second)]
    token = api_token(first)
    messages = [
        {
            "sender": f"mother-{i % 12}",
            "text": (CRISES + ORDINARY)[i % 7],
            "message_id": f"m-{i}",
        }
        for i in range(120)
    ]

    async def load() -> list[int]:
        statuses = []
        async with aiohttp.ClientSession() as session:
            for start in range(0, len(messages), 8):
                if start == 48:
                    replicas[0].send_signal(signal.SIGKILL)  # mid-load, without warning
                batch = messages[start : start + 8]
                sent = [deliver(session, base, token, m) for m in batch for base in bases]
                statuses += await asyncio.gather(*sent)
            # The sender retries whatever got no answer, on the replica still up.
            for m in messages:
                statuses.append(await deliver(session, bases[1], token, m))
        return statuses

    try:
        statuses = asyncio.run(load())
        assert statuses[-len(messages) :] == [200] * len(messages)
        crisis_senders = {m["sender"] for m in messages if m["text"] in CRISES}
        deadline = time.monotonic() + 60
        while scalar(pg_url, "SELECT count(*) FROM message WHERE status = 'received'"):
            assert time.monotonic() < deadline, "messages left unhandled"
            time.sleep(0.5)  # waiting for the survivor's sweep, not for timing
    finally:
        for process in replicas:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)

    assert scalar(pg_url, "SELECT count(*) FROM message WHERE direction = 'in'") == len(messages)
    assert (
        scalar(
            pg_url,
            "SELECT count(*) FROM (SELECT reply_to_id FROM message WHERE direction = 'out'"
            " GROUP BY reply_to_id HAVING count(*) > 1) twice",
        )
        == 0
    ), "no reply stored twice"
    assert scalar(pg_url, "SELECT count(DISTINCT person_id) FROM escalation") == len(crisis_senders)
    assert (
        scalar(
            pg_url,
            "SELECT count(*) FROM (SELECT person_id FROM escalation WHERE status <> 'resolved'"
            " GROUP BY person_id HAVING count(*) > 1) twice",
        )
        == 0
    ), "one open escalation per mother"
    assert (
        scalar(
            pg_url,
            "SELECT count(*) FROM followup f WHERE (SELECT count(*) FROM outbox o"
            " WHERE o.follow_up_id = f.id) <> 1",
        )
        == 0
    ), "each follow-up is due exactly once"


def _secrets(tmp_path: Path, url: URL, model_dir: Path) -> Path:
    seed = replica_dir(tmp_path, "seed", url, model_dir, _empty(tmp_path))
    (seed / "var" / "secrets.env").unlink()
    run(seed, "secrets", "init")
    return seed / "var" / "secrets.env"


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.env"
    path.write_text("")
    return path


def _port(workdir: Path) -> int:
    return int(yaml.safe_load((workdir / "config.yml").read_text())["service"]["port"])


def rows(url: URL, sql: str) -> list[tuple]:
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def execute(url: URL, sql: str) -> None:
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        conn.execute(sql)


def wait_until_fired(url: URL, follow_up_ids: list[int], *, seconds: float = 60) -> None:
    listed = ",".join(map(str, follow_up_ids))
    deadline = time.monotonic() + seconds
    while scalar(url, f"SELECT count(*) FROM followup WHERE id IN ({listed}) AND status <> 'done'"):
        assert time.monotonic() < deadline, "follow-ups left unfired"
        time.sleep(0.2)  # polling the database for their state, not waiting out a time


def make_due(url: URL, follow_up_ids: list[int], *, in_seconds: float) -> None:
    """Bring the follow-ups forward (they were scheduled a day ahead), as if time had passed."""
    listed = ",".join(map(str, follow_up_ids))
    due = f"now() + interval '{in_seconds} seconds'"
    execute(url, f"UPDATE followup SET due_at = {due} WHERE id IN ({listed})")
    execute(url, f"UPDATE outbox SET due_at = {due} WHERE follow_up_id IN ({listed})")


def test_follow_ups_fire_once_across_two_replicas_and_the_survivor_takes_over_the_leader(
    tmp_path: Path, pg_url: URL, model_dir: Path, nlu
) -> None:  # type: ignore[no-untyped-def]
    first = replica_dir(tmp_path, "a", pg_url, model_dir, _secrets(tmp_path, pg_url, model_dir))
    second = replica_dir(tmp_path, "b", pg_url, model_dir, first / "var" / "secrets.env")
    leader = start_server(first)  # started first: it holds the lead before it serves
    survivor = start_server(second)
    token = api_token(first)

    async def crises() -> list[int]:
        async with aiohttp.ClientSession() as session:
            return [
                await deliver(
                    session,
                    f"http://127.0.0.1:{_port(first)}",
                    token,
                    {"sender": f"mother-{i}", "text": CRISES[i % 3], "message_id": f"f-{i}"},
                )
                for i in range(6)
            ]

    try:
        assert asyncio.run(crises()) == [200] * 6
        follow_ups = [r[0] for r in rows(pg_url, "SELECT id FROM followup ORDER BY id")]
        assert len(follow_ups) == 6, "a check-in after each crisis, a day ahead"
        before, after = follow_ups[:3], follow_ups[3:]

        make_due(pg_url, before, in_seconds=0)
        wait_until_fired(pg_url, before)
        make_due(pg_url, after, in_seconds=2)  # due only once the leader is gone
        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=30)
        wait_until_fired(pg_url, after)
        # Every follow-up row is finished: none is left to be claimed and fired again.
        assert (
            scalar(
                pg_url,
                "SELECT count(*) FROM outbox WHERE kind = 'follow_up' AND status = 'pending'",
            )
            == 0
        )
    finally:
        for process in (leader, survivor):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)

    fired = dict(
        rows(
            pg_url,
            "SELECT object_id, count(*) FROM auditevent WHERE action = 'follow_up.fired'"
            " GROUP BY object_id",
        )
    )
    assert fired == {f: 1 for f in follow_ups}, "each follow-up fired exactly once"
    by = dict(rows(pg_url, "SELECT follow_up_id, claimed_by FROM outbox WHERE kind = 'follow_up'"))
    assert {by[f].split(":")[1] for f in before} == {str(leader.pid)}, "the leader fired these"
    assert {by[f].split(":")[1] for f in after} == {str(survivor.pid)}, "the survivor took over"
