"""altcraft-mock: a local emulator of the Altcraft batch profile-import API."""

from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    """The version is written once, in pyproject.toml: an install's metadata carries it;
    a source tree run without an install reads it there."""
    try:
        return version("altcraft-mock")
    except PackageNotFoundError:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text("utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0.0.0+unknown"


__version__ = _version()
