"""The hotline's targets (issue 18), measured on the real code with a temporary SQLite database.

    .venv/bin/python bench/hotline.py [--crises 100] [-c 4] [--calls 10000] [--model-dir DIR]
        [--skip-live] [--skip-import]

1. **A crisis in an in-progress call** (target: first staff notice <= 2 s after the segment
   arrives, p99). Serves the real app (``create_app``) with the outbox worker and scheduler
   leader running, the duty roster and the signed staff webhook pointing at a local receiver
   (``bench/time_to_human.py``'s). Each call posts an early transcript (IVR, greeting, her first
   words), then the same call, still in progress, with a crisis segment added; the latency is
   from that request leaving to the duty worker's first notice arriving. C calls at a time.
2. **Import of 10,000 calls** (target: <= 60 s on the embedded default, memory flat in the file
   size). Generates N realistic calls (about 15 segments each: the IVR, the agent, her words
   on one topic with fillers, repeats and low confidence; about one call in five a legal or
   money problem, 1 in 100 a crisis; callers who call again) into a temporary JSONL file,
   then imports it as ``careline import-transcripts`` does, progress bar included, sampling
   the resident memory while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.time_to_human import Receiver, configuration, pct, secrets  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.channels.hotline.her_words import IvrPrompts  # noqa: E402
from bot.channels.signed_webhook import timestamped_headers  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.transcript_import import import_file  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

IVR = "您好，欢迎致电妇联关爱热线，为保证服务质量，本次通话将被录音。"
GREETINGS = ["您好 这里是关爱热线 请问有什么可以帮您", "你好 请讲", "您好 我是社工小陈 您慢慢说"]
FILLERS = ["嗯", "那个", "就是", "啊", "然后", "怎么说呢", "对对"]
# What a call is about, and how often (a women's federation hotline: mostly questions about
# services, some loneliness and strain, about one call in five a legal or money problem, which
# the policy hands to a person at P2; 1 in 100 a crisis, drawn separately). Her turns keep to
# the call's topic, with acknowledgements between.
TOPICS: dict[str, tuple[int, list[str]]] = {
    "job_training": (
        25,
        ["我想问问 育婴师培训 怎么报名", "培训要交钱吗 在哪里上课", "想找个 能带孩子的 兼职工作"],
    ),
    "child_support": (
        15,
        ["孩子上学的补助 能不能申请", "补助要准备 什么材料", "户口不在这边 能申请吗"],
    ),
    "parenting": (10, ["孩子老是发脾气 不知道怎么管", "有没有 家长课堂 可以参加"]),
    "alone": (15, ["我老公 常年在外地 家里就我一个人", "平时 也没个人说说话"]),
    "strain": (15, ["最近带孩子 真的好累 睡不好", "心情不太好 有点烦 不知道跟谁说"]),
    "legal_aid": (10, ["法律援助 离婚的事 要准备什么材料", "他不给抚养费 我能去告他吗"]),
    "hardship": (10, ["孩子老是生病 医药费 有点吃不消", "这个月 房租都交不上了"]),
}
ACKS = ["嗯 好的", "对 对", "好的 谢谢", "明白了"]
# What she asks when no escalation is due before the crisis (the live bench; the classifier
# takes a question about a subsidy for financial hardship, a P2).
CALM_TOPICS = ["job_training"]
AGENT = ["嗯 我在听", "您慢慢说", "这个我们可以帮您登记", "您是哪个区的", "好的 明白"]
CRISES = [
    "我真的 我真的不想活了 想从楼上跳下去",
    "他又喝醉了 拿刀 说要杀了我",
    "活着好累 想结束这一切",
]
LINES = ["关爱热线 1号线", "关爱热线 2号线"]


def _said(rng: random.Random, words: str) -> str:
    """Her words as a recogniser gives them: fillers, a repeat, no punctuation."""
    parts = [rng.choice(FILLERS)] if rng.random() < 0.7 else []
    head = words.split(" ")[0]
    parts += [head, words] if rng.random() < 0.3 else [words]
    if rng.random() < 0.4:
        parts.append(rng.choice(FILLERS))
    return " ".join(parts)


def generated_call(
    rng: random.Random,
    n: int,
    started: datetime,
    crisis: bool,
    callers: int = 1_000_000,
    topics: list[str] | None = None,
) -> dict[str, Any]:
    at = 0.0
    segments = []

    def add(speaker: str, text: str, confidence: float) -> None:
        nonlocal at
        length = 1.5 + len(text) / 5
        segments.append(
            {"speaker": speaker, "start": round(at, 2), "end": round(at + length, 2)}
            | {"text": text, "confidence": round(confidence, 2)}
        )
        at += length + rng.uniform(0.2, 2.0)

    names = topics or list(TOPICS)
    topic = rng.choices(names, weights=[TOPICS[t][0] for t in names])[0]
    add("ivr", IVR, 0.97)
    add("agent", rng.choice(GREETINGS), rng.uniform(0.8, 0.97))
    turns = rng.randint(6, 7)
    for turn in range(turns):
        last = turn == turns - 1
        if crisis and last:
            text = rng.choice(CRISES)
        elif turn == 0 or rng.random() < 0.6:
            text = rng.choice(TOPICS[topic][1])
        else:
            text = rng.choice(ACKS)
        add("caller", _said(rng, text), rng.uniform(0.3, 0.95))
        add("agent", rng.choice(AGENT), rng.uniform(0.8, 0.97))
    return {
        "call_id": f"bench-{n:06d}",
        # Some callers call again; one call in 20 from a withheld number.
        "caller": None if rng.random() < 0.05 else f"138{rng.randrange(callers):08d}",
        "line": rng.choice(LINES),
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(seconds=at)).isoformat(),
        "agent_id": f"agent-{rng.randrange(12):03d}",
        "status": "final",
        "segments": segments,
    }


def write_calls(path: Path, calls: int, seed: int = 18) -> int:
    """N calls, one per line; the segment count."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    segments = 0
    with path.open("w", encoding="utf-8") as out:
        for n in range(calls):
            at = start + timedelta(minutes=7 * n)
            # About a third of the calls are from someone who called before.
            call = generated_call(rng, n, at, rng.random() < 0.01, callers=max(1, calls * 2 // 3))
            segments += len(call["segments"])
            out.write(json.dumps(call, ensure_ascii=False) + "\n")
    return segments


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# --- 1. a crisis in a call still going on -----------------------------------------------------


async def live_crisis(args: argparse.Namespace, workdir: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    url = make_url(f"sqlite+aiosqlite:///{workdir / 'live.db'}")
    await upgrade(url)
    raw = configuration(url.render_as_string(hide_password=False), args.model_dir, receiver.url)
    config = parse_config(raw | {"hotline": {"ivr_prompts": [IVR]}})
    keys = secrets().model_copy(update={"hotline_hmac_secret": "bench-hotline-" + "h" * 32})
    services = await Services.start(config, keys)
    runner = web.AppRunner(create_app(services, keys), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    endpoint = f"http://127.0.0.1:{runner.addresses[0][1]}/hotline/transcripts"
    rng = random.Random(1)
    sent: dict[int, float] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(args.crises):
        queue.put_nowait(n)

    async def post(session: aiohttp.ClientSession, call: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(call, ensure_ascii=False).encode()
        headers = timestamped_headers(keys.hotline_hmac_secret, body, timestamp=int(time.time()))
        async with session.post(endpoint, data=body, headers=headers) as response:
            return await response.json()

    async def caller(session: aiohttp.ClientSession) -> None:
        """Pushes the call as a call system does: again after each of her segments."""
        while not queue.empty():
            n = queue.get_nowait()
            whole = generated_call(rng, n, datetime.now(UTC), crisis=True, topics=CALM_TOPICS)
            whole |= {"caller": f"139{n:08d}", "status": "in_progress", "ended_at": None}
            segments = whole["segments"]
            ends = [i + 1 for i, s in enumerate(segments) if s["speaker"] == "caller"]
            escalated_before = False
            for end in ends:
                started = time.monotonic()
                answer = await post(session, whole | {"segments": segments[:end]})
                if end == ends[-1] and answer.get("escalated") and not escalated_before:
                    sent[answer["escalation_id"]] = started  # the crisis segment's push
                escalated_before = escalated_before or bool(answer.get("escalated"))

    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(caller(session) for _ in range(args.concurrency)))
        await receiver.wait_for(lambda: set(sent) <= set(receiver.first("new", "duty")), 30)
    finally:
        await runner.cleanup()
        await services.close()
        await receiver.stop()
    arrived = receiver.first("new", "duty")
    latencies = [arrived[e] - s for e, s in sent.items() if e in arrived]
    print(
        f"crisis mid-call: {len(sent)}/{args.crises} escalated at the crisis segment, "
        f"{len(latencies)} notified"
    )
    if latencies:
        p99 = pct(latencies, 0.99)
        print(
            f"  first staff notice after the segment: p50 {pct(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
            f"(target p99 <= 2000 ms: {'met' if p99 <= 2 else 'NOT met'})"
        )


# --- 2. the import ----------------------------------------------------------------------------


async def batch_import(args: argparse.Namespace, workdir: Path) -> None:
    export = workdir / "calls.jsonl"
    segments = write_calls(export, args.calls)
    size_mb = export.stat().st_size / 1e6
    print(f"generated {args.calls:,} calls, {segments:,} segments, {size_mb:.1f} MB", flush=True)
    url = make_url(f"sqlite+aiosqlite:///{workdir / 'import.db'}")
    await upgrade(url)
    raw = configuration(url.render_as_string(hide_password=False), args.model_dir, "http://x")
    config = parse_config(raw | {"hotline": {"ivr_prompts": [IVR]}})
    services = await Services.start(config, secrets(), run_jobs=False)
    samples: list[float] = []

    async def sample() -> None:
        while True:
            samples.append(rss_mb())
            await asyncio.sleep(1)

    before = rss_mb()
    sampler = asyncio.ensure_future(sample())
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        summary = await import_file(
            services.pipeline,
            IvrPrompts([IVR]),
            export,
            max_line_bytes=config.service.max_body_bytes,
        )
    finally:
        took = time.perf_counter() - started
        cpu = time.process_time() - cpu_started  # every thread's (aiosqlite's included)
        sampler.cancel()
        await services.close()
    quarter = max(1, len(samples) // 4)
    print(
        f"imported {summary.new_calls:,} calls ({summary.new_segments:,} of her segments, "
        f"{len(summary.contacts):,} contacts, {len(summary.escalations)} escalations, "
        f"{summary.refused_count} refused) in {took:.1f} s: {args.calls / took:.0f} calls/s, "
        f"{segments / took:.0f} segments/s"
    )
    print(
        f"  CPU {cpu:.1f} s: {1000 * cpu / max(1, summary.new_segments):.1f} ms per segment of "
        f"hers, {1000 * cpu / args.calls:.1f} ms per call"
    )
    scaled = took * 10_000 / args.calls
    print(
        f"  10,000 calls at this rate: {scaled:.0f} s "
        f"(target <= 60 s: {'met' if scaled <= 60 else 'NOT met'})"
    )
    print(
        f"  resident memory: {before:.0f} MB before, max {max(samples[:quarter]):.0f} MB in the "
        f"first quarter, {max(samples[-quarter:]):.0f} MB in the last; peak {peak_rss_mb():.0f} MB"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        if not args.skip_live:
            await live_crisis(args, Path(workdir))
        if not args.skip_import:
            await batch_import(args, Path(workdir))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crises", type=int, default=100)
    parser.add_argument("-c", "--concurrency", type=int, default=4)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--model-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    asyncio.run(main(parser.parse_args()))
