"""Inbound signals: feeds, mentions, rules and alert hooks."""
