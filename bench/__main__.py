"""`python -m bench` (`make bench`): run every benchmark in turn; each prints its own figures."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

BENCHMARKS = [
    "bench.bench_e2e",
    "bench.bench_devserver_flags",
    "bench.bench_propagation",
    "bench.bench_snapshot",
    "bench.bench_ledger_ops",
    "bench.bench_http_clients",
    "bench.bench_exchange_log",
    "bench.bench_routing",
    "bench.bench_payload_codec",
    "bench.bench_flatfile",
]


def main() -> None:
    failed = []
    for module in BENCHMARKS:
        if importlib.util.find_spec(module) is None:
            continue
        print(f"\n=== {module} ===", flush=True)
        if subprocess.call([sys.executable, "-m", module]) != 0:
            failed.append(module)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
