"""Complaint analytics that need no store or service: spike tests on grouped counts."""
