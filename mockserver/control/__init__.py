"""The emulator's own API under /_mock/ (SPEC §6): not part of the vendor API.

`table` lists every route; each feature keeps its handlers (`journal/` and
`faults/` are folders of their own)."""
