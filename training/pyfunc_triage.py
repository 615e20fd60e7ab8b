"""MLflow pyfunc adapter for triage classifiers ("models from code": no pickled Python objects).

MLflow runs this file when a registered triage model is loaded with `mlflow.pyfunc.load_model`.
The model's own self-contained folder is the `native` artifact; it is loaded with
`load_classifier`, which reads the folder's manifest to pick the model family. Agora's serving
layer downloads the same folder and loads it directly, so this wrapper is for generic MLflow users.
Raw texts are cleaned and masked with the text handling the model was trained with (recorded in
its artifact; models logged before that carry it in the logged model config), as the triage
engine does before it calls a model.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd

TEXT_COLUMN = "text"


class TriageClassifierModel(mlflow.pyfunc.PythonModel):
    """Input: a DataFrame with a `text` column (or a list of str). Output: label, confidence and
    one `proba.<class>` column per class."""

    def load_context(self, context: Any) -> None:
        from features.text import TextConfig  # at load time, not import
        from models.classifiers import load_classifier

        self.classifier = load_classifier(context.artifacts["native"])
        self.text = self.classifier.text_config
        if self.text is None:  # logged before artifacts recorded it: the logged model config
            text = (context.model_config or {}).get("text")
            # Models logged before either recorded it were trained on raw texts.
            self.text = None if text is None else TextConfig.model_validate(text)

    def _model_inputs(self, texts: list[str]) -> list[str]:
        from features.text import model_input

        if self.text is None:
            return texts
        return [model_input(t, self.text) for t in texts]

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        if isinstance(model_input, pd.DataFrame):
            if TEXT_COLUMN not in model_input.columns:
                raise ValueError(
                    f"input needs a '{TEXT_COLUMN}' column; got {list(model_input.columns)}"
                )
            texts = model_input[TEXT_COLUMN].tolist()
        else:  # a plain list of texts also works for direct callers
            texts = list(model_input)
        probabilities = self.classifier.predict_proba(self._model_inputs(texts))
        classes = self.classifier.classes_
        output = pd.DataFrame(
            {
                "label": [classes[i] for i in probabilities.argmax(axis=1)],
                "confidence": probabilities.max(axis=1) if len(texts) else [],
            }
        )
        for i, name in enumerate(classes):
            output[f"proba.{name}"] = probabilities[:, i]
        return output


mlflow.models.set_model(TriageClassifierModel())
