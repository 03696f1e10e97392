"""Secrets masked wherever the mock shows what it was sent: journal entries (bodies,
answers, headers, queries) and the server's log lines.

SPEC §6: tokens are masked wherever they appear: `abcd…`, enough to recognise a
token, never enough to reuse it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from mockserver.http.access import bearer_credential

MASKED_HEADERS = frozenset({"authorization", "cookie", "x-admin-token"})


def mask_token(token: str) -> str:
    """`abcd…` : enough to recognise a token, never enough to reuse it."""
    return token[:4] + "…" if len(token) > 4 else "…"


@lru_cache(maxsize=256)  # a client sends the same few tokens on every call
def token_fingerprint(token: str) -> str:
    """A stable, non-reversible name for a token (journal filters compare these)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


#: A query parameter, header or JSON member whose name says it holds a secret
#: (`token`, `access_token`, `admin_token`, `authorization`, `api_key`, ...).
_SECRET_NAME = re.compile(r"token|secret|passw|authori[sz]ation|api[-_]?key|cookie", re.I)

#: The answered request's "is this a known token?" (the admin token, an account's
#: token), set by the access middleware in the request's task: `serve`'s log filter
#: masks a query value equal to one whatever the parameter is called.
KNOWN_TOKEN: ContextVar[Callable[[str], bool] | None] = ContextVar("known_token", default=None)


def is_secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def _secret_value(value: str, known: Callable[[str], bool] | None) -> str | None:
    """The secret a value carries (`Bearer X` carries X), or None when it carries none
    that its value alone tells: a known token, or a Bearer credential."""
    bearer = bearer_credential(value)
    if bearer:
        return bearer
    stripped = value.strip()
    if known is not None and stripped and known(stripped):
        return stripped
    return None


def masked_value(value: str) -> str:
    """A secret as shown: `abcd…`, a Bearer credential as `Bearer abcd…`."""
    bearer = bearer_credential(value)
    return f"Bearer {mask_token(bearer)}" if bearer else mask_token(value)


def masked_query(
    query: Mapping[str, str], known: Callable[[str], bool] | None = None
) -> dict[str, str]:
    """The query string as a mapping (the last of repeated names), secrets masked: by
    the (decoded) name, a Bearer value, or a value that is a `known` token."""
    return {
        key: (
            masked_value(value)
            if is_secret_name(key) or _secret_value(value, known) is not None
            else value
        )
        for key, value in query.items()
    }


def known_values(query: Mapping[str, str], known: Callable[[str], bool]) -> frozenset[str]:
    """The values of a query that are known tokens (checked when the request arrives:
    a token reset drops is still masked in the entries it left)."""
    values = (value.strip() for value in query.values())
    return frozenset(value for value in values if value and known(value))


def masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    shown = {}
    for name, value in headers.items():
        if name.lower() in MASKED_HEADERS or is_secret_name(name):
            # Any scheme is kept (`Basic abcd…`), only the credential is masked.
            scheme, _, secret = value.partition(" ")
            value = f"{scheme} {mask_token(secret)}" if secret else mask_token(value)
        shown[str(name)] = value  # header names are `istr`, which orjson does not take as keys
    return shown


#: Keys whose string values are secrets wherever they sit in a journaled body or
#: answer (`tokens`: a fixture account's token list, masked entry by entry).
SECRET_KEYS = frozenset({"token", "admin_token"})
SECRET_LIST_KEYS = frozenset({"tokens"})

#: `Bearer X` anywhere in a text.
_BEARER_TEXT = re.compile(r"((?i:\bbearer)\s+)([^&\"\s]+)")
#: `"name": "value"` in JSON text (a body that is not JSON, a traceback).
_JSON_MEMBER = re.compile(r'("([^"\\\s]{1,64})"\s*:\s*")((?:[^"\\]|\\.)*)')
#: Authorization schemes whose credential follows them (`Basic dXNl…`).
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "apikey", "key"})
#: A member whose name says it holds a secret (`_SECRET_NAME` inside the name), in
#: any text syntax: `'token': '…'` (Python, JavaScript), `token: …` (YAML, a header
#: line), `token = "…"` (TOML), wherever it starts on the line (`auth: token: …`).
#: The value is the quoted string, or one word (after a scheme: `Basic dXNl…`).
_SECRET_MEMBER = re.compile(
    rf"""((?<![\w-])[\w-]{{0,32}}(?:{_SECRET_NAME.pattern})[\w-]{{0,32}}['"]?[ \t]*[:=][ \t]*)"""
    rf"""(?:'([^'\r\n]*)|"([^"\r\n]*)|((?:(?:{"|".join(sorted(_AUTH_SCHEMES))})[ \t]+)?)"""
    r"""([^\s,;&}\]'"]+))""",
    re.I,
)
#: A run of text a token may stand in (a known one is masked wherever it stands),
#: and the separators a token may touch inside such a run (`key_T`, `T.`, `/T/`).
_TEXT_RUN = re.compile(r"""[^\s'"<>,;&(){}\[\]|\\`]{6,}""")
_IN_RUN = re.compile(r"[^._~+/=:@#%!?*$^]{6,}")
_IN_RUN_OR_DASH = re.compile(r"[^._~+/=:@#%!?*$^-]{6,}")
_DECODED_SEPARATORS = re.compile(r"[\s._~+/=:@#%!?*$^&]+")
#: The characters most tokens are made of.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_.~+/=-]{6,}")
#: `name=value` in a query string or a form: judged with its percent-escapes decoded,
#: so `?%74oken=` is the `token` the server reads.
_PAIR = re.compile(r'((?:^|[?&;\s])([^=&;?\s"#]+)=)([^&;\s"#]*)')


