"""MLflow "models from code" wrapper for any Agora recommender (no pickle).

`training.tracking.log_and_register_model` logs this file as the model's code and the native
folder a recommender's `save` wrote as the artifact "native"; `load_context` reads it back with
Agora's own loader, which dispatches on the folder's manifest to the right model class.

Input: a DataFrame with a `user_id` column. Params: `k` (list length, default 10) and
`exclude_seen` (default true). Output: one row per recommendation, columns user_id, rank
(1 = best), item_id, score. Users the model knows are scored in one batch, seen items left out
as a feed leaves them out (`fitted_feeds`); any other user gets what the feed router gives a
user with no history (the popular fallback), as the service does.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

OUTPUT_COLUMNS = ["user_id", "rank", "item_id", "score"]


class RecommenderPyfunc(PythonModel):
    """Top-k recommendations for the users in the input frame."""

    def load_context(self, context: Any) -> None:
        from models.recommenders import load_recommender  # at load time, not import

        self.recommender = load_recommender(context.artifacts["native"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        if "user_id" not in model_input:
            raise ValueError("input must have a 'user_id' column")
        params = params or {}
        k = int(params.get("k", 10))
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        exclude_seen = bool(params.get("exclude_seen", True))
        users = [str(user) for user in model_input["user_id"]]
        from models.recommenders.feed_router import FeedRequest, fitted_feeds, route_feed

        known = [user for user in users if self.recommender.known_user(user)]
        answers = fitted_feeds(self.recommender, known, k, exclude_seen)
        unknown = [user for user in users if user not in answers]
        if unknown:  # nothing is known of any of them: one popular-fallback answer for all
            request = FeedRequest(unknown[0], k=k, exclude_seen=exclude_seen)
            fallback = route_feed(self.recommender, request).items
            answers.update({user: list(fallback) for user in unknown})
        rows = [
            (user, rank, rec.item_id, float(rec.score))
            for user in users
            for rank, rec in enumerate(answers.get(user, []), start=1)
        ]
        return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


mlflow.models.set_model(RecommenderPyfunc())
