"""The key inventory against the per-user loop, timed by pyperf on one seeded sandbox.

    python bench/inventory.py --home HOME --keys N -o inventory.json           # key_inventory()
    python bench/inventory.py --home HOME --keys N --naive -o inventory.json   # the per-user loop

HOME's sandbox holds the users and keys `seed()` made (bench/run.py seeds it first). Every value
is a call in a fresh worker process, as a learner's kernel makes it; each checks that the table
holds every key, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyperf
from naive_inventory import naive_key_inventory  # next to this script

from labkit import reports, session


def seed(lab: Any, users: int, two_key_users: int, workers: int) -> int:
    """`users` IAM users, the first `two_key_users` with 2 keys and the rest with 1; API calls."""
    # Clients are thread-safe, sessions are not: make them all here, one per worker.
    clients = [lab.client_for(lab.session, "iam") for _ in range(workers)]

    def work(worker: int) -> int:
        iam = clients[worker]
        calls = 0
        for i in range(worker, users, workers):
            name = f"bench-user-{i:05d}"
            iam.create_user(UserName=name)
            iam.create_access_key(UserName=name)
            calls += 2
            if i < two_key_users:
                iam.create_access_key(UserName=name)
                calls += 1
        return calls

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(work, range(workers)))


def timed(loops: int, naive: bool, keys: int) -> float:
    """Time `loops` inventories (the per-user loop if `naive`), each checked to hold every key."""
    iam = session.connect().client("iam")
    took = 0.0
    for _ in range(loops):
        began = time.perf_counter()
        table = naive_key_inventory(iam) if naive else reports.key_inventory(iam)
        took += time.perf_counter() - began
        if len(table) != keys:
            raise RuntimeError(f"the inventory listed {len(table)} keys, expected {keys}")
    return took


def worker_args(cmd: list[str], args: Any) -> None:
    """Hand our own options on to pyperf's worker processes."""
    cmd += ["--home", args.home, "--keys", str(args.keys)] + (["--naive"] if args.naive else [])


def main() -> None:
    """Time key_inventory(), or with --naive the per-user loop."""
    runner = pyperf.Runner(add_cmdline_args=worker_args)
    runner.argparser.add_argument("--home", required=True, help="LABKIT_HOME of the seeded sandbox")
    runner.argparser.add_argument("--keys", type=int, required=True,
                                  help="keys in the account, the console identity's included")
    runner.argparser.add_argument("--naive", action="store_true", help="time the per-user loop")
    args = runner.parse_args()
    os.environ["LABKIT_HOME"] = args.home  # pyperf's workers get a clean environment
    name = "naive_key_inventory" if args.naive else "key_inventory"
    runner.bench_time_func(name, timed, args.naive, args.keys)


if __name__ == "__main__":
    main()
