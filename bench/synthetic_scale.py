"""Benchmark: generate N synthetic interactions; report wall time, rows/s and peak memory.

Usage: python bench/synthetic_scale.py --interactions 20000000 [--seed 0] [--keep DIR]
Targets (issue 2): 20M interactions in < 2 minutes and < 4 GB peak memory on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from data.environment import apply_stack_environment
from data.synthetic import SyntheticConfig, generate


def main() -> int:
    apply_stack_environment()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="write here instead of a temp dir")
    args = parser.parse_args()

    config = SyntheticConfig(interactions=args.interactions, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        started = time.perf_counter()
        written = generate(config, out / "interactions.parquet", out / "items.parquet")
        elapsed = time.perf_counter() - started
        rows = pq.ParquetFile(out / "interactions.parquet").metadata.num_rows
        size_mb = (out / "interactions.parquet").stat().st_size / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    users, items = config.sizes()
    print(f"interactions written : {written:,} (parquet rows {rows:,}, {size_mb:,.0f} MB)")
    print(f"users / items        : {users:,} / {items:,}")
    print(f"wall time            : {elapsed:.1f} s ({written / elapsed:,.0f} rows/s)")
    print(f"peak memory (RSS)    : {peak_mb:,.0f} MB")
    ok = elapsed < 120 and peak_mb < 4096
    print("targets (< 120 s, < 4096 MB):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
