"""Keep secrets out of messages. An API key reaches error texts raw (an echoing server) or
URL-encoded inside a request URL (requests' connection errors print the URL with its query)."""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

MASK = "***"
# Query parameters that carry credentials, whatever their value: masked even for a key we were not told.
_SECRET_PARAM = re.compile(r"(?i)\b(token|api_?key|access_token|client_secret|password)=[^&\s'\"()<>]+")


def redact(text: str, *secrets: str) -> str:
    """`text` with every given secret (raw, %-encoded or +-encoded) and every credential query value masked."""
    forms = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""), quote_plus(secret))}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return _SECRET_PARAM.sub(rf"\1={MASK}", text)
