"""OpenAPI 3.1 generated from the declared endpoints and their pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from classquiz.contracts.common import ErrorOut
from classquiz.routers.api import Endpoint

REF_TEMPLATE = "#/components/schemas/{model}"
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    302: "Found: the browser goes on to the Location",
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    422: "Validation failed",
    429: "Rate limited",
    503: "Unavailable",
}


def build_openapi(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorOut}
    for ep in endpoints:
        for candidate in (ep.body, ep.query, ep.response, ep.form):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                models.add(candidate)
    mode: JsonSchemaMode = "validation"
    keyed = [(model, mode) for model in sorted(models, key=lambda m: m.__name__)]
    refs, top = models_json_schema(keyed, ref_template=REF_TEMPLATE)
    schemas: dict[str, Any] = top.get("$defs", {})
    # pydantic names each schema itself (a module-qualified name when two models share a
    # class name, `Page_X_` for a generic Page[X]): refer to the names it chose.
    names = {model: refs[model, mode] for model, mode in keyed}

    paths: dict[str, Any] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep, schemas, names)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ClassQuiz server", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "access token, API key (cqk_…) or player token",
                },
                "cookie": {"type": "apiKey", "in": "cookie", "name": "access_token"},
            },
        },
    }


def _schema_of(
    annotation: Any, schemas: dict[str, Any], names: dict[type[BaseModel], Any]
) -> dict[str, Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return dict(names[annotation])
    schema = TypeAdapter(annotation).json_schema(ref_template=REF_TEMPLATE)
    schemas.update(schema.pop("$defs", {}))
    return schema


def _operation(
    ep: Endpoint, schemas: dict[str, Any], names: dict[type[BaseModel], Any]
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": ep.summary,
        "tags": list(ep.tags),
        "operationId": ep.handler.__name__,
        "parameters": [],
        "responses": {},
    }
    for name in re.findall(r"{(\w+)}", ep.path):
        op["parameters"].append(
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        )
    if ep.query is not None:
        for name, field in ep.query.model_fields.items():
            op["parameters"].append(
                {
                    "name": name,
                    "in": "query",
                    "required": field.is_required(),
                    "schema": TypeAdapter(field.annotation).json_schema(),
                }
            )
    if ep.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema_of(ep.body, schemas, names)}},
        }
    if ep.form is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": _schema_of(ep.form, schemas, names)}},
        }
    ok: dict[str, Any] = {"description": STATUS_TEXT.get(ep.status, "OK")}
    if ep.raw_response:
        # One or more content types, comma-separated (e.g. CSV or XLSX downloads).
        ok["content"] = {
            kind.strip(): {"schema": {"type": "string", "format": "binary"}}
            for kind in ep.raw_response.split(",")
        }
    elif ep.response is not None and ep.status != 204:
        ok["content"] = {"application/json": {"schema": _schema_of(ep.response, schemas, names)}}
    op["responses"][str(ep.status)] = ok
    for status in ep.errors:
        op["responses"][str(status)] = {
            "description": STATUS_TEXT.get(status, "Error"),
            "content": {
                "application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorOut")}}
            },
        }
        if status == 429:  # every limit refusal says when to come back (ratelimit.too_many)
            op["responses"]["429"]["headers"] = {
                "Retry-After": {
                    "description": "seconds until a new attempt may be accepted",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
    if ep.auth == "user":
        op["security"] = [{"bearer": []}, {"cookie": []}]
    elif ep.auth == "player":
        op["security"] = [{"bearer": []}]
    if not op["parameters"]:
        del op["parameters"]
    return op
