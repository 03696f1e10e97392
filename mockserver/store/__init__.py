"""Persistence: TinyDB in one JSON file, atomic writes, in-memory indexes."""
