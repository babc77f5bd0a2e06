"""cc-proxy's own version, as installed (`cc-proxy --version`, PID files, `status`)."""

from __future__ import annotations

UNKNOWN = "0+unknown"


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cc-proxy")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return UNKNOWN
