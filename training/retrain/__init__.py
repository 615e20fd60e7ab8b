"""Closing the loop: retrain from stored events and corrections, gate, promote, hot-swap."""
