"""Promotion and rollback pull requests."""
