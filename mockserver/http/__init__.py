"""The HTTP plumbing both APIs share: body reading, JSON parsing, answers, paths,
the error envelope and the access checks around every handler, and aiohttp's own
error answers."""
