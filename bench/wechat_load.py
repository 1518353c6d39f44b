"""WeChat channel load: safe-mode text messages through the whole pipeline vs a bare ceiling
and a WeRoBot bot.

    .venv/bin/pip install -e '.[test,bench]'   # once: wechatpy, and werobot + waitress
    .venv/bin/python bench/wechat_load.py [-n 2000] [-c 16] [--repeat 3] [--model-dir DIR]
        [--skip-ceiling] [--skip-werobot] [--postgres postgresql://postgres@127.0.0.1:5432/test]
        [--processes 2] [--profile DIR]

Serves, in this process on 127.0.0.1, first a minimal aiohttp endpoint that only verifies,
decrypts, parses and encrypts (the ceiling); then, in a process of its own, a WeRoBot
official-account bot served by waitress (threaded WSGI) in safe mode with the same token, key
and appid, answering text with keyword replies and no session (what a user would otherwise pick;
``--skip-werobot`` leaves it out, and it needs the ``bench`` extra); then the real Careline app
(``create_app``), in a process of its own, with a temporary SQLite database, the embedded NLU,
the scheduler running and ``/wechat/mp`` in safe mode. ``--processes N`` (with ``--postgres``)
runs N such processes on one PostgreSQL database, as replicas: the load goes to them in turn,
and the CPU per request is theirs summed. A separate load process posts the same N
pre-encrypted messages (wechatpy plays WeChat; unique senders; ordinary, service and crisis
texts) at concurrency C to each and reports rps, p50 / p99 latency, the CPU per request of the
server (its processes, all threads) and of the load process, and errors (non-200, or a reply
wechatpy cannot decrypt, or no reply).

The verdict also says what each ratio target asks of the server's CPU: a server busy all the
time answers 1 / (CPU per request) on one core, so reaching half the ceiling's rps leaves
1 / (0.5 * ceiling rps) of CPU per message, and 1.5x WeRoBot's 1 / (1.5 * WeRoBot rps),
whatever the machine.

``--repeat 3`` delivers every message three times (WeChat's retries: same MsgId, new
signature, sent close together) and then checks the database: one stored message, at most one
contact and one escalation per message, and the same reply to every delivery.

Targets, as ratios measured side by side in one run (absolute figures differ several-fold
between machines of one kind): issue 15, full pipeline >= 1.5x WeRoBot's rps at C=16 with 0
errors; issue 4, full pipeline >= 50% of the ceiling's rps at C=16, p99 <= 50 ms, 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.util
import logging
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import ClientSession, TCPConnector, web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import URL, make_url  # noqa: E402
from wechatpy.crypto import WeChatCrypto as PeerCrypto  # noqa: E402
from wechatpy.utils import WeChatSigner  # noqa: E402

from bench.cpu_profile import LoopProfiler, breakdown  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.channels.wechat.callback import CallbackRejected, CallbackVerifier  # noqa: E402
from bot.channels.wechat.crypto import WeChatCrypto  # noqa: E402
from bot.channels.wechat.replay import Admission, NonceUse, ReplayGuard  # noqa: E402
from bot.channels.wechat.xml import build_text_reply, parse_xml  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.secrets import Secrets  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.db import Database  # noqa: E402
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
            # WeChat signs the query in safe mode too; WeRoBot checks it, Careline does not.
            signer = WeChatSigner()
            signer.add_data(TOKEN, str(now), nonce)
            query = {
                "signature": signer.signature,
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


def _load(urls: list[str], deliveries: list[Delivery], concurrency: int, out: object) -> None:
    cpu = time.process_time()
    wall, results = asyncio.run(_run_load(urls, deliveries, concurrency))
    out.send((wall, results, time.process_time() - cpu))  # type: ignore[attr-defined]


async def _run_load(
    urls: list[str], deliveries: list[Delivery], concurrency: int
) -> tuple[float, list[tuple[int, float, int, bytes]]]:
    """Delivery k goes to ``urls[k % len(urls)]``: with several servers, as behind a load
    balancer, and a message's retries (consecutive deliveries) reach different ones."""
    results: list[tuple[int, float, int, bytes]] = []
    queue = enumerate(deliveries)
    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            for k, delivery in queue:
                url = urls[k % len(urls)]
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


