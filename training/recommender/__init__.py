"""Recommender pipelines: ranking metrics, evaluation harness, tuning, MLflow steps, benchmark."""
