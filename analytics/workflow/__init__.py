"""Workflow rules as plain functions over values: triage of findings across runs, and the
schedules behind it. The storage layer (analytics.store) only keeps and reads what these decide.
"""
