"""Raises while being imported, as a user's app with a bug would."""

SETTING = 1
raise ValueError("database URL is not configured")