def run_load(urls: list[str], deliveries: list[Delivery], concurrency: int):  # type: ignore[no-untyped-def]
    """Runs the load in another process, so the client does not eat the server's loop.

    Returns the wall time, the results and the load process's CPU seconds."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_load, args=(urls, deliveries, concurrency, send))
    process.start()
    wall, results, client_cpu = receive.recv()
    process.join()
    return wall, results, client_cpu


# --- servers ------------------------------------------------------------------------------------


class _NoncesInMemory:
    """The ceiling's replay memory: a set, as the protocol work alone would need (the service
    keeps it in its database, for every replica)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[int, str], str] = {}

    async def accept(self, use: NonceUse, *, now: float) -> Admission:
        seen = self._seen.get((use.sent_at, use.nonce))
        if seen is None:
            self._seen[(use.sent_at, use.nonce)] = use.fingerprint
            return Admission.NEW
        return Admission.RETRY if seen == use.fingerprint else Admission.REPLAY

    async def forget(self, use: NonceUse) -> None:
        self._seen.pop((use.sent_at, use.nonce), None)


def ceiling_app() -> web.Application:
    """Verify + replay-check + decrypt + parse + build + encrypt: the protocol work alone."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    guard = ReplayGuard("wechat_mp", _NoncesInMemory())
    verifier = CallbackVerifier(token=TOKEN, guard=guard, crypto=crypto)

    async def handle(request: web.Request) -> web.Response:
        try:
            message = await verifier.open(request.query, await request.read())
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


# WeRoBot's keyword replies, written as its documentation shows: exact words, a pattern, and a
# default for any other text, so every message gets a short Chinese reply.
WEROBOT_HELLO = ("你好", "您好")
WEROBOT_SIGNUP = re.compile(".*(报名|培训|活动)")


def werobot_app():  # type: ignore[no-untyped-def]
    """A WeRoBot bot in safe mode (the message has Encrypt, so it decrypts and encrypts)."""
    import werobot

    robot = werobot.WeRoBot(token=TOKEN, encoding_aes_key=AES_KEY, app_id=APPID)
    # No session: keyword replies need none, and WeRoBot's default store (SQLite, one
    # connection shared by all threads) fails under waitress's threads ("cannot start a
    # transaction within a transaction"), the reply lost; a user would turn it off so.
    robot.config["SESSION_STORAGE"] = False

    @robot.filter(*WEROBOT_HELLO)
    def hello(message):  # type: ignore[no-untyped-def]
        return "你好，这里是妇联关爱热线，请问有什么可以帮您？"

    @robot.filter(WEROBOT_SIGNUP)
    def signup(message):  # type: ignore[no-untyped-def]
        return "报名请回复姓名和电话，工作人员会联系您。"

    @robot.text
    def anything(message):  # type: ignore[no-untyped-def]
        return "收到，工作人员会尽快回复您。"

    return robot.wsgi


def _answer_requests(
    control: object,
    on_stop: Callable[[], None],
    actions: dict[str, Callable[[], object]] | None = None,
) -> None:
    """A server process's side of ``server_process``: "cpu" gets this process's CPU seconds
    (all threads), another request the result of its action; "stop", or the bench gone, calls
    ``on_stop``."""
    while True:
        try:
            request = control.recv()  # type: ignore[attr-defined]
        except EOFError:
            request = "stop"
        if request == "stop":
            on_stop()
            return
        action = (actions or {}).get(request)
        control.send(action() if action else time.process_time())  # type: ignore[attr-defined]


def _serve_werobot(control: object) -> None:
    """The WeRoBot server process: waitress with its defaults (4 threads) on a free port."""
    logging.basicConfig(level=logging.ERROR)  # waitress warns of its queue depth under load
    from waitress import create_server

    server = create_server(werobot_app(), host="127.0.0.1", port=0)
    control.send(f"http://127.0.0.1:{server.effective_port}/wechat/mp")  # type: ignore[attr-defined]
    answering = threading.Thread(
        target=_answer_requests, args=(control, lambda: os._exit(0)), daemon=True
    )
    answering.start()
    server.run()


def _serve_careline(
    control: object, db_url: str, model_dir: Path, field_key: str, profile_to: str
) -> None:
    """One Careline process: the real app (``create_app``) on a free port, on a database
    already migrated; several of them share one PostgreSQL database as replicas would.
    "profile-start" / "profile-stop" profile its loop thread into ``profile_to``."""
    logging.basicConfig(level=logging.ERROR)

    async def run() -> None:
        services, secrets = await start_careline(make_url(db_url), model_dir, field_key)
        runner, url = await serve(create_app(services, secrets))
        loop, stopped = asyncio.get_running_loop(), asyncio.Event()
        profiler = LoopProfiler(loop)
        actions = {
            "profile-start": profiler.start,
            "profile-stop": lambda: profiler.stop(profile_to),
        }
        control.send(url)  # type: ignore[attr-defined]
        threading.Thread(
            target=_answer_requests,
            args=(control, lambda: loop.call_soon_threadsafe(stopped.set), actions),
            daemon=True,
        ).start()
        await stopped.wait()
        await runner.cleanup()
        await services.close()

    asyncio.run(run())


@dataclass
class Server:
    """A server process as the bench sees it: its URL, and requests to it over a pipe."""

    url: str
    ask: Callable[[str], object]

    def cpu(self) -> float:
        return self.ask("cpu")  # type: ignore[return-value]


@contextlib.contextmanager
def server_process(target: Callable[..., None], *args: object) -> Iterator[Server]:
    """Starts ``target(control, *args)`` in a process of its own, yields it as a ``Server``
    (the URL it sends; its CPU clock), and stops it.

    A process of its own: its CPU must not mix with ours (and waitress is threaded WSGI)."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=target, args=(theirs, *args))
    process.start()
    theirs.close()  # so that a child dying at start-up reads as EOF here
    try:
        try:
            if not ours.poll(180):
                raise RuntimeError(f"{target.__name__} did not start within 180 s")
            url = ours.recv()
        except EOFError:
            process.join(10)
            raise RuntimeError(
                f"{target.__name__} exited at start-up (code {process.exitcode}; its error "
                "is printed above)"
            ) from None

        def ask(request: str) -> object:
            ours.send(request)
            return ours.recv()

        yield Server(url, ask)
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        process.join(30)
        if process.is_alive():
            process.terminate()
            process.join(10)
        ours.close()


