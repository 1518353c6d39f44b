"""NLU latency and throughput: embedded classifier vs a Rasa server, on the same messages.

    .venv/bin/python bench/nlu_bench.py [--rasa-url http://127.0.0.1:5005] [--messages N]

Rows: the embedded intent classifier alone (the issue's p99 <= 2 ms target), the full
composite parse (classifier + crisis layer + entities), and Rasa's /model/parse through
``RasaClassifier`` when a URL is given and the server answers. Run on an idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intents import NLUSettings, build_nlu  # noqa: E402
from intents.datasets import read_training_data  # noqa: E402
from intents.embedded import load  # noqa: E402
from intents.normalize import clear_cache  # noqa: E402
from intents.protocol import ClassifierUnavailable  # noqa: E402


def row(name: str, measured: tuple[list[float], list[float], float]) -> str:
    latencies, cpu_times, wall = measured
    ms = np.asarray(latencies) * 1000
    cpu = np.asarray(cpu_times) * 1000
    return (
        f"| {name:<22} | {len(ms):>5} | {ms.mean():>7.3f} | {np.percentile(ms, 50):>7.3f} | "
        f"{np.percentile(ms, 99):>7.3f} | {np.percentile(cpu, 50):>7.3f} | "
        f"{np.percentile(cpu, 99):>7.3f} | {len(ms) / wall:>7.0f} |"
    )


HEADER = (
    "| backend                |     n | mean ms | p50 ms  | p99 ms  "
    "| cpu p50 | cpu p99 |   msg/s |\n"
    "|------------------------|-------|---------|---------|---------|---------|---------|---------|"
)


async def measure(
    call: Callable[[str], Awaitable[object]], messages: Sequence[str]
) -> tuple[list[float], list[float], float]:
    """Wall-clock latency per message, and this thread's CPU time per message (which leaves
    out time the process waited for a core: a loaded machine inflates only the first)."""
    latencies, cpu_times = [], []
    started = time.perf_counter()
    for text in messages:
        before, before_cpu = time.perf_counter(), time.thread_time()
        await call(text)
        cpu_times.append(time.thread_time() - before_cpu)
        latencies.append(time.perf_counter() - before)
    return latencies, cpu_times, time.perf_counter() - started


async def measure_rasa(url: str, messages: Sequence[str]) -> str:
    from intents.rasa_client import RasaClassifier

    rasa = RasaClassifier(url, timeout=5.0)
    try:
        await rasa.classify("你好")
        return row("rasa /model/parse", await measure(rasa.classify, messages))
    except ClassifierUnavailable as exc:
        return f"| rasa not measured: {exc} |"
    finally:
        await rasa.close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-url", help="a running Rasa server (e.g. http://127.0.0.1:5005)")
    parser.add_argument(
        "--serve-rasa",
        type=Path,
        metavar="MODEL",
        help="start `rasa run` on a free loopback port with this model (needs `make rasa-venv`)",
    )
    parser.add_argument("--messages", type=int, default=5000, help="at most this many")
    parser.add_argument("--model-dir", type=Path, help="embedded model dir (default: a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temporary:
        settings = NLUSettings(model_dir=args.model_dir or Path(temporary))
        # Distinct messages, so no cache (folding, crisis signals) answers from an earlier one.
        texts = list(dict.fromkeys(e.text for e in read_training_data(settings.data_dir)))
        messages = texts[: args.messages]
        mean_chars = statistics.mean(map(len, messages))
        print(f"{len(messages)} distinct messages of {mean_chars:.0f} chars on average")

        started = time.perf_counter()
        classifier = load(settings)
        print(f"embedded model ready in {time.perf_counter() - started:.2f} s (trained if missing)")
        started = time.perf_counter()
        load(settings)
        print(f"embedded model load: {time.perf_counter() - started:.2f} s")

        nlu = build_nlu(settings)
        await nlu.parse("明天下午三点")  # load the time parser before measuring
        rows = []
        rows.append(row("embedded classify", await measure(classifier.classify, messages)))
        clear_cache()
        rows.append(row("embedded full parse", await measure(nlu.parse, messages)))
        await nlu.close()

        if args.serve_rasa:
            from intents.rasa_train import RasaServer, default_rasa_venv

            log = Path(temporary) / "rasa.log"
            with RasaServer(default_rasa_venv(), args.serve_rasa.resolve(), log=log) as server:
                print(f"rasa serving {args.serve_rasa.name} at {server.url}")
                rows.append(await measure_rasa(server.url, messages))
        elif args.rasa_url:
            rows.append(await measure_rasa(args.rasa_url, messages))

    print()
    print(HEADER)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
