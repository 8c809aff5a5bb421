#!/usr/bin/env python
"""What a click's handler style costs the server: the counter bound without ``ev``
(``self.bind.inc()``), with ``ev``, and with ``ev`` writing ``tag.state`` (the session, on disk),
each on the lean path and on htag's own (``lean=False``); served by uvicorn (httptools, uvloop)
like bench_peers.py's rows, 64 sessions clicking for 10 s each, the server's CPU read from /proc.

    python bench/bench_variants.py [--quick] [--pin CPU] [--rounds N]

Reported: server CPU µs per click (the figure the targets name), clicks per server-CPU-second,
and the ratios ``ev ÷ plain`` and ``state − ev``. Rounds alternate the variants, so noise from
other processes hits each alike; the median of the rounds is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import machine, pin, progress, raise_open_files
from bench.bench_peers import (
    BARE_UVICORN,
    ENVS,
    UVICORN,
    HtagSSEVariant,
    Plan,
    Results,
    RowResult,
    Runner,
    install,
    throughput,
    uvicorn,
)

#: (row, app in bench/apps.py)
VARIANTS = (
    ("plain: self.bind.inc()", "counter_plain"),
    ("ev: _onclick=self.inc(ev)", "counter"),
    ("ev + tag.state write", "counter_state"),
    ("ev, htag's own path (lean=False)", "counter_htag"),
)


def runner(name: str, app: str) -> Runner:
    return Runner(name, UVICORN, "main-extras", HtagSSEVariant(), uvicorn(f"bench.apps:{app}"), BARE_UVICORN, "")


async def measure(plan: Plan, rounds: int, res: Results) -> dict[str, list[float]]:
    """Server CPU µs per click of each variant, one run per round."""
    started, cost = asyncio.get_running_loop().time(), {name: [] for name, _ in VARIANTS}
    for i in range(rounds):
        for name, app in VARIANTS:
            progress(started, f"round {i + 1}/{rounds}: {name}")
            run = await throughput(runner(name, app), plan, res)
            cost[name].append(run.server_cpu_s / run.clicks * 1e6)
    return cost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 s runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pin", type=int, metavar="CPU", help="run the servers on this CPU only, the client on the others"
    )
    args = parser.parse_args()
    pin(args.pin)
    plan = Plan(gets=0, spawn_gets=0, clicks=0, users=64, load_s=2.0 if args.quick else 10.0, pushes=0, sessions=0,
                warmup=0)  # fmt: skip
    raise_open_files(2 * plan.users + 256)
    installed = install(ENVS["main-extras"], ROOT / "bench" / ".peers")
    res = Results({name: RowResult() for name, _ in VARIANTS}, {"main-extras": installed})
    print(machine() + f"\n{installed.versions}; {UVICORN}\n", flush=True)
    cost = asyncio.run(measure(plan, args.rounds, res))
    median = {name: statistics.median(values) for name, values in cost.items()}
    print("| handler | server CPU µs per click | clicks per server-CPU-s | rounds (µs) |\n|---|---:|---:|---|")
    for name, values in cost.items():
        print(f"| {name} | {median[name]:.1f} | {1e6 / median[name]:,.0f} | {', '.join(f'{v:.1f}' for v in values)} |")
    names = [name for name, _ in VARIANTS]
    print(f"\nev ÷ plain: {median[names[1]] / median[names[0]]:.2f}×; state write: "
          f"{median[names[2]] - median[names[1]]:+.1f} µs per click; lean ÷ htag's path: "
          f"{median[names[1]] / median[names[3]]:.2f}× the CPU")  # fmt: skip
    if res.errors.counts:
        print("\nINVALID: failed requests: " + ", ".join(f"{k}: {v} ({res.errors.first[k]})"
                                                          for k, v in res.errors.counts.items()))  # fmt: skip
        return 1
    print("\nerrors: none (every response 2xx)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
