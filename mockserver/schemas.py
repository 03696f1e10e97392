"""The contract: JSON Schemas from `schemas/`, loaded and compiled once.

DESIGN: like stripe-mock, every validator is built at start-up, so a broken
schema stops the server before the first request. Two validators per schema
give the same answers: `jsonschema_rs` (compiled) says yes or no on the hot
path, and only for a failing instance does the reference `jsonschema`
validator find the error to report, so `error_debug` never depends on which
engine ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin

import jsonschema_rs
import orjson

from mockserver.domain.values import describe, json_type, quote
from mockserver.errors import InvalidRequest

if TYPE_CHECKING:
    # The reference validator is imported when an instance first fails (~55 ms
    # of start-up otherwise): valid requests never need it.
    import jsonschema
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

#: A wheel carries `schemas/` and `fixtures/` inside the package (`mockserver/_data/`,
#: see pyproject's force-include); a source checkout or editable install uses the
#: folders at the top of the repository.
_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Where a shipped folder (`schemas`, `fixtures`) is."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder {name}/ not found beside the mockserver package")


def schemas_dir() -> Path:
    return data_dir("schemas")


def fixtures_dir() -> Path:
    return data_dir("fixtures")


class SchemaError(RuntimeError):
    """A schema file is broken: start-up stops with this message."""


class CompiledSchema:
    """One schema's two validators, compiled when the schema is first used: a
    server uses a handful of its schemas, and each compiled one costs memory
    (every schema is checked against the meta-schema at start all the same)."""

    __slots__ = ("_fast", "_reference", "_registries", "name", "schema")

    def __init__(self, name: str, schema: dict[str, Any], registries: _Registries) -> None:
        self.name = name
        self.schema = schema
        self._registries = registries
        self._fast: Any = None  # jsonschema_rs validator
        self._reference: jsonschema.Draft202012Validator | None = None

    @property
    def fast(self) -> Any:
        if self._fast is None:
            try:
                self._fast = jsonschema_rs.validator_for(
                    self.schema, registry=self._registries.fast()
                )
            except Exception as exc:  # any failure to compile is a broken contract
                raise SchemaError(f"schema {self.name}: {exc}") from exc
        return self._fast

    @property
    def reference(self) -> jsonschema.Draft202012Validator:
        if self._reference is None:
            import jsonschema

            self._reference = jsonschema.Draft202012Validator(
                self.schema, registry=self._registries.reference()
            )
        return self._reference

    def problems(self, instance: Any) -> list[str]:
        """Every violation, each as `path: reason` (empty when valid)."""
        if self.fast.is_valid(instance):
            return []
        return [format_error(e) for e in self.reference.iter_errors(instance)]

    def check(self, instance: Any) -> None:
        """Raise InvalidRequest naming the most relevant violation."""
        if self.fast.is_valid(instance):
            return
        from jsonschema.exceptions import best_match

        error = best_match(self.reference.iter_errors(instance), key=_relevance)
        if error is not None:
            raise InvalidRequest(format_error(error))


def _relevance(error: ValidationError) -> tuple[int, ...]:
    # The shallowest error first: a request missing `data` says that, not what
    # is wrong deep inside some other field.
    return (-len(error.absolute_path), error.validator not in ("anyOf", "oneOf"))


def json_path(parts: Iterable[Any]) -> str:
    """`data[3].data.email` from a jsonschema error path."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def format_error(error: ValidationError) -> str:
    path = json_path(error.absolute_path)
    where = f"{path}: " if path else ""
    value, instance = error.validator_value, error.instance
    match error.validator:
        case "required":
            missing = next((name for name in value if name not in instance), value[0])
            return f"{json_path([*error.absolute_path, missing])}: required field is missing"
        case "type":
            wanted = value if isinstance(value, str) else " or ".join(value)
            return f"{where}expected {wanted}, got {describe(instance)}"
        case "enum":
            choices = ", ".join(str(choice) for choice in value)
            return f"{where}unsupported value {quote(instance)}, expected one of: {choices}"
        case "const":
            return f"{where}expected {quote(value)}, got {quote(instance)}"
        case "minItems":
            return f"{where}must have at least {value} item(s), got {len(instance)}"
        case "maxItems":
            return f"{where}must have at most {value} item(s), got {len(instance)}"
        case "minLength":
            return f"{where}must not be shorter than {value} character(s)"
        case "pattern":
            return f"{where}does not match the pattern {value}"
        case "minimum" | "exclusiveMinimum" | "maximum" | "exclusiveMaximum":
            return f"{where}{error.message}"
        case "additionalProperties":
            extra = sorted(set(instance) - set(error.schema.get("properties", {})))
            return f"{where}unknown field(s): {', '.join(map(str, extra))}"
        case _:
            return f"{where}{error.message} ({json_type(instance)})"


