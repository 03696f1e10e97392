"""The HTTP plumbing both APIs share: body reading, JSON parsing, answers, paths,
the error envelope and access middlewares, and aiohttp's own error answers."""
