"""The request journal, one feature: what an entry keeps (`model`), secrets masked
(`masking`), the middleware that records (`recorder`), `/_mock/requests` (`endpoints`)."""
