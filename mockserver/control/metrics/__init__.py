"""Prometheus metrics of the mock (`GET /_mock/metrics`): the counters the hot path
bumps (`counters`) and their exposition at scrape time (`endpoints`)."""