def mask_secrets(text: str, known: Callable[[str], bool] | None = None) -> str:
    """Text (a body that is not JSON, a log line) with every token in it masked:
    `Bearer …`; a member with a secret's name (`"token": "…"`, `'token': '…'`,
    `token: …`, `Authorization: Basic …`); in a query or a form a parameter with
    a secret's name once decoded (`token=`, `%74oken=`, `access_token=`,
    `authorization=Bearer%20…`); and a `known` token wherever it stands."""
    text = _BEARER_TEXT.sub(lambda m: m.group(1) + mask_token(m.group(2)), text)
    text = _JSON_MEMBER.sub(lambda m: _masked_member_text(m, known), text)
    text = _SECRET_MEMBER.sub(_masked_secret_member, text)
    text = _PAIR.sub(lambda m: _masked_pair(m, known), text)
    if known is not None:
        text = _TEXT_RUN.sub(lambda m: _masked_known(m[0], known), text)
    return text


def _masked_known(run: str, known: Callable[[str], bool]) -> str:
    """A run of text with the known tokens in it masked: the run itself, a piece of
    it between separators, or the whole run when it holds one percent-encoded."""
    if known(run):
        return mask_token(run)
    for pieces in (_IN_RUN, _IN_RUN_OR_DASH):  # a token may hold dashes itself
        masked = pieces.sub(lambda m: mask_token(m[0]) if known(m[0]) else m[0], run)
        if masked != run:
            return masked
    if "%" in run:
        decoded = unquote_plus(run)
        if any(known(piece) for piece in _DECODED_SEPARATORS.split(decoded) if piece):
            return mask_token(run)
    return run


def _masked_secret_member(match: re.Match[str]) -> str:
    single, double, scheme, bare = match.group(2), match.group(3), match.group(4), match.group(5)
    if single is not None or double is not None:
        quote, value = ("'", single) if single is not None else ('"', double)
        shown = value.strip()
        if not shown or shown.endswith("…"):
            return match.group(0)  # nothing to mask, or masked already (the JSON pass)
        return match.group(1) + quote + _masked_credential(shown)
    if bare.endswith("…") or not (scheme or _credential_like(bare)):
        return match.group(0)  # masked already, or prose (`token: missing (send ...)`)
    return match.group(1) + scheme + mask_token(bare)


def _masked_credential(value: str) -> str:
    """A secret as shown, its scheme kept (`Basic abcd…`, `Bearer abcd…`)."""
    scheme, _, credential = value.partition(" ")
    if scheme.lower() in _AUTH_SCHEMES and credential.strip():
        return f"{scheme} {mask_token(credential.strip())}"
    return masked_value(value)


def _credential_like(text: str) -> bool:
    """Whether an unquoted word reads as a credential: a run of token characters
    that is long or holds a digit (a secret-named member's value in prose is not)."""
    return _TOKEN_CHARS.fullmatch(text) is not None and (
        len(text) >= 16 or any(char.isdigit() for char in text)
    )


def _masked_member_text(match: re.Match[str], known: Callable[[str], bool] | None) -> str:
    name, value = match.group(2), match.group(3)
    if value and (is_secret_name(name) or _secret_value(value, known) is not None):
        return match.group(1) + masked_value(value)
    return match.group(0)


def _masked_pair(match: re.Match[str], known: Callable[[str], bool] | None) -> str:
    raw = match.group(3)
    if not raw:
        return match.group(0)
    value = unquote_plus(raw)
    secret = _secret_value(value, known)
    if secret is None and is_secret_name(unquote_plus(match.group(2))):
        secret = value
    return match.group(0) if secret is None else match.group(1) + mask_token(secret)


masked_text = mask_secrets  # the journal's name for it: a body that is not JSON


def masked_body(body: Any, deep: bool = False) -> Any:
    """The body with its token masked; `deep`: at every level (control calls, whose
    bodies and answers carry fault rules' `match.token` and fixtures' `tokens`)."""
    if deep:
        return _masked_deep(body)
    if isinstance(body, dict) and isinstance(body.get("token"), str):
        body = {**body, "token": mask_token(body["token"])}
    return body


def _masked_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _masked_member(key, entry) for key, entry in value.items()}
    if isinstance(value, list):
        return [_masked_deep(entry) for entry in value]
    return value


def _masked_member(key: str, value: Any) -> Any:
    if key in SECRET_KEYS and isinstance(value, str):
        return mask_token(value)
    if key in SECRET_LIST_KEYS and isinstance(value, list):
        return [mask_token(entry) if isinstance(entry, str) else entry for entry in value]
    return _masked_deep(value)


#: A summary keeps this many members of an object (the rest: one note member,
