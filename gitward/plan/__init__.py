"""From rendered manifests and live state to a plan: what to create, update, leave, prune."""
