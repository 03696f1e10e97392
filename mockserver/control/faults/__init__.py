"""Fault injection, one feature: rules and which fire (`rules`), what they do over
HTTP (`effects`), the typed plans they leave to tasks and imports, and the
`/_mock/faults` endpoints."""
