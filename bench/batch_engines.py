"""Benchmark: `agora batch` in one process and on Ray with 1 and 2 worker processes.

Runs `agora batch recommend` for every user of a dataset and `agora batch triage` on N texts
(the airline tweets repeated to N), each with `--engine local`, `--engine ray --workers 1` and
`--engine ray --workers 2` (a local Ray runtime, or the cluster at --address), then prints each
run's throughput as the command reported it and whether its output equals the single-process
one (the same top-k lists; the same labels, and probabilities within 1e-6).

With --service-url, a sample of the texts is also sent to the running service's /triage_batch
(in requests of 1,000, its limit) and its answers compared with the batch output's rows.

Usage (champions in the registry, e.g. after `make demo`):
    python bench/batch_engines.py --texts 100000 [--address HEAD:PORT] \
        [--service-url http://127.0.0.1:3000 --api-key KEY --service-sample 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from data.environment import apply_stack_environment

AGORA = str(Path(sys.executable).with_name("agora"))
RUNS = (("local", []), ("ray x1", ["--engine", "ray", "--workers", "1"]),
        ("ray x2", ["--engine", "ray", "--workers", "2"]))  # fmt: skip
THROUGHPUT = re.compile(r"throughput: (?P<line>.*)")


def airline_texts(count: int) -> pd.DataFrame:
    mirror = Path(os.environ.get("AGORA_DATA_MIRROR", "../shared/datasets"))
    tweets = pd.read_csv(mirror / "twitter-us-airline-sentiment" / "Tweets.csv")["text"]
    repeats = -(-count // len(tweets))
    texts = pd.concat([tweets] * repeats, ignore_index=True).iloc[:count]
    return pd.DataFrame({"id": np.arange(count), "text": texts.to_numpy()})


def run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    match = THROUGHPUT.search(done.stdout)
    return match.group("line") if match else done.stdout.strip().splitlines()[-1]


def same_answers(got: pd.DataFrame, expected: pd.DataFrame) -> tuple[bool, float]:
    """Labels equal and the largest probability difference (the JSON per-class ones too)."""
    numbers = [c for c in expected.columns if c.endswith("probability")]
    numbers.append("language_confidence")
    labels = [c for c in expected.columns if c not in numbers and c != "sentiment_probabilities"]
    equal = got[labels].reset_index(drop=True).equals(expected[labels].reset_index(drop=True))
    gap = np.nanmax(
        np.abs(got[numbers].to_numpy(float) - expected[numbers].to_numpy(float)), initial=0.0
    )
    for mine, theirs in zip(
        got["sentiment_probabilities"], expected["sentiment_probabilities"], strict=True
    ):
        if isinstance(theirs, str):
            a, b = json.loads(mine), json.loads(theirs)
            equal &= a.keys() == b.keys()
            gap = max(gap, *(abs(a[k] - b[k]) for k in b))
    return bool(equal), float(gap)


def compare_with_service(
    texts: pd.DataFrame, batch_output: pd.DataFrame, url: str, key: str, sample: int
) -> tuple[bool, float]:
    import httpx

    from models.triage import TriageResult
    from training.batch.triage import triage_rows

    results = []
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=url, headers=headers, timeout=300) as c:
        for start in range(0, sample, 1000):
            chunk = texts["text"].iloc[start : min(start + 1000, sample)].tolist()
            answer = c.post("/triage_batch", json={"texts": chunk})
            answer.raise_for_status()
            results += [TriageResult(**r) for r in answer.json()["results"]]
    served = triage_rows(results)
    return same_answers(batch_output.iloc[:sample][served.columns], served)


def main() -> None:
    apply_stack_environment()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="movielens-100k")
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--address", help="a Ray cluster to run the ray runs on")
    parser.add_argument("--out-dir", type=Path)
    parser.add_argument("--service-url")
    parser.add_argument("--api-key", default=os.environ.get("AGORA_API_KEY", ""))
    parser.add_argument("--service-sample", type=int, default=5000)
    parser.add_argument("--skip", choices=("recommend", "triage"))
    args = parser.parse_args()
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="agora-batch-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    runs = [
        (name, [*extra, "--address", args.address] if args.address and extra else extra)
        for name, extra in RUNS
    ]

    if args.skip != "recommend":
        print(f"agora batch recommend --dataset {args.dataset}")
        first = None
        for name, extra in runs:
            path = out / f"recs-{name.replace(' ', '')}.parquet"
            line = run([AGORA, "batch", "recommend", "--dataset", args.dataset,
                        "--out", str(path), *extra])  # fmt: skip
            frame = pd.read_parquet(path)
            first = frame if first is None else first
            print(f"  {name:<7} {line}; same lists as local: {frame.equals(first)}")

    if args.skip != "triage":
        table = airline_texts(args.texts)
        source = out / "texts.parquet"
        table.to_parquet(source, index=False)
        print(f"agora batch triage ({args.texts} airline tweets, repeated)")
        first = None
        for name, extra in runs:
            path = out / f"triage-{name.replace(' ', '')}.parquet"
            line = run([AGORA, "batch", "triage", str(source), "--out", str(path), *extra])
            frame = pd.read_parquet(path)
            first = frame if first is None else first
            equal, gap = same_answers(frame, first)
            print(f"  {name:<7} {line}; same labels as local: {equal}, max |dp| {gap:.1e}")
        if args.service_url:
            sample = min(args.service_sample, args.texts)
            equal, gap = compare_with_service(table, first, args.service_url, args.api_key, sample)
            print(f"  /triage_batch on the first {sample}: same labels {equal}, max |dp| {gap:.1e}")
    print(f"outputs in {out}")


if __name__ == "__main__":
    main()
