"""Feedback-triage training: fixed splits, metrics, pipeline steps, MLflow logging, benchmark."""
