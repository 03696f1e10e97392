"""Pure rules of the emulated service: no aiohttp, no TinyDB."""
