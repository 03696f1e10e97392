"""altcraft-mock: a local emulator of the Altcraft batch profile-import API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("altcraft-mock")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
