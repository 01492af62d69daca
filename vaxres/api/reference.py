"""docs/api.md, written from the app's OpenAPI schema: `python -m vaxres.api.reference > docs/api.md`
(tests/test_docs.py fails when the committed page differs)."""

from __future__ import annotations

import json
import sys
from typing import Any


def _schema() -> dict[str, Any]:
    from vaxres.api.app import create_app
    from vaxres.db.store import Store

    return create_app(Store("sqlite://")).openapi()


def _type(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_type(part) for part in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    return str(schema.get("type", "any"))


def _fields(properties: dict[str, Any], required: list[str], components: dict[str, Any], prefix: str = "") -> list[str]:
    """A row per field; an object's own fields follow it, named `object.field`."""
    lines = []
    for name, field in properties.items():
        nested = components.get(field.get("$ref", "").rsplit("/", 1)[-1])
        default = f" (default {json.dumps(field['default'])})" if field.get("default") is not None else ""
        text = (field.get("description", "") + default).replace("|", "\\|").replace("\n", " ")
        kind = "object" if nested else _type(field)
        lines.append(f"| `{prefix}{name}` | {kind} | {'yes' if name in required else 'no'} | {text} |")
        if nested:
            lines += _fields(nested.get("properties", {}), nested.get("required", []), components, f"{prefix}{name}.")
    return lines


def render(schema: dict[str, Any]) -> str:
    components = schema.get("components", {}).get("schemas", {})
    out = [f"# {schema['info']['title']} HTTP API reference", "", schema["info"].get("description", ""), ""]
    out += ["Generated from `/openapi.json` by `python -m vaxres.api.reference`; do not edit by hand.", ""]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            out += [f"## {method.upper()} `{path}`", "", operation.get("summary", ""), ""]
            if operation.get("description"):
                out += [operation["description"], ""]
            params = operation.get("parameters", [])
            if params:
                out += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
                for p in params:
                    text = p.get("description", p["schema"].get("description", "")).replace("\n", " ")
                    kind = _type(p["schema"])
                    out.append(
                        f"| `{p['name']}` | {p['in']} | {kind} | {'yes' if p.get('required') else 'no'} | {text} |"
                    )
                out.append("")
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                ref = body.get("$ref") or next((part["$ref"] for part in body.get("anyOf", []) if "$ref" in part), "")
                model = components.get(ref.rsplit("/", 1)[-1], {})
                fields = _fields(model.get("properties", {}), model.get("required", []), components)
                out += [
                    "Body (JSON):",
                    "",
                    "| name | type | required | description |",
                    "|---|---|---|---|",
                    *fields,
                    "",
                ]
            statuses = ", ".join(
                f"{status} {answer['description'].rstrip('.')}"
                for status, answer in sorted(operation["responses"].items())
            )
            out += [f"Answers: {statuses}.", ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> None:
    sys.stdout.write(render(_schema()))


if __name__ == "__main__":
    main()
