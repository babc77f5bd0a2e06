"""`cc-proxy token`: a new strong token for `server.auth_token`, and how clients then use it."""

from __future__ import annotations

import argparse
import secrets
import sys

TOKEN_BYTES = 32  # 256 bits: far beyond guessing, even at the failed-authentication limiter's rate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def new_token() -> str:
    return "ccp-" + secrets.token_urlsafe(TOKEN_BYTES)


def run(args: argparse.Namespace) -> int:
    token = new_token()
    print(token)  # alone on stdout: `TOKEN=$(cc-proxy token)` works
    print(
        'Put it in cc-proxy.json as "server": {"auth_token": "${CC_PROXY_TOKEN}"} and export\n'
        "CC_PROXY_TOKEN=<the token> where the server runs (or write the token itself there).\n"
        "`cc-proxy code` and `cc-proxy env` then hand it to Claude Code; other clients send it as\n"
        "x-api-key or Authorization: Bearer.",
        file=sys.stderr,
    )
    return 0