@contextlib.asynccontextmanager
async def careline_database(workdir: Path, postgres: str | None) -> AsyncIterator[URL]:
    """A temporary SQLite file, or a fresh database on the PostgreSQL server ``postgres``
    (created for the run and dropped after it)."""
    if postgres is None:
        yield make_url(f"sqlite+aiosqlite:///{workdir / 'careline.db'}")
        return
    import psycopg

    server = make_url(postgres)
    name = f"careline_bench_{uuid.uuid4().hex[:10]}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(drivername="postgresql+asyncpg", database=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def start_careline(url: URL, model_dir: Path, field_key: str) -> tuple[Services, Secrets]:
    config = parse_config(
        {
            "database": {"url": url.render_as_string(hide_password=False)},
            "nlu": {"model_dir": str(model_dir)},
            # The API is never called at a 4 s deadline; a dead port makes any call fail fast.
            "wechat": {"appid": APPID, "mode": "safe", "api_base_url": "http://127.0.0.1:9"},
        }
    )
    secrets = Secrets(
        field_key=field_key,
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
    server_cpu: float = 0.0  # seconds of the server process's CPU while the load ran
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


async def measure(
    name: str,
    urls: list[str],
    deliveries: list[Delivery],
    concurrency: int,
    server_clock: Callable[[], float] = time.process_time,  # this process, or the servers'
) -> Report:
    cpu = server_clock()
    wall, results, client_cpu = await asyncio.to_thread(run_load, urls, deliveries, concurrency)
    server_cpu = server_clock() - cpu
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


async def check_duplicates(db: Database, n: int, report: Report) -> list[str]:
    """Every answered message stored once; at most one contact and escalation each; same
    replies. A message refused with 503 (database busy) may be missing: WeChat retries it."""
    problems = []
    async with db.session() as session:
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
    parser.add_argument("--skip-werobot", action="store_true", help="no WeRoBot endpoint")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run Careline on a fresh database of this PostgreSQL server "
        "(e.g. postgresql://postgres@127.0.0.1:5432/test); default: a temporary SQLite file",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="Careline server processes on one PostgreSQL database (needs --postgres); the "
        "load goes to them in turn and a message's retries reach different ones",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="profile the Careline servers' loop threads into DIR/careline-N.prof (pstats) and "
        "print where their CPU went (slows them: compare shares, not rps)",
    )
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.processes > 1 and args.postgres is None:
        parser.error("--processes above 1 needs --postgres (replicas share a PostgreSQL database)")
    logging.basicConfig(level=logging.ERROR)
    if not args.skip_werobot and not all(
        importlib.util.find_spec(name) for name in ("werobot", "waitress")
    ):
        parser.error(
            "WeRoBot needs the bench extra: pip install -e '.[test,bench]' (or --skip-werobot)"
        )

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
            ceiling = await measure("ceiling (crypto)", [url], deliveries, args.concurrency)
        finally:
            await runner.cleanup()
        rows.append(ceiling.line())

    werobot = None
    if not args.skip_werobot:
        with server_process(_serve_werobot) as server:
            werobot = await measure(
                "WeRoBot/waitress", [server.url], deliveries, args.concurrency, server.cpu
            )
        rows.append(werobot.line())

    with tempfile.TemporaryDirectory() as tmp:
        async with careline_database(Path(tmp), args.postgres) as db_url:
            await upgrade(db_url)  # once, before any replica starts
            field_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
            with contextlib.ExitStack() as stack:
                servers = [
                    stack.enter_context(
                        server_process(
                            _serve_careline,
                            db_url.render_as_string(hide_password=False),
                            args.model_dir,
                            field_key,
                            str((args.profile or Path(tmp)) / f"careline-{index}.prof"),
                        )
                    )
                    for index in range(args.processes)
                ]
                name = "full pipeline" if args.processes == 1 else f"full, {args.processes} procs"
                if args.profile:
                    for server in servers:
                        server.ask("profile-start")
                full = await measure(
                    name,
                    [server.url for server in servers],
                    deliveries,
                    args.concurrency,
                    lambda: sum(server.cpu() for server in servers),
                )
                dumps = [server.ask("profile-stop") for server in servers] if args.profile else []
            rows.append(full.line())
            print(header, *rows, sep="\n")
            db = Database(db_url)
            try:
                problems = await check_duplicates(db, args.messages, full)
            finally:
                await db.close()
            if dumps:
                print("where the Careline servers' CPU went (profiled: its rps is not comparable):")
                print(breakdown(dumps, full.server_cpu, full.requests))  # type: ignore[arg-type]

    print("ratios, side by side in this run (the targets are these, not absolute figures):")
    if werobot is not None:
        print(ratio_line("Careline/WeRoBot", full, werobot, 1.5, args.concurrency, "issue 15"))
    if ceiling is not None:
        print(ratio_line("Careline/ceiling", full, ceiling, 0.5, args.concurrency, "issue 4"))
    p99 = sorted(full.latencies)[min(len(full.latencies) - 1, int(len(full.latencies) * 0.99))]
    print(
        f"full p99 {p99 * 1000:.1f} ms (issue 4 target <= 50 ms); "
        f"errors {sum(full.errors.values())} (target 0)"
    )
    if werobot is not None:
        print(cpu_budget("1.5x WeRoBot's rps", 1.5 * werobot.rps, full, werobot))
    if ceiling is not None:
        print(cpu_budget("50% of the ceiling's rps", 0.5 * ceiling.rps, full, ceiling))
    if werobot is not None and sum(werobot.errors.values()):
        # A baseline that fails requests is no baseline: its rps would flatter the ratio.
        problems.append(f"WeRoBot: {dict(werobot.errors)}; its rps is not comparable")
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems or sum(full.errors.values()) else 0


