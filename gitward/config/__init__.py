"""Settings as frozen dataclasses, validated at the edge. Imports nothing above it."""
