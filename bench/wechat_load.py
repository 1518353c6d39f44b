"""WeChat channel load: safe-mode text messages through the whole pipeline vs a bare ceiling.

    .venv/bin/python bench/wechat_load.py [-n 2000] [-c 16] [--repeat 3] [--model-dir DIR]

Serves, in this process on 127.0.0.1, first a minimal aiohttp endpoint that only verifies,
decrypts, parses and encrypts (the ceiling), then the real Careline app (``create_app``) with a
temporary SQLite database, the embedded NLU, the scheduler running and ``/wechat/mp`` in safe
mode. A separate load process posts the same N pre-encrypted messages (wechatpy plays WeChat;
unique senders; ordinary, service and crisis texts) at concurrency C to each and reports rps,
p50 / p99 latency, the CPU per request of the server (this process, all threads) and of the
load process, and errors (non-200, or a reply wechatpy cannot decrypt, or no reply).

The verdict also says what the ratio target asks of the server's CPU: a server busy all the
time answers 1 / (CPU per request) on one core, so reaching half the ceiling's rps leaves
1 / (0.5 * ceiling rps) of CPU per message, whatever the machine.

``--repeat 3`` delivers every message three times (WeChat's retries: same MsgId, new
signature, sent close together) and then checks the database: one stored message, at most one
contact and one escalation per message, and the same reply to every delivery.

Targets (issue 4): full pipeline >= 50% of the ceiling's rps at C=16, p99 <= 50 ms, 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import ClientSession, TCPConnector, web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from wechatpy.crypto import WeChatCrypto as PeerCrypto  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.channels.wechat.callback import CallbackRejected, CallbackVerifier  # noqa: E402
from bot.channels.wechat.crypto import WeChatCrypto  # noqa: E402
from bot.channels.wechat.replay import ReplayGuard  # noqa: E402
from bot.channels.wechat.xml import build_text_reply, parse_xml  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.secrets import Secrets  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Contact, Direction, Escalation, Message  # noqa: E402

TOKEN = "bench-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wxbenchappid00001"
ACCOUNT = "gh_bench_account"
LATE = "(late: answered success, reply sent through the API)"

# Written for the benchmark (not from any evaluation set): what mothers write, crises included.
TEXTS = [
    "你好",
    "谢谢你们上次的帮助",
    "请问育婴师培训什么时候开始报名",
    "我想找份在家里能做的工作，有没有推荐",
    "孩子最近老是不愿意上学，我不知道怎么办",
    "家里实在揭不开锅了，这个月房租都交不上",
    "我想给孩子报名爱心妈妈结对",
    "两癌筛查在哪里做，要不要钱",
    "离婚以后孩子的抚养费他一直不给，我该怎么办",
    "周六的亲子活动我想报名，带两个孩子",
    "最近睡不着，心里很烦，一个人带孩子好累",
    "我想找社工聊聊",
    "明天下午三点能给我回个电话吗",
    "我真的不想活了",
    "他又打我了，我好怕，孩子也在哭",
    "活着太累了，想一了百了",
    "我唔想再喺度生活",
    "我撐不下去了",
    "再见",
    "今天孩子考试考得很好，谢谢老师们",
]


@dataclass
class Delivery:
    index: int  # which message (several deliveries with --repeat)
    query: dict[str, str]
    body: bytes


def build_deliveries(n: int, repeat: int) -> list[Delivery]:
    """Pre-encrypted by wechatpy, so the load process only sends bytes."""
    peer = PeerCrypto(TOKEN, AES_KEY, APPID)
    now = int(time.time())
    deliveries = []
    for i in range(n):
        inner = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[oBenchMother{i:07d}]]></FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{TEXTS[i % len(TEXTS)]}]]></Content>"
            f"<MsgId>{7_000_000_000_000_000 + i}</MsgId></xml>"
        )
        for attempt in range(repeat):
            nonce = f"{i}-{attempt}-{os.urandom(4).hex()}"
            envelope = parse_xml(peer.encrypt_message(inner, nonce, str(now)))
            query = {
                "signature": "unused-in-safe-mode",
                "timestamp": str(now),
                "nonce": nonce,
                "openid": f"oBenchMother{i:07d}",
                "encrypt_type": "aes",
                "msg_signature": str(envelope["MsgSignature"]),
            }
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
            ).encode()
            deliveries.append(Delivery(i, query, body))
    return deliveries


# --- load process -------------------------------------------------------------------------------


def _load(url: str, deliveries: list[Delivery], concurrency: int, out: object) -> None:
    cpu = time.process_time()
    wall, results = asyncio.run(_run_load(url, deliveries, concurrency))
    out.send((wall, results, time.process_time() - cpu))  # type: ignore[attr-defined]


async def _run_load(
    url: str, deliveries: list[Delivery], concurrency: int
) -> tuple[float, list[tuple[int, float, int, bytes]]]:
    results: list[tuple[int, float, int, bytes]] = []
    queue = iter(deliveries)
    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            for delivery in queue:
                started = time.perf_counter()
                try:
                    async with session.post(
                        url, params=delivery.query, data=delivery.body
                    ) as response:
                        body = await response.read()
                        status = response.status
                except Exception:
                    status, body = 0, b""
                results.append((delivery.index, time.perf_counter() - started, status, body))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return wall, results


def run_load(url: str, deliveries: list[Delivery], concurrency: int):  # type: ignore[no-untyped-def]
    """Runs the load in another process, so the client does not eat the server's loop.

    Returns the wall time, the results and the load process's CPU seconds."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_load, args=(url, deliveries, concurrency, send))
    process.start()
    wall, results, client_cpu = receive.recv()
    process.join()
    return wall, results, client_cpu