def ratio_line(
    label: str, full: Report, other: Report, target: float, concurrency: int, issue: str
) -> str:
    """Careline over another endpoint: rps and server CPU per request, the target beside."""
    ratio = full.rps / other.rps
    errors = sum(full.errors.values())
    if concurrency != 16:
        verdict = f"not judged at concurrency {concurrency}"
    else:
        verdict = "met" if ratio >= target and errors == 0 else "not met"
    full_cpu, other_cpu = full.cpu_ms(full.server_cpu), other.cpu_ms(other.server_cpu)
    return (
        f"  {label}: rps {ratio:.2f}x ({full.rps:.0f} / {other.rps:.0f}), "
        f"server CPU per request {full_cpu / other_cpu:.2f}x ({full_cpu:.2f} / {other_cpu:.2f} ms)"
        f"; {issue} target rps >= {target:g}x at concurrency 16 with 0 errors: {verdict}"
    )


def cpu_budget(goal: str, rps: float, full: Report, other: Report) -> str:
    """A server busy all the time answers 1 / (CPU per request) on one core (one event loop;
    WeRoBot's threads share one GIL), so a target rps leaves this much CPU per message."""
    return (
        f"CPU budget for {goal} on one core: {1000 / rps:.2f} ms per message; the full "
        f"pipeline used {full.cpu_ms(full.server_cpu):.2f} ms ({other.name.strip()} "
        f"{other.cpu_ms(other.server_cpu):.2f} ms, its server busy "
        f"{other.server_cpu / other.wall:.0%} of the run)"
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
