"""Alerts: `[[notify]]` targets, the events a poll queues (outbox), delivery through apprise.

Only `deliver` imports apprise, and only inside the functions that send or check a URL, so
that loading a config with `[[notify]]` blocks costs the reading commands nothing.
"""
