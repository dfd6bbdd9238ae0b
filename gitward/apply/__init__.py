"""Carrying out a plan: staged server-side apply, hooks, prune."""
