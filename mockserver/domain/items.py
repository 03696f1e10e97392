"""One request item made ready to import: checked, normalised, keyed.

SPEC §3 "Items": an item is `{"data": {profile fields}}` (the reference
page's shape), may carry its matching key and its own content, custom_data
and attach beside `data`, and an item without `data` is flat profile fields
(profiles/import_batch). Every problem found here is an item-level error: it
is recorded in the task result and never fails the request.
"""

from __future__ import annotations

import binascii
import ipaddress
import re
from base64 import b64decode
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mockserver.domain.catalog import Account, Database, FieldType, GeoEntry
from mockserver.domain.matching import MatchingMode, MatchKey
from mockserver.domain.values import (
    ValueProblem,
    canonical_phones_column,
    check_birth_date,
    check_ip,
    check_typed,
    describe,
    emails_column,
    json_type,
    normalize_email,
    normalize_phone,
    normalize_phones,
    quote,
    strings_column,
)

#: SPEC §3: the system fields; every other key is a custom field of the database.
STRING_SYSTEM_FIELDS = frozenset({"_fname", "_lname", "_city", "_country", "_tz"})
#: The vendor's Profile data object documents `_sex` as an int gender code
#: (`"_sex": 0`); a string is still taken, as the mock took it before.
SEX_FIELD = "_sex"
IP_SYSTEM_FIELDS = frozenset({"_regip", "_ip"})
STORE_SET_FIELDS = frozenset({"_createtime"})  # set by the store; a client's value is ignored

#: Channels whose subscriptions are addressed by email or by phone number.
EMAIL_CHANNELS = frozenset({"email"})
PHONE_CHANNELS = frozenset({"sms", "viber", "whatsapp"})
#: The vendor's "Subscription status" object: "Both word and numeric values are
#: valid." The word is the stored form (a number is read back as its word).
SUBSCRIPTION_STATUS_CODES: Mapping[int, str] = {
    0: "subscribed",  # ready for messaging
    1: "unsubscribed",
    2: "complained",  # reported spam
    3: "hardbounced",  # hard bounce, email probably invalid
    4: "unconfirmed",
    5: "suspended",  # temporarily unsubscribed
    6: "invalid",
}
SUBSCRIPTION_STATUSES = frozenset(SUBSCRIPTION_STATUS_CODES.values())

#: One phone in the profile fields (`"data": {"phone": ...}`, as some clients
#: send it): one more of the profile's `phones`, in the same canonical form.
PHONE_FIELD = "phone"

#: Keys that sit beside `data` in the wrapped item shape (not profile fields).
ITEM_KEYS = frozenset(
    {"data", "email", "phone", "profile_id", "field_value", "content", "custom_data", "attach"}
)
#: The matching keys a one-profile request carries at its root (SPEC §8).
ROOT_KEYS = ("email", "phone", "profile_id", "field_value")


def at(where: str, name: str) -> str:
    """The path of `name` under `where` (`data[3].email`, or `email` at the root)."""
    return f"{where}.{name}" if where else name


@dataclass(slots=True)  # built per item: not frozen (see mockserver/domain/__init__.py)
class ItemFailure:
    """An item that could not be imported: its entry in the task result."""

    code: int
    text: str
    #: What exactly failed, when `text` is the vendor's bare text ("Profile not
    #: found"): a one-profile request answers it as `error_debug`.
    debug: str | None = None
    #: The item itself is invalid (a 400 whose `text` names the field and why).
    invalid: bool = False

    def to_result(self) -> dict[str, Any]:
        return {"error": self.code, "error_text": self.text}