# --- servers ------------------------------------------------------------------------------------


def ceiling_app() -> web.Application:
    """Verify + replay-check + decrypt + parse + build + encrypt: the protocol work alone."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    verifier = CallbackVerifier(token=TOKEN, guard=ReplayGuard(), crypto=crypto)

    async def handle(request: web.Request) -> web.Response:
        try:
            message = verifier.open(request.query, await request.read())
        except CallbackRejected as exc:
            return web.Response(status=exc.status)
        now = int(time.time())
        reply = build_text_reply(
            to_user=str(message.fields["FromUserName"]),
            from_user=str(message.fields["ToUserName"]),
            content="收到",
            create_time=now,
        )
        return web.Response(
            text=verifier.seal(reply, message, timestamp=str(now)), content_type="application/xml"
        )

    app = web.Application()
    app.router.add_post("/wechat/mp", handle)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/wechat/mp"


async def start_careline(workdir: Path, model_dir: Path) -> tuple[Services, Secrets]:
    url = make_url(f"sqlite+aiosqlite:///{workdir / 'careline.db'}")
    await upgrade(url)
    config = parse_config(
        {
            "database": {"url": url.render_as_string(hide_password=False)},
            "nlu": {"model_dir": str(model_dir)},
            # The API is never called at a 4 s deadline; a dead port makes any call fail fast.
            "wechat": {"appid": APPID, "mode": "safe", "api_base_url": "http://127.0.0.1:9"},
        }
    )
    secrets = Secrets(
        field_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        wechat_token=TOKEN,
        wechat_aes_key=AES_KEY,
    )
    return await Services.start(config, secrets), secrets


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Report:
    name: str
    requests: int
    wall: float
    latencies: list[float]
    errors: Counter[str]
    replies: dict[int, list[str]]
    server_cpu: float = 0.0  # seconds of this process's CPU while the load ran
    client_cpu: float = 0.0  # seconds of the load process's CPU

    @property
    def rps(self) -> float:
        return self.requests / self.wall

    def cpu_ms(self, seconds: float) -> float:
        return seconds / self.requests * 1000

    def line(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        p50 = statistics.median(ms)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        errors = sum(self.errors.values())
        detail = f" {dict(self.errors)}" if errors else ""
        return (
            f"| {self.name:<16} | {self.requests:>6} | {self.rps:>8.0f} | {p50:>7.1f} | "
            f"{p99:>7.1f} | {self.cpu_ms(self.server_cpu):>10.2f} | "
            f"{self.server_cpu / self.wall:>11.0%} | {self.cpu_ms(self.client_cpu):>10.2f} | "
            f"{errors:>6}{detail} |"
        )


async def measure(name: str, url: str, deliveries: list[Delivery], concurrency: int) -> Report:
    cpu = time.process_time()
    wall, results, client_cpu = await asyncio.to_thread(run_load, url, deliveries, concurrency)
    server_cpu = time.process_time() - cpu
    report = evaluate(name, wall, results, late_ok=False)
    report.server_cpu, report.client_cpu = server_cpu, client_cpu
    return report


def evaluate(name: str, wall: float, results: list, late_ok: bool) -> Report:  # type: ignore[type-arg]
    peer = PeerCrypto(TOKEN, AES_KEY, APPID)
    errors: Counter[str] = Counter()
    replies: dict[int, list[str]] = defaultdict(list)
    for index, _latency, status, body in results:
        if status != 200:
            errors[f"http_{status}"] += 1
            continue
        if body == b"success":
            errors["late"] += 0 if late_ok else 1
            replies[index].append(LATE)
            continue
        try:
            envelope = parse_xml(body)
            inner = peer.decrypt_message(
                body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
            content = str(parse_xml(inner).get("Content", ""))
        except Exception:
            errors["undecryptable"] += 1
            continue
        if not content:
            errors["no_reply"] += 1
        replies[index].append(content)
    return Report(name, len(results), wall, [r[1] for r in results], errors, replies)


async def check_duplicates(services: Services, n: int, report: Report) -> list[str]:
    """Every answered message stored once; at most one contact and escalation each; same
    replies. A message refused with 503 (database busy) may be missing: WeChat retries it."""
    problems = []
    async with services.db.session() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == Direction.IN)
        )
        contacts_per_person = await session.execute(
            select(Contact.person_id, func.count()).group_by(Contact.person_id)
        )
        double_contacts = sum(1 for _, count in contacts_per_person if count > 1)
        escalations_per_person = await session.execute(
            select(Escalation.person_id, func.count()).group_by(Escalation.person_id)
        )
        double_escalations = sum(1 for _, count in escalations_per_person if count > 1)
        escalations = await session.scalar(select(func.count()).select_from(Escalation))
    answered = len(report.replies)
    if not answered <= stored <= n:
        problems.append(f"{stored} inbound messages stored; {answered} of {n} answered")
    if double_contacts:
        problems.append(f"{double_contacts} mothers with more than one contact")
    if double_escalations:
        problems.append(f"{double_escalations} mothers with more than one escalation")
    # A delivery answered "success" (its reply claimed for the API) is not a different reply.
    differing = sum(1 for texts in report.replies.values() if len(set(texts) - {LATE}) > 1)
    if differing:
        problems.append(f"{differing} messages whose deliveries got different replies")
    print(
        f"duplicates check: {stored} messages stored, {escalations} escalations, "
        f"{double_contacts} duplicate contacts, {double_escalations} duplicate escalations, "
        f"{differing} differing replies"
    )
    return problems


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--messages", type=int, default=2000)
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1, help="deliveries of each message")
    parser.add_argument("--model-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--skip-ceiling", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    deliveries = build_deliveries(args.messages, args.repeat)
    print(
        f"{args.messages} messages x {args.repeat} deliveries at concurrency {args.concurrency} "
        f"({os.cpu_count()} CPUs)"
    )
    header = (
        "| endpoint         | req    | rps      | p50 ms  | p99 ms  | server CPU | server busy |"
        " client CPU | errors |\n"
        "|                  |        |          |         |         | ms/req     |             |"
        " ms/req     |        |\n"
        "|------------------|--------|----------|---------|---------|------------|-------------|"
        "------------|--------|"
    )
    rows = []
    ceiling = None
    if not args.skip_ceiling:
        runner, url = await serve(ceiling_app())
        try:
            ceiling = await measure("ceiling (crypto)", url, deliveries, args.concurrency)
        finally:
            await runner.cleanup()
        rows.append(ceiling.line())

    with tempfile.TemporaryDirectory() as tmp:
        services, secrets = await start_careline(Path(tmp), args.model_dir)
        runner, url = await serve(create_app(services, secrets))
        try:
            full = await measure("full pipeline", url, deliveries, args.concurrency)
            await runner.cleanup()
            rows.append(full.line())
            print(header, *rows, sep="\n")
            problems = await check_duplicates(services, args.messages, full)
        finally:
            await services.close()

    verdicts = []
    if ceiling is not None:
        verdicts.append(f"full/ceiling rps {full.rps / ceiling.rps:.0%} (target >= 50%)")
    p99 = sorted(full.latencies)[min(len(full.latencies) - 1, int(len(full.latencies) * 0.99))]
    verdicts.append(f"full p99 {p99 * 1000:.1f} ms (target <= 50 ms)")
    verdicts.append(f"errors {sum(full.errors.values())} (target 0)")
    print("; ".join(verdicts))
    if ceiling is not None:
        # One event loop on one core: half the ceiling's rps leaves this much CPU per message.
        budget = 1000 / (0.5 * ceiling.rps)
        print(
            f"CPU budget for 50% of the ceiling on one core: {budget:.2f} ms per message; "
            f"the full pipeline used {full.cpu_ms(full.server_cpu):.2f} ms "
            f"(the ceiling {ceiling.cpu_ms(ceiling.server_cpu):.2f} ms, its server busy "
            f"{ceiling.server_cpu / ceiling.wall:.0%} of the run)"
        )
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems or sum(full.errors.values()) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
