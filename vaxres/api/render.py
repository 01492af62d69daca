"""JSON as `--json` prints it: the records' own `as_json()`, written without ASCII escapes."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response


def json_bytes(data: Any) -> bytes:
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8: written as an escape
        return json.dumps(data, separators=(",", ":")).encode()


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json_bytes(data), status, media_type="application/json")
