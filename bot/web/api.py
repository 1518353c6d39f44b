"""The JSON staff API: each endpoint declared once, with its roles and its models, so the
route, the access check, the input validation and the OpenAPI description cannot drift apart.

Query strings and bodies are parsed by pydantic models (a bad value is a 400 naming the
field); a response is a pydantic model or a dataclass (the view model the page renders),
serialised and described by pydantic's ``TypeAdapter``. ``GET /staff/api/openapi.json``
describes every endpoint from those declarations (OpenAPI 3.1, whose schemas are JSON Schema,
as pydantic writes them). Pages and API share one view-model function per resource, so
both show the same.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.message import has_control_characters
from bot.web import access, texts
from storage.models import Role

__all__ = ["Endpoint", "add_endpoint", "json_body", "ok", "query_model", "setup"]

PREFIX = "/staff/api/v1"
# A row's id in a path: 18 digits at most always fit the database's 64-bit integer, so a longer
# number is the router's 404, never an overflow inside a query.
ROW_ID = r"\d{1,18}"
ROW_ID_MAX = 10**18 - 1  # the same bound for an id in a query string (a page cursor)
# The days a filter may name: any record lies between; a day past them would overflow the
# arithmetic on it (the day after 9999-12-31) or the conversion to UTC (0001-01-01).
DAY_MIN, DAY_MAX = date(1900, 1, 1), date(9998, 12, 31)
_CONTROL_PROBLEM = "must not contain control characters"  # as pydantic words its problems
ENDPOINTS = web.AppKey("staff_api_endpoints", list)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str  # below PREFIX, aiohttp style: /escalations/{id}/acknowledge
    summary: str
    roles: tuple[Role, ...]
    response: type
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None


def add_endpoint(
    app: web.Application,
    endpoint: Endpoint,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> None:
    """Route it behind its roles (writes also behind the CSRF header) and describe it."""

    async def checked(request: web.Request) -> web.StreamResponse:
        if request.method != "GET":
            await access.verify_csrf(request)
        return await handler(request)

    app.router.add_route(
        endpoint.method, PREFIX + endpoint.path, access.require(*endpoint.roles)(checked)
    )
    app.setdefault(ENDPOINTS, []).append(endpoint)


def query_model(request: web.Request, model: type[M]) -> M:
    """The query string as the model; an empty field (a form's blank filter) is no value."""
    given = {name: value for name, value in request.query.items() if value != ""}
    page = not access.is_api(request)
    if control := [name for name, value in given.items() if has_control_characters(value)]:
        raise _bad_fields([(name, _CONTROL_PROBLEM) for name in control], page=page)
    try:
        return model.model_validate(given)
    except ValidationError as error:
        raise bad_request(error, page=page) from None


async def json_body(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as error:
        raise bad_request(error) from None


def bad_request(error: ValidationError, *, page: bool = False) -> web.HTTPBadRequest:
    problems = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in error.errors()]
    return _bad_fields(problems, page=page)


def _bad_fields(problems: list[tuple[str, str]], *, page: bool) -> web.HTTPBadRequest:
    fields = [{"field": field, "problem": problem} for field, problem in problems]
    if page:
        names = "、".join(f["field"] for f in fields)
        return web.HTTPBadRequest(text=texts.BAD_FILTER.format(fields=names))
    return web.HTTPBadRequest(
        text=ErrorBody(error="invalid input", fields=fields).model_dump_json(),
        content_type="application/json",
    )


def ok(value: Any, *, status: int = 200) -> web.Response:
    body = TypeAdapter(type(value)).dump_json(value)
    return web.Response(
        body=body,
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


class ErrorBody(BaseModel):
    error: str
    fields: list[dict[str, str]] = []


def openapi_document(endpoints: list[Endpoint]) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _schema(ErrorBody, {})}
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "description": _roles_text(endpoint.roles),
            "responses": {
                "200": _content(_ref(endpoint.response, schemas)),
                "400": _content(_ref(ErrorBody, schemas), "invalid input"),
                "404": _content(_ref(ErrorBody, schemas), "no such object"),
                "409": _content(_ref(ErrorBody, schemas), "refused: the state does not allow it"),
                "401": {"description": "not signed in"},
                "403": {"description": "another role, or no CSRF token on a write"},
            },
        }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": kind}}
            for name, kind in _path_names(endpoint.path)
        ]
        if endpoint.query is not None:
            query_schema = endpoint.query.model_json_schema()
            required = set(query_schema.get("required", []))
            parameters += [
                {"name": name, "in": "query", "required": name in required, "schema": schema}
                for name, schema in query_schema.get("properties", {}).items()
            ]
        if parameters:
            operation["parameters"] = parameters
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(endpoint.body, schemas)}},
            }
        if endpoint.method != "GET":
            operation["security"] = [{"session": [], "csrf": []}]
        path = PREFIX + _PATH_PATTERN.sub(r"{\1}", endpoint.path)
        paths.setdefault(path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Careline staff API",
            "version": "1",
            "description": "Sign in at /staff/sign-in; the session cookie authenticates. "
            "Writes carry the session's CSRF token in the X-CSRF-Token header.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": access.COOKIE},
                "csrf": {"type": "apiKey", "in": "header", "name": access.CSRF_HEADER},
            },
        },
        "security": [{"session": []}],
    }


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app.get(ENDPOINTS, [])))


@web.middleware
async def json_routing_errors(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    """Under ``/staff/api/`` an unknown path or method is answered in the API's own error
    shape, as every other API error is, not with the router's plain text."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        if not request.path.startswith("/staff/api/"):
            raise
        error = "no such endpoint" if exc.status == 404 else "method not allowed"
        return web.Response(
            status=exc.status,
            text=ErrorBody(error=error).model_dump_json(),
            content_type="application/json",
            headers={"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None,
        )


def setup(app: web.Application) -> None:
    app.router.add_get("/staff/api/openapi.json", access.require()(openapi))
    app.middlewares.append(json_routing_errors)


def _ref(model: type, schemas: dict[str, Any]) -> dict[str, str]:
    name = model.__name__
    if name not in schemas:
        schemas[name] = _schema(model, schemas)
    return {"$ref": f"#/components/schemas/{name}"}


def _schema(model: type, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    return schema


def _content(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# aiohttp's {id:\d{1,18}} (a pattern may hold braces of its own); OpenAPI names it {id}
_PATH_PATTERN = re.compile(r"\{(\w+):(?:[^{}]|\{[^{}]*\})+\}")


def _path_names(path: str) -> list[tuple[str, str]]:
    """Each path parameter, an integer when its pattern is digits."""
    names = []
    for part in path.split("/"):
        if part.startswith("{"):
            name, _, pattern = part[1:-1].partition(":")
            names.append((name, "integer" if pattern in (r"\d+", ROW_ID) else "string"))
    return names


def _roles_text(roles: tuple[Role, ...]) -> str:
    return "Roles: " + (", ".join(r.value for r in roles) if roles else "any signed-in staff")
