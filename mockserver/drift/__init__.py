"""`altcraft-mock drift`: does the mock still answer as the real service does?

probes.py (the documented requests) -> exchange.py (each sent to a target: the
real service, then a mock started with the same ids, account.py) -> compare.py
(typed differences, over the answers' shapes, shapes.py) -> report.py (text or
JSON, tokens masked); command.py ties them to the command line.

It sits beside the CLI: it starts a mock as a process and speaks HTTP to it,
and nothing of the server imports it.
"""
