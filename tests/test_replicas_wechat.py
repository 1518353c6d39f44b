"""Two `careline serve` processes on one PostgreSQL, behind the Official Account's callback.

Every reply misses its deadline (``reply_deadline_seconds: 0``), so each goes out later through
the customer-service API (a local fake of WeChat's): WeChat's retries reach both replicas, one
replica is killed mid-load, and no mother gets her reply twice.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import aiohttp
import psycopg
import pytest
import yaml
from sqlalchemy.engine import URL

from tests.fakes.wechat_api import FAKE_APPID, FAKE_SECRET, FakeWeChatApi
from tests.test_cli import start_server
from tests.test_replicas import CRISES, ORDINARY, _port, _secrets, pg_url, replica_dir, scalar
from tests.wechat_peer import AES_KEY, TOKEN, OfficialAccountPeer, text_xml

__all__ = ["pg_url"]  # the fixture, used here

pytestmark = pytest.mark.postgres

MESSAGES = 48
UNFINISHED = "SELECT count(*) FROM late_reply WHERE status IN ('pending', 'sending')"


def with_official_account(workdir: Path, api: FakeWeChatApi) -> Path:
    config_file = workdir / "config.yml"
    config = yaml.safe_load(config_file.read_text("utf-8"))
    config["wechat"] = {
        "appid": FAKE_APPID,
        "mode": "safe",
        "reply_deadline_seconds": 0,
        "api_base_url": api.base_url,
    }
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True))
    return workdir


async def deliver(
    session: aiohttp.ClientSession, base: str, peer: OfficialAccountPeer, inner: str
) -> int:
    request = peer.safe(inner)  # a retry: same message, new timestamp, nonce and signature
    try:
        async with session.post(
            f"{base}/wechat/mp", params=request.query, data=request.body.encode()
        ) as response:
            await response.read()
            return response.status
    except aiohttp.ClientError:
        return 0  # that replica is gone: WeChat retries


def left_over(url: URL) -> str:
    """What is still owed, for a failure message."""
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        replies = conn.execute("SELECT status, count(*) FROM late_reply GROUP BY status").fetchall()
        rows = conn.execute(
            "SELECT kind, status, count(*), max(attempts) FROM outbox GROUP BY kind, status"
        ).fetchall()
        received = conn.execute("SELECT count(*) FROM message WHERE status = 'received'").fetchone()
    return f"late replies {replies}; outbox {rows}; messages not handled {received}"


def test_two_replicas_send_each_late_reply_once_with_one_killed(
    tmp_path: Path, pg_url: URL, model_dir: Path, nlu
) -> None:  # type: ignore[no-untyped-def]
    secrets = _secrets(tmp_path, pg_url, model_dir)
    with secrets.open("a") as file:
        file.write(
            f"CARELINE_WECHAT_TOKEN={TOKEN}\nCARELINE_WECHAT_AES_KEY={AES_KEY}\n"
            f"CARELINE_WECHAT_APP_SECRET={FAKE_SECRET}\n"
        )
    peer = OfficialAccountPeer(appid=FAKE_APPID)
    texts = CRISES + ORDINARY
    # One message per mother: the API's record of who got what is then per message.
    messages = [
        (f"oMother{i:04d}", texts[i % len(texts)], str(30_000 + i)) for i in range(MESSAGES)
    ]

    async def run() -> tuple[list[int], Counter[str]]:
        async with FakeWeChatApi() as api:
            workdirs = [
                with_official_account(replica_dir(tmp_path, name, pg_url, model_dir, secrets), api)
                for name in ("a", "b")
            ]
            replicas = [start_server(w) for w in workdirs]
            bases = [f"http://127.0.0.1:{_port(w)}" for w in workdirs]
            statuses: list[int] = []
            try:
                async with aiohttp.ClientSession() as session:
                    for start in range(0, MESSAGES, 8):
                        if start == 24:
                            replicas[0].send_signal(signal.SIGKILL)  # mid-load, no warning
                        sent = [
                            deliver(session, base, peer, text_xml(openid, text, msg_id))
                            for openid, text, msg_id in messages[start : start + 8]
                            for base in bases
                        ]
                        statuses += await asyncio.gather(*sent)
                    for openid, text, msg_id in messages:  # WeChat retries at the survivor
                        statuses.append(
                            await deliver(session, bases[1], peer, text_xml(openid, text, msg_id))
                        )
                # The survivor takes over the dead replica's leases (30 s) and sends the rest.
                deadline = time.monotonic() + 120
                while scalar(pg_url, UNFINISHED) or scalar(
                    pg_url, "SELECT count(*) FROM message WHERE status = 'received'"
                ):
                    assert time.monotonic() < deadline, f"left unsent: {left_over(pg_url)}"
                    await asyncio.sleep(0.5)  # waiting for the survivor, not for timing
            finally:
                for process in replicas:
                    if process.poll() is None:
                        process.send_signal(signal.SIGTERM)
                        # In a thread: the fake WeChat API must keep answering meanwhile.
                        await asyncio.to_thread(process.wait, 60)
            return statuses, Counter(m.touser for m in api.sent)

    statuses, sends = asyncio.run(run())
    assert statuses[-MESSAGES:] == [200] * MESSAGES
    assert scalar(pg_url, "SELECT count(*) FROM message WHERE direction = 'in'") == MESSAGES
    assert max(sends.values()) == 1, "no mother got her reply twice"
    sent_rows = scalar(pg_url, "SELECT count(*) FROM late_reply WHERE status = 'sent'")
    claims = scalar(pg_url, "SELECT count(*) FROM late_reply")
    # A reply cut off mid-send by the kill may have reached her; it is never sent again.
    assert sent_rows <= len(sends) <= claims
    assert claims >= MESSAGES - 8, "the replies were late: nearly all went through the API"
    crisis_mothers = sum(1 for _, text, _ in messages if text in CRISES)
    assert scalar(pg_url, "SELECT count(*) FROM escalation WHERE priority = 'P1'") == crisis_mothers
    assert (
        scalar(
            pg_url,
            "SELECT count(*) FROM (SELECT person_id FROM escalation"
            " GROUP BY person_id HAVING count(*) > 1) twice",
        )
        == 0
    ), "one escalation per mother"
