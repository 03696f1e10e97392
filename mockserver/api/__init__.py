"""Vendor endpoints, thin: read, call the domain or engine, answer."""

from mockserver.api import databases, profiles, tasks, triggers, workflows
from mockserver.api.router import ApiMethod

API_METHODS: list[ApiMethod] = [
    *workflows.METHODS,
    *triggers.METHODS,
    *tasks.METHODS,
    *profiles.METHODS,
    *databases.METHODS,
]
