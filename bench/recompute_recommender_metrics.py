"""Recompute NDCG@k, P@k, R@k and MAP@k from exported CSVs, independently of Agora's code.

`agora train recommender --export-dir DIR` and `agora benchmark recommender --export-dir DIR`
write into DIR:

- train.csv, test.csv       user_id,item_id   (the split, with the dataset's own ids)
- recs.csv / recs_<model>.csv   user_id,rank,item_id   (each test user's top-k, rank 1 = best)
- metrics.json / metrics_<model>.json   the figures Agora computed for that recs file

This script uses only pandas and numpy, in a vectorised merge-and-group style unlike Agora's
per-user loops, with Microsoft Recommenders' definitions: binary relevance (every test item is
relevant), averages over the users with at least one test item, precision over k, recall over
the number of test items, NDCG with a log2 discount and the ideal DCG over min(k, #test items),
MAP@k with each average precision divided by min(k, #test items). It also checks the protocol:
no recommended item may be one of the user's training items, and no list may repeat an item.

Usage:
    python bench/recompute_recommender_metrics.py DIR [--k 10] [--tolerance 1e-6]

Prints one line per recs file; with a metrics file beside it, compares and exits 1 when any
figure differs by more than the tolerance (or the protocol check fails).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

USER, ITEM, RANK = "user_id", "item_id", "rank"
COMPARED = ("ndcg", "precision", "recall", "map")


def read_pairs(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={USER: str, ITEM: str})


def protocol_violations(train: pd.DataFrame, recs: pd.DataFrame) -> dict[str, int]:
    """Recommended items the user trained on, and repeated (user, item) pairs."""
    seen = recs.merge(train[[USER, ITEM]].drop_duplicates(), on=[USER, ITEM], how="inner")
    repeated = int(recs.duplicated([USER, ITEM]).sum())
    return {"recommended_seen_items": len(seen), "repeated_items": repeated}


def recompute(test: pd.DataFrame, recs: pd.DataFrame, k: int) -> dict[str, float]:
    """The four metrics at k, averaged over every user with at least one test item."""
    truth = test[[USER, ITEM]].drop_duplicates()
    n_relevant = truth.groupby(USER).size().rename("n_relevant")
    top = recs[recs[RANK] <= k]
    hits = top.merge(truth, on=[USER, ITEM], how="inner").sort_values([USER, RANK])
    hits["gain"] = 1.0 / np.log2(hits[RANK].to_numpy(dtype=float) + 1.0)
    # Precision at each hit's rank: (number of hits so far) / rank.
    hits["precision_at_hit"] = (hits.groupby(USER).cumcount() + 1) / hits[RANK]
    per_user = hits.groupby(USER).agg(
        hits=(ITEM, "size"), dcg=("gain", "sum"), ap_sum=("precision_at_hit", "sum")
    )
    per_user = per_user.reindex(n_relevant.index, fill_value=0.0).join(n_relevant)
    cap = np.minimum(per_user["n_relevant"].to_numpy(), k)
    ideal_prefix = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))  # ideal DCG of 1..k hits
    idcg = ideal_prefix[cap - 1]
    users = len(per_user)
    return {
        f"ndcg@{k}": float((per_user["dcg"].to_numpy() / idcg).sum() / users),
        f"precision@{k}": float((per_user["hits"] / k).sum() / users),
        f"recall@{k}": float((per_user["hits"] / per_user["n_relevant"]).sum() / users),
        f"map@{k}": float((per_user["ap_sum"].to_numpy() / cap).sum() / users),
    }


def metrics_file_for(recs_path: Path) -> Path:
    """recs.csv -> metrics.json, recs_<model>.csv -> metrics_<model>.json."""
    return recs_path.with_name(recs_path.name.replace("recs", "metrics", 1)).with_suffix(".json")


def check_directory(folder: Path, k: int, tolerance: float) -> bool:
    """Recompute every recs file in `folder`; print a line each; True when all agree."""
    train, test = read_pairs(folder / "train.csv"), read_pairs(folder / "test.csv")
    recs_files = sorted(folder.glob("recs*.csv"))
    if not recs_files:
        print(f"error: no recs*.csv in {folder}", file=sys.stderr)
        return False
    all_ok = True
    for recs_path in recs_files:
        recs = pd.read_csv(recs_path, dtype={USER: str, ITEM: str, RANK: int})
        figures = recompute(test, recs, k)
        violations = protocol_violations(train, recs[recs[RANK] <= k])
        ok = not any(violations.values())
        line = "  ".join(f"{name}={value:.6f}" for name, value in figures.items())
        notes = [] if ok else [f"protocol violated: {violations}"]
        reported_path = metrics_file_for(recs_path)
        if reported_path.exists():
            reported = json.loads(reported_path.read_text(encoding="utf-8"))
            for name in (f"{m}@{k}" for m in COMPARED):
                if name not in reported:
                    notes.append(f"{name} missing from {reported_path.name}")
                    ok = False
                elif abs(reported[name] - figures[name]) > tolerance:
                    notes.append(f"{name}: agora {reported[name]:.9f} vs {figures[name]:.9f}")
                    ok = False
            notes.append("agrees with agora" if ok else "DISAGREES with agora")
        all_ok &= ok
        print(f"{recs_path.name:<28}{line}  {'; '.join(notes)}")
    return all_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export_dir", type=Path, help="folder written by --export-dir")
    parser.add_argument("--k", type=int, default=10, help="cut-off (default 10)")
    parser.add_argument("--tolerance", type=float, default=1e-6, help="allowed difference")
    args = parser.parse_args(argv)
    if args.k <= 0:
        parser.error("--k must be positive")
    return 0 if check_directory(args.export_dir, args.k, args.tolerance) else 1


if __name__ == "__main__":
    sys.exit(main())
