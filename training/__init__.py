"""Agora's `training` layer."""
