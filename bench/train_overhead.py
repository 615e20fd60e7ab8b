"""Benchmark: what `agora train recommender` costs beyond the fit itself.

1. Runs `agora train recommender --dataset NAME --config CONFIG --budget-minutes 0` as a user
   would (a fresh process), timing its wall clock and peak memory, and reads the seconds of
   each step from its `time by step:` line (load_split, tuning, fit, evaluate, log_register).
2. Builds the same training matrix in this process (same split, same catalog, same weighting)
   and times a bare `implicit` ALS fit on it with the config's parameters.
3. Prints the ratios: the command without its evaluation step, and the pipeline's steps without
   evaluation (no interpreter start-up), each against the bare fit.
4. Measures the command's fixed cost: the same command and config on a small synthetic dataset
   (`--floor-interactions`, in a scratch AGORA_HOME), where the data costs next to nothing. What
   is left is start-up, imports, the tracking store and logging and registering a model: the
   least any run pays beyond its fit, printed against the time the 1.3x target leaves.

`--repeat N` runs the command N times, each followed by a bare fit on the same matrix, and judges
the targets on the median ratio: on a shared 2-core machine one fit alone varies by 30 %.

Usage (issue 13's figure: 20M synthetic interactions, target <= 1.3x and <= 4 GB):
    agora data synth --interactions 20000000
    python bench/train_overhead.py --dataset synthetic-20000000-s0 \
        --config configs/recommender/als.large-catalog.yaml --repeat 3
Needs AGORA_HOME (or MLFLOW_TRACKING_URI) as the command uses it; ALS configs only.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from data.environment import apply_stack_environment

STEP_TIMES = re.compile(r"time by step: (.*)")
TARGET = 1.3
AGORA = Path(sys.executable).with_name("agora")


def run_command(
    dataset: str, config: Path, env: dict[str, str] | None = None
) -> tuple[float, float, dict[str, float], str]:
    """(wall seconds, peak MiB, seconds per step, output) of the training command."""
    command = [str(AGORA), "train", "recommender", "--dataset", dataset]
    command += ["--config", str(config), "--budget-minutes", "0"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"training failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
    return wall, peak, printed_step_seconds(done.stdout), done.stdout


def printed_step_seconds(output: str) -> dict[str, float]:
    """The `time by step` line the command prints, as {step: seconds}."""
    found = STEP_TIMES.search(output)
    if found is None:
        raise SystemExit(f"no 'time by step' line in the output:\n{output}")
    steps = (part.rsplit(" ", 2) for part in found.group(1).split(", "))
    return {name: float(value) for name, value, _unit in steps}


def fixed_cost(config: Path, interactions: int) -> float:
    """Seconds the command takes without evaluation on `interactions` synthetic rows, in a
    scratch home: its second run, as the first also creates the tracking database."""
    with tempfile.TemporaryDirectory(prefix="agora-floor-") as home:
        env = {**os.environ, "AGORA_HOME": home, "AGORA_DATA_DIR": str(Path(home, "data"))}
        env.pop("MLFLOW_TRACKING_URI", None)
        synth = [str(AGORA), "data", "synth", "--interactions", str(interactions)]
        subprocess.run([*synth, "--name", "floor"], env=env, check=True, capture_output=True)
        for _ in range(2):
            wall, _peak, steps, _output = run_command("floor", config, env)
        return wall - steps.get("evaluate", 0.0)


def bare_fitter(dataset: str, config: Path) -> tuple[Callable[[], float], tuple[int, int, int]]:
    """A function timing `AlternatingLeastSquares.fit` alone on the matrix the pipeline fits
    (built once here), and that matrix's shape and non-zeros."""
    from implicit.cpu.als import AlternatingLeastSquares

    from models.recommenders import create_recommender, recommender_config
    from models.recommenders.fitted_catalog import FittedCatalog
    from training.recommender.config import load_run_config
    from training.recommender.steps import prepare_split

    run_config = load_run_config(config, None)
    if run_config.model != "als":
        raise SystemExit(f"this benchmark times ALS fits; {config} trains {run_config.model}")
    model = create_recommender("als", recommender_config("als", run_config.params))
    data = prepare_split(dataset, run_config.split)
    catalog = FittedCatalog.from_frames(data.train, data.items, model.config.duplicates)
    matrix = model.weighting.fit_transform(catalog.history)
    c = model.config

    def fit() -> float:
        als = AlternatingLeastSquares(
            factors=c.factors,
            regularization=c.regularization,
            alpha=1.0,
            iterations=c.iterations,
            random_state=c.random_seed,
            num_threads=c.num_threads,
        )
        started = time.perf_counter()
        als.fit(matrix, show_progress=False)
        return time.perf_counter() - started

    return fit, (*matrix.shape, matrix.nnz)


def main() -> int:
    apply_stack_environment()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--config", type=Path, required=True, help="an ALS run config")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of the command, each followed by a bare fit; the targets use the medians",
    )
    parser.add_argument(
        "--floor-interactions",
        type=int,
        default=20_000,
        help="size of the synthetic dataset the fixed cost is measured on (0: skip it)",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        raise SystemExit(f"--repeat must be at least 1, got {args.repeat}")
    print(f"training {args.dataset} with {args.config} on {os.cpu_count()} CPUs ...")
    fit_bare, shape = bare_fitter(args.dataset, args.config)
    print(
        f"matrix                       : {shape[0]:,} users x {shape[1]:,} items, {shape[2]:,} nnz"
    )
    ratios, bare_ratios, bares, peak = [], [], [], 0.0
    for run in range(1, args.repeat + 1):
        wall, peak, steps, output = run_command(args.dataset, args.config)
        bare = fit_bare()  # right after the command: both meet the machine in the same state
        bares.append(bare)
        evaluate = steps.get("evaluate", 0.0)
        pipeline = sum(v for k, v in steps.items() if k != "evaluate")
        ratios.append((wall - evaluate) / bare)
        bare_ratios.append(pipeline / bare)
        print(f"run {run}: {output.strip().splitlines()[-1]}")
        print(f"  command wall time          : {wall:.1f} s (peak memory so far {peak:,.0f} MiB)")
        print(
            "  pipeline steps             : "
            + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items())
        )
        print(f"  bare implicit fit          : {bare:.1f} s")
        print(f"  command without evaluation : {wall - evaluate:.1f} s = {ratios[-1]:.2f}x")
        print(
            f"  pipeline without evaluation: {pipeline:.1f} s = {bare_ratios[-1]:.2f}x"
            " (no start-up)"
        )
    ratio = statistics.median(ratios)
    if args.floor_interactions > 0:
        floor = fixed_cost(args.config, args.floor_interactions)
        allowed = (TARGET - 1.0) * statistics.median(bares)
        print(
            f"fixed cost: the command on {args.floor_interactions:,} interactions takes "
            f"{floor:.1f} s without evaluation; {TARGET}x leaves {allowed:.1f} s beyond the "
            "median bare fit"
        )
    print(
        f"median of {args.repeat}: command without evaluation {ratio:.2f}x, pipeline without "
        f"evaluation {statistics.median(bare_ratios):.2f}x, peak memory {peak:,.0f} MiB"
    )
    ok = ratio <= TARGET and peak <= 4096
    print(f"targets (<= {TARGET}x, <= 4096 MiB):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