@cache
def shipped_schemas() -> SchemaSet:
    """The package's own schemas, compiled once per process: compiling them
    takes ~0.2 s, and they never change while the process runs (a test
    process builds hundreds of apps)."""
    return SchemaSet()


class _Registries:
    """The schemas by `$id`, for both validators (each built on first use)."""

    def __init__(self, documents: Mapping[str, dict[str, Any]]) -> None:
        self._documents = documents
        self._fast: Any = None
        self._reference: Registry | None = None

    def fast(self) -> Any:
        if self._fast is None:
            docs = self._documents.values()
            self._fast = jsonschema_rs.Registry([(doc["$id"], doc) for doc in docs])
        return self._fast

    def reference(self) -> Registry:
        if self._reference is None:
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012

            resources = [
                (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012))
                for doc in self._documents.values()
            ]
            self._reference = Registry().with_resources(resources)
        return self._reference


def _refs(value: Any) -> Iterator[str]:
    """Every `$ref` a schema document holds."""
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"]
        for child in value.values():
            yield from _refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from _refs(child)


def _resolve(by_id: Mapping[str, Any], base: str, ref: str) -> Any:
    """What `ref` (relative to the document `base`) points at, or None."""
    uri, _, pointer = urljoin(base, ref).partition("#")
    target: Any = by_id.get(uri)
    for token in filter(None, pointer.split("/")):
        token = unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict):
            target = target.get(token)
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            target = target[int(token)]
        else:
            return None
    return target


class SchemaSet:
    """All schemas under one folder, keyed by path without `.json`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or schemas_dir()
        documents = self._load_documents()
        registries = _Registries(documents)
        self._compiled: dict[str, CompiledSchema] = {}
        for name, doc in documents.items():
            try:
                jsonschema_rs.meta.validate(doc)
            except Exception as exc:  # a schema that breaks the meta-schema
                raise SchemaError(f"schema {name}: {exc}") from exc
            self._compiled[name] = CompiledSchema(name, doc, registries)
        by_id = {doc["$id"]: doc for doc in documents.values()}
        for name, doc in documents.items():
            for ref in _refs(doc):  # every `$ref` must resolve, or start-up stops
                if _resolve(by_id, doc["$id"], ref) is None:
                    raise SchemaError(f"schema {name}: $ref {ref!r} does not resolve")
        self.documents = documents

    def _load_documents(self) -> dict[str, dict[str, Any]]:
        documents: dict[str, dict[str, Any]] = {}
        for path in sorted(self.root.rglob("*.json")):
            name = path.relative_to(self.root).with_suffix("").as_posix()
            try:
                doc = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError as exc:
                raise SchemaError(f"schema {path}: not valid JSON: {exc}") from None
            if "$id" not in doc:
                raise SchemaError(f"schema {path}: no $id")
            documents[name] = doc
        if not documents:
            raise SchemaError(f"no schemas found in {self.root}")
        return documents

    def __getitem__(self, name: str) -> CompiledSchema:
        return self._compiled[name]

    def __contains__(self, name: str) -> bool:
        return name in self._compiled

    def names(self) -> list[str]:
        return sorted(self._compiled)
