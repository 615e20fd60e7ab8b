"""Agora's `features` layer."""
