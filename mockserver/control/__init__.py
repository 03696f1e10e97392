"""The emulator's own API under /_mock/ (SPEC §6): not part of the vendor API."""
