"""Agora's `models` layer."""
