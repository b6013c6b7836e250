"""Plain words for a failed HTTP exchange, for the one-line errors and counted reasons the CLIs print.

`requests` errors print the URL (and with it any key in the query) and a chain of
urllib3 reprs; these helpers say what happened instead, and never echo the URL.
"""

from __future__ import annotations

import json

import requests

# reason -> the words printed for it
REASONS = {
    "timeout": "no answer within the timeout",
    "connection_reset": "the connection was reset",
    "connection_refused": "the connection was refused",
    "connection_closed": "the server closed the connection without answering",
    "truncated_body": "the answer was cut off (fewer bytes than its Content-Length)",
    "not_json": "the answer is not JSON",
    "connection_error": "the connection failed",
}


def reason_of(exc: BaseException) -> str:
    """A short reason key (see `REASONS`) for an exception raised by `requests` (or a JSON parse)."""
    text = f"{exc!r} {exc}"
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return "timeout"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError) or "IncompleteRead" in text:
        return "truncated_body"
    if "Connection reset" in text or "ConnectionResetError" in text:
        return "connection_reset"
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return "connection_refused"
    if "RemoteDisconnected" in text:
        return "connection_closed"
    if isinstance(exc, (json.JSONDecodeError, requests.exceptions.JSONDecodeError)):
        return "not_json"
    return "connection_error"


def describe(exc: BaseException) -> str:
    return REASONS[reason_of(exc)]
