"""Pure rules of the emulated service: no aiohttp, no TinyDB, no fault vocabulary.

Values are slotted dataclasses, frozen where they are built once per request.
Those built once per imported item (`MatchKey`, `PreparedItem`, `ItemFailure`,
`Imported`) are not frozen: a frozen dataclass's `__init__` costs about eight
times a plain one's. They are treated as immutable all the same.
"""