@dataclass(frozen=True, slots=True)
class AttachmentSummary:
    """What is kept of an attachment: never the file itself."""

    name: str
    mimetype: str
    size: int
    file_key: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file_key": self.file_key,
            "mimetype": self.mimetype,
            "size": self.size,
        }


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """The request-level settings every item of one import shares."""

    matching: MatchingMode | None = MatchingMode.EMAIL
    field_name: str | None = None
    custom_request: Mapping[str, Any] | None = None
    skip_triggers: bool = False
    skip_invalid_subscriptions: bool = False
    detect_geo: bool = False
    content: Mapping[str, Any] | None = None
    custom_data: Mapping[str, Any] | None = None
    attach: tuple[AttachmentSummary, ...] = ()
    #: Launch-only batches (`campaigns/triggers/start_batch[_task]`): the items
    #: name existing profiles; nothing is created or updated, and an item whose
    #: profile does not exist fails with 404 "Profile not found".
    existing_only: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {
            "matching": self.matching.value if self.matching else None,
            "field_name": self.field_name,
            "custom_request": self.custom_request,
            "skip_triggers": self.skip_triggers,
            "skip_invalid_subscriptions": self.skip_invalid_subscriptions,
            "detect_geo": self.detect_geo,
            "content": self.content,
            "custom_data": self.custom_data,
            "attach": [a.to_doc() for a in self.attach],
            "existing_only": self.existing_only,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ImportOptions:
        return cls(
            matching=MatchingMode(doc["matching"]) if doc.get("matching") else None,
            field_name=doc.get("field_name"),
            custom_request=doc.get("custom_request"),
            skip_triggers=bool(doc.get("skip_triggers")),
            skip_invalid_subscriptions=bool(doc.get("skip_invalid_subscriptions")),
            detect_geo=bool(doc.get("detect_geo")),
            content=doc.get("content"),
            custom_data=doc.get("custom_data"),
            attach=tuple(AttachmentSummary(**a) for a in doc.get("attach") or ()),
            existing_only=bool(doc.get("existing_only")),
        )


@dataclass(slots=True)  # built per item: not frozen (see mockserver/domain/__init__.py)
class PreparedItem:
    fields: dict[str, Any]
    subscriptions: list[dict[str, Any]]
    key: MatchKey | None  # None: the request's custom_request selects the profile
    content: Mapping[str, Any] | None
    custom_data: Mapping[str, Any] | None
    attach: tuple[AttachmentSummary, ...] = field(default=())
    #: For subscription-only modes: the subscription a new profile gets, so that
    #: the same item sent again finds it (None when no resource offers the channel).
    key_subscription: dict[str, Any] | None = None


#: Checks one field's value and returns its stored form; a problem raises
#: ValueProblem naming `where` (the field's path).
FieldRule = Callable[[Any, str], Any]
#: Rule-table markers for the two fields that are not stored as they come.
IGNORED = "ignored"  # set by the store; a client's value is ignored
SUBSCRIPTIONS = "subscriptions"  # checked against the account's resources, kept apart


@dataclass(frozen=True, slots=True)
class ItemContext:
    """What preparing an item needs to know about where it goes."""

    account: Account
    database: Database
    options: ImportOptions
    geo: tuple[GeoEntry, ...] = ()
    #: Field name -> its rule, built once per context: a batch's items are
    #: checked by a table lookup per field rather than a chain of comparisons.
    rules: Mapping[str, FieldRule | str] = field(init=False, repr=False, compare=False)
    #: The request's own content and custom_data are objects (or absent): an
    #: item that carries neither can take them without a check of its own.
    #: Not every method's schema declares them (`profiles/import_batch`).
    shared_extras_valid: bool = field(init=False, repr=False, compare=False)
    #: The same rules for a whole column of a batch's values (domain/batch.py).
    columns: Mapping[str, ColumnRule | str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", _field_rules(self.database))
        object.__setattr__(self, "columns", _column_rules(self.rules))
        extras = (self.options.content, self.options.custom_data)
        valid = all(value is None or isinstance(value, dict) for value in extras)
        object.__setattr__(self, "shared_extras_valid", valid)


def _field_rules(database: Database) -> dict[str, FieldRule | str]:
    """SPEC §3: system fields by their own rules, declared custom fields by their
    type; a field in neither (not in the table) is stored as given (pick)."""
    rules: dict[str, FieldRule | str] = {
        name: partial(_typed_rule, field_type) for name, field_type in database.fields.items()
    }
    rules.update(dict.fromkeys(STRING_SYSTEM_FIELDS, _system_string))
    rules.update(dict.fromkeys(IP_SYSTEM_FIELDS, _ip_or_none))
    rules.update(dict.fromkeys(STORE_SET_FIELDS, IGNORED))
    rules["subscriptions"] = SUBSCRIPTIONS
    rules["email"] = _email_or_none
    rules["phones"] = _phones_or_empty
    if PHONE_FIELD not in database.fields:  # a database may declare its own `phone`
        rules[PHONE_FIELD] = _phone_or_none
    rules[SEX_FIELD] = _sex
    rules["_bdate"] = check_birth_date
    return rules


#: Checks a whole column of one field's values and returns their stored forms, exactly
#: what the field's rule returns for each, or None when some value is not of the
#: common form (then each value goes through the field's rule).
ColumnRule = Callable[[list[Any]], list[Any] | None]
#: Column-table marker: an item carrying this field is imported by the general path.
GENERAL = "general"


def _column_rules(rules: Mapping[str, FieldRule | str]) -> dict[str, ColumnRule | str]:
    """The column form of each field rule that has one; a field without one (`_sex`,
    `_bdate`, dates, tags...) is checked value by value with its own rule."""
    columns: dict[str, ColumnRule | str] = {}
    for name, rule in rules.items():
        column: ColumnRule | str | None = None
        if rule is IGNORED:
            column = IGNORED
        elif rule is SUBSCRIPTIONS or rule is _phone_or_none:
            column = GENERAL  # checked against the resources / merged into `phones`
        elif rule is _system_string:
            column = strings_column
        elif rule is _email_or_none:
            column = emails_column
        elif rule is _phones_or_empty:
            column = _phones_column
        elif isinstance(rule, partial) and rule.func is _typed_rule:
            column = _TYPED_COLUMNS.get(rule.args[0])
        if column is not None:
            columns[name] = column
    return columns


def _phones_column(values: list[Any]) -> list[list[str]] | None:
    """`phones` given as one phone in its stored form (the reference page's shape)."""
    phones = canonical_phones_column(values)
    return None if phones is None else [[phone] for phone in phones]


def _types_column(*types: type) -> ColumnRule:
    """Values of these types (or null) are stored as given (`check_typed`)."""
    allowed = frozenset({*types, type(None)})

    def column(values: list[Any]) -> list[Any] | None:
        return values if set(map(type, values)) <= allowed else None

    return column


#: Declared custom-field types whose values are stored as given once their type is
#: right (`type(True)` is bool, never int: a boolean is no integer, as `check_typed` says).
_TYPED_COLUMNS: Mapping[FieldType, ColumnRule] = {
    FieldType.STRING: _types_column(str),
    FieldType.INT: _types_column(int),
    FieldType.FLOAT: _types_column(int, float),
    FieldType.BOOL: _types_column(bool),
    FieldType.JSON: lambda values: values,
}


def _typed_rule(field_type: FieldType, value: Any, where: str) -> Any:
    return check_typed(value, field_type, where)


def _system_string(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueProblem(f"{where}: expected a string, got {json_type(value)}")
    return value.strip()


def _email_or_none(value: Any, where: str) -> str | None:
    return None if value is None else normalize_email(value, where)


def _phones_or_empty(value: Any, where: str) -> list[str]:
    return [] if value is None else normalize_phones(value, where)


def _phone_or_none(value: Any, where: str) -> str | None:
    return None if value is None else normalize_phone(value, where)


def _ip_or_none(value: Any, where: str) -> str | None:
    return None if value is None else check_ip(value, where)


def summarize_attachments(value: Any, where: str) -> tuple[AttachmentSummary, ...]:
    """Check `attach` entries and keep name, mimetype and size, never the file."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueProblem(f"{where}: expected an array, got {json_type(value)}")
    summaries = []
    for i, entry in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise ValueProblem(f"{here}: expected an object, got {json_type(entry)}")
        name, data = entry.get("name"), entry.get("data")
        if not isinstance(name, str) or not name:
            raise ValueProblem(f"{here}.name: required, a non-empty string")
        if not isinstance(data, str):
            raise ValueProblem(f"{here}.data: required, a base64 string or a data URI")
        uri_mimetype, size = attachment_payload(data, f"{here}.data")
        mimetype = entry.get("mimetype") or uri_mimetype or "application/octet-stream"
        key_name = "file_key" if "file_key" in entry else "flie_key"  # the page's spelling
        file_key = entry.get(key_name)
        if file_key is not None and not isinstance(file_key, str):
            raise ValueProblem(f"{here}.{key_name}: expected a string, got {json_type(file_key)}")
        summaries.append(
            AttachmentSummary(name=name, mimetype=str(mimetype), size=size, file_key=file_key)
        )
    return tuple(summaries)


#: RFC 2397 `data:[<mediatype>][;param=value]*;base64,<payload>`, as clients'
#: attachment factories build it (a Java client sends
#: `"data:application/pdf;base64,JVBERi0..."`).
_DATA_URI = re.compile(
    r"data:(?P<mediatype>[^,;]*)(?P<params>(?:;[^,;]*)*),(?P<payload>.*)", re.S | re.I
)
_MIMETYPE = re.compile(r"[\w.+-]+/[\w.+-]+")
_BASE64_SPACE = re.compile(r"\s+")


def attachment_payload(data: str, where: str) -> tuple[str | None, int]:
    """An attachment's `data`: bare base64 or a base64 data URI. Returns the URI's
    mimetype (None for bare base64) and the decoded size in bytes.

    Line breaks and spaces inside the base64 are dropped first: MIME encoders
    (Java's `Base64.getMimeEncoder`, `base64` without `-w0`) wrap at 76 columns.
    """
    mimetype = None
    payload = data
    if data.lstrip()[:5].lower() == "data:":
        uri = _DATA_URI.fullmatch(data.strip())
        if uri is None:
            raise ValueProblem(f"{where}: not a valid data URI (data:<mimetype>;base64,<payload>)")
        params = [part.strip().lower() for part in uri["params"].split(";")[1:]]
        if "base64" not in params:
            raise ValueProblem(f"{where}: a data URI must be base64 (data:<mimetype>;base64,...)")
        mimetype = uri["mediatype"].strip() or None
        if mimetype is not None and not _MIMETYPE.fullmatch(mimetype):
            raise ValueProblem(f"{where}: not a valid data URI: mimetype {quote(mimetype)}")
        payload = uri["payload"]
    try:
        size = len(b64decode(_BASE64_SPACE.sub("", payload), validate=True))
    except (binascii.Error, ValueError):
        raise ValueProblem(f"{where}: not valid base64") from None
    return mimetype, size


def prepare_item(raw: Any, where: str, ctx: ItemContext) -> PreparedItem | ItemFailure:
    """Check and normalise one item; a problem is returned, never raised."""
    try:
        return _prepare(raw, where, ctx)
    except ValueProblem as problem:
        return ItemFailure(400, str(problem), invalid=True)


def _prepare(raw: Any, where: str, ctx: ItemContext) -> PreparedItem:
    if not isinstance(raw, dict):
        raise ValueProblem(f"{where}: expected an object, got {json_type(raw)}")
    wrapper: Mapping[str, Any]
    if "data" in raw:
        wrapper, profile = raw, raw["data"]
        if not isinstance(profile, dict):
            raise ValueProblem(f"{at(where, 'data')}: expected an object, got {json_type(profile)}")
        profile_where = at(where, "data")
    elif "profile_id" in raw:
        # Flat profile fields (profiles/import_batch shape) with the system id: the
        # item's `profile_id`, as beside `data`, never a custom field of that name.
        profile = {name: value for name, value in raw.items() if name != "profile_id"}
        wrapper, profile_where = {"profile_id": raw["profile_id"]}, where
    else:  # flat profile fields (profiles/import_batch shape)
        wrapper, profile, profile_where = _NO_WRAPPER, raw, where

    fields, subscriptions = _profile_fields(profile, profile_where, ctx)
    key = _match_key(wrapper, fields, where, profile_where, ctx)
    options = ctx.options
    if options.detect_geo:
        _detect_geo(fields, ctx.geo)
    if len(wrapper) <= 1 and ctx.shared_extras_valid:
        # Only `data` (the common shape): the request's own content, custom_data
        # and attach, already checked.
        return PreparedItem(
            fields,
            subscriptions,
            key,
            options.content,
            options.custom_data,
            options.attach,
            _key_subscription(key, ctx),
        )

    custom_data = wrapper.get("custom_data", options.custom_data)
    content = wrapper.get("content", options.content)
    for name, value in (("content", content), ("custom_data", custom_data)):
        if value is not None and not isinstance(value, dict):
            raise ValueProblem(f"{at(where, name)}: expected an object, got {json_type(value)}")
    attach = (
        summarize_attachments(wrapper["attach"], at(where, "attach"))
        if "attach" in wrapper
        else options.attach
    )
    return PreparedItem(
        fields, subscriptions, key, content, custom_data, attach, _key_subscription(key, ctx)
    )


#: The wrapper of a flat item: no keys beside the profile fields.
_NO_WRAPPER: Mapping[str, Any] = {}


_SUBSCRIPTION_ONLY_MODES = frozenset({MatchingMode.EMAIL_SUB, MatchingMode.PHONE_SUB})


def _key_subscription(key: MatchKey | None, ctx: ItemContext) -> dict[str, Any] | None:
    """(pick) `email_sub` / `phone_sub` search subscriptions only, so a profile they
    create is subscribed on the database's first resource with the channel."""
    if key is None or key.mode not in _SUBSCRIPTION_ONLY_MODES:
        return None
    channel, address = (
        ("email", {"email": key.email})
        if key.mode is MatchingMode.EMAIL_SUB
        else ("sms", {"phone": key.phone})
    )
    for resource in sorted(ctx.account.resources.values(), key=lambda r: r.resource_id):
        if resource.db_id == ctx.database.db_id and channel in resource.channels:
            return {
                "resource_id": resource.resource_id,
                "channel": channel,
                **address,
                "status": "subscribed",
            }
    return None


def _profile_fields(
    profile: Mapping[str, Any], where: str, ctx: ItemContext
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    fields: dict[str, Any] = {}
    subscriptions: list[dict[str, Any]] = []
    rules = ctx.rules
    for name, value in profile.items():
        rule = rules.get(name)
        if rule is None:
            fields[name] = value  # (pick) an undeclared custom field, untyped
        elif rule is IGNORED:
            continue
        elif rule is SUBSCRIPTIONS:
            subscriptions = _subscriptions(value, at(where, name), ctx)
        else:
            try:
                fields[name] = rule(value, name)  # type: ignore[operator]
            except ValueProblem:
                # Rules are pure: checked again with the field's full path, so
                # paths are only built for the items that fail.
                rule(value, at(where, name))  # type: ignore[operator]
                raise
    if PHONE_FIELD in fields and rules.get(PHONE_FIELD) is _phone_or_none:
        phone = fields.pop(PHONE_FIELD)
        phones = fields.get("phones") or []
        if phone is not None and phone not in phones:
            fields["phones"] = [*phones, phone]
    return fields, subscriptions


def _sex(value: Any, where: str) -> int | str | None:
    if value is None or (isinstance(value, int | str) and not isinstance(value, bool)):
        return value.strip() if isinstance(value, str) else value
    raise ValueProblem(f"{where}: expected an integer or a string, got {describe(value)}")


def _subscriptions(value: Any, where: str, ctx: ItemContext) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueProblem(f"{where}: expected an array, got {json_type(value)}")
    kept = []
    for i, entry in enumerate(value):
        try:
            kept.append(_subscription(entry, f"{where}[{i}]", ctx))
        except ValueProblem as problem:
            if not ctx.options.skip_invalid_subscriptions:
                raise ValueProblem(f"invalid subscription: {problem}") from None
    return kept


def _subscription(entry: Any, where: str, ctx: ItemContext) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ValueProblem(f"{where}: expected an object, got {json_type(entry)}")
    resource_id = entry.get("resource_id")
    if not isinstance(resource_id, int) or isinstance(resource_id, bool):
        raise ValueProblem(f"{where}.resource_id: required, an integer")
    resource = ctx.account.resources.get(resource_id)
    if resource is None or resource.db_id != ctx.database.db_id:
        raise ValueProblem(
            f"{where}.resource_id: no resource {resource_id} in database {ctx.database.db_id}"
        )
    channel = entry.get("channel", _implied_channel(entry))
    if not isinstance(channel, str) or channel not in resource.channels:
        raise ValueProblem(
            f"{where}.channel: resource {resource_id} has channels "
            f"{', '.join(sorted(resource.channels))}, got {quote(channel)}"
        )
    sub = dict(entry)
    sub["channel"] = channel
    if channel in EMAIL_CHANNELS:
        email, email_where = entry.get("email"), f"{where}.email"
        email_data = entry.get("email_data")
        if email is None and isinstance(email_data, dict):
            email, email_where = email_data.get("email"), f"{where}.email_data.email"
        sub["email"] = normalize_email(email, email_where)
    elif channel in PHONE_CHANNELS:
        sub["phone"] = normalize_phone(entry.get("phone"), f"{where}.phone")
    sub["status"] = subscription_status(sub.get("status"), f"{where}.status")
    return sub


def subscription_status(value: Any, where: str) -> str:
    """A subscription status as its word: the vendor's word or its number
    (`"status": 0` in the vendor's own Profile data object example); none
    given (absent or null) is `subscribed`."""
    if value is None:
        return "subscribed"
    if isinstance(value, str) and value in SUBSCRIPTION_STATUSES:
        return value
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value in SUBSCRIPTION_STATUS_CODES
    ):
        return SUBSCRIPTION_STATUS_CODES[value]
    codes = ", ".join(f"{code} ({word})" for code, word in SUBSCRIPTION_STATUS_CODES.items())
    raise ValueProblem(
        f"{where}: expected a status word or code, one of {codes}; got {quote(value)}"
    )


def _implied_channel(entry: Mapping[str, Any]) -> str | None:
    """(pick) The channel of a subscription that names none, by its address.

    The vendor's own `workflows/import_and_start` example subscribes
    `{"email": ..., "resource_id": 1}` with no `channel`, and its
    `profiles/import_batch` example carries the address as
    `"email_data": {"email": ...}`: an email address means `email`, a phone
    `sms`."""
    if "email" in entry or "email_data" in entry:
        return "email"
    if "phone" in entry:
        return "sms"
    return None


def _match_key(
    wrapper: Mapping[str, Any],
    fields: dict[str, Any],
    where: str,
    profile_where: str,
    ctx: ItemContext,
) -> MatchKey | None:
    """SPEC §3: the item-level key if present, else taken from the profile fields."""
    options = ctx.options
    mode = options.matching
    if mode is None:
        return None  # custom_request selects the profile
    if mode is MatchingMode.PROFILE_ID:
        value = wrapper.get("profile_id")
        if value is not None and not isinstance(value, str):
            raise ValueProblem(
                f"{at(where, 'profile_id')}: expected string, got {json_type(value)}"
            )
        if value is None or not value.strip():
            raise ValueProblem(f"{at(where, 'profile_id')}: required for matching 'profile_id'")
        return MatchKey(mode, profile_id=value.strip().lower())
    if mode is MatchingMode.CUSTOM:
        return _custom_key(wrapper, fields, where, profile_where, ctx)

    email = phone = None
    if mode.uses_email:
        if "email" in wrapper:
            email = normalize_email(wrapper["email"], at(where, "email"))
        else:
            email = fields.get("email")
    if mode.uses_phone:
        if "phone" in wrapper:
            phone = normalize_phone(wrapper["phone"], at(where, "phone"))
        elif fields.get("phones"):
            phone = fields["phones"][0]
    if email is None and phone is None:
        wanted = " or ".join(
            name for name, used in (("email", mode.uses_email), ("phones", mode.uses_phone)) if used
        )
        raise ValueProblem(f"{profile_where}: no {wanted} to match by (matching '{mode.value}')")
    return MatchKey(mode, email=email, phone=phone)


def _custom_key(
    wrapper: Mapping[str, Any],
    fields: dict[str, Any],
    where: str,
    profile_where: str,
    ctx: ItemContext,
) -> MatchKey:
    field_name = ctx.options.field_name or ""
    if "field_value" in wrapper:
        here = at(where, "field_value")
        value = wrapper["field_value"]
        field_type = ctx.database.fields.get(field_name)
        if field_type is not None and value is not None:
            # A tags field is searched by "tag-1, tag-2"; other types as declared.
            value = check_typed(value, field_type, here)
    else:
        here = at(profile_where, field_name)
        value = fields.get(field_name)
    if value is None or value == "" or value == []:
        raise ValueProblem(f"{here}: no value to match by (matching 'custom')")
    return MatchKey(MatchingMode.CUSTOM, field=field_name, field_value=value)


def fields_for_new_profile(item: PreparedItem) -> dict[str, Any]:
    """SPEC §3: a new profile always carries the value it was matched by.

    So the same item sent again finds it: an item `{"email": "a@x.io",
    "data": {"_fname": "A"}}` creates a profile whose email is `a@x.io`.
    """
    fields = dict(item.fields)
    key = item.key
    if key is None:
        return fields
    if key.email is not None:
        fields["email"] = key.email
    if key.phone is not None and key.phone not in (fields.get("phones") or []):
        fields["phones"] = [key.phone, *(fields.get("phones") or [])]
    if key.field is not None:
        fields[key.field] = key.field_value
    return fields


def _detect_geo(fields: dict[str, Any], geo: tuple[GeoEntry, ...]) -> None:
    """`detect_geo`: fill `_city`/`_country` from `_regip` or `_ip` (fixture table)."""
    ip_text = fields.get("_regip") or fields.get("_ip")
    if not ip_text:
        return
    address = ipaddress.ip_address(ip_text)
    for entry in geo:
        if address in ipaddress.ip_network(entry.network, strict=False):
            fields.setdefault("_city", entry.city)
            fields.setdefault("_country", entry.country)
            return


def root_item(body: Mapping[str, Any]) -> dict[str, Any]:
    """The one item of a one-profile request (SPEC §8): `data` is the profile and
    the matching key sits at the root (`workflows/import_and_start`,
    `workflows/start`, `profiles/import`, `profiles/get`)."""
    item: dict[str, Any] = {"data": body.get("data") if body.get("data") is not None else {}}
    for name in ROOT_KEYS:
        if name in body:
            item[name] = body[name]
    return item


def root_key_problem(body: Mapping[str, Any], options: ImportOptions) -> str | None:
    """Why a lookup without profile fields (`workflows/start`, `profiles/get`) has
    nothing to match by, or None. These requests carry no `data` to take the key
    from, so the matching mode's root key must be there."""
    mode = options.matching
    if mode is None:
        return None  # custom_request selects the profile
    if mode is MatchingMode.PROFILE_ID:
        wanted: tuple[str, ...] = ("profile_id",)
    elif mode is MatchingMode.CUSTOM:
        wanted = ("field_value",)
    else:
        wanted = tuple(
            name for name, used in (("email", mode.uses_email), ("phone", mode.uses_phone)) if used
        )
    if any(body.get(name) not in (None, "") for name in wanted):
        return None
    return f"{' or '.join(wanted)}: required for matching '{mode.value}'"
