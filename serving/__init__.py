"""Agora's `serving` layer."""
