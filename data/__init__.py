"""Agora's data layer: dataset catalog, loaders to canonical frames, imports and synthetic data."""
