"""The emulator's own API under /_mock/ (SPEC §6): not part of the vendor API."""

from mockserver.control import (
    faults,
    fixtures,
    health,
    inspect,
    journal,
    progression,
    reset,
    tasks,
)

CONTROL_MODULES = (health, reset, tasks, journal, inspect, faults, progression, fixtures)
