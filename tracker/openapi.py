"""The API's OpenAPI document and its ``/docs`` page, self-contained and offline.

A route whose body is read by hand (the webhook, ``POST /v1/shipments``) declares it with :func:`json_body`: the
model's schema and every schema it nests become named components, so each ``$ref`` resolves. The document gets the
two security schemes (an API key as a bearer token; the ERP's Standard Webhooks signature), problem responses as
``application/problem+json`` and every ``cursor`` described as opaque. Swagger UI's assets are served from the pinned
``fastapi-offline`` package (Swagger UI 5, which reads OpenAPI 3.1; ``swagger-ui-bundle`` ships 4.15.5, which shows
"Unable to render this definition" for FastAPI's 3.1 documents) under ``/docs/assets``: no page reaches for a CDN."""

from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from starlette.requests import Request
from starlette.staticfiles import StaticFiles

from tracker.apikeys import KEY_FORMAT
from tracker.problems import MEDIA_TYPE

API_KEY = "ApiKey"  # the security scheme of every route that needs(scope): its requirement lists the scopes
WEBHOOK = "StandardWebhooks"
PUSH_BASIC, PUSH_SIGNED = "CarrierPushBasic", "CarrierPushSignature"  # carriers' pushes, each its own way
ASSETS = "/docs/assets"
SWAGGER_UI = files("fastapi_offline") / "static"  # swagger-ui-bundle.js, swagger-ui.css, favicon.png
_REF = "#/components/schemas/{model}"
_PROBLEM = {"$ref": _REF.format(model="Problem")}
CURSOR = (
    "Opaque: pass the `next_cursor` of the previous page unchanged (do not build or parse it; its form may change). "
    "Pages are newest first."
)

SECURITY_SCHEMES: dict[str, Any] = {
    API_KEY: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": KEY_FORMAT,
        "description": (
            "An API key from `zelo apikeys create`, sent as `Authorization: Bearer <key>`. A route lists the scopes "
            "it needs (`read`, `write`); a key without them is a 403."
        ),
    },
    WEBHOOK: {
        "type": "apiKey",
        "in": "header",
        "name": "webhook-signature",
        "description": (
            "[Standard Webhooks](https://www.standardwebhooks.com/): `webhook-signature` is `v1,<base64 "
            "HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{raw body}` under the `whsec_` secret's decoded "
            "bytes (several space-separated while rotating secrets); `webhook-timestamp` within 300 s of now. "
            "Sign the exact bytes you send, uncompressed."
        ),
    },
    PUSH_BASIC: {
        "type": "http",
        "scheme": "basic",
        "description": "A carrier's push with the user and password the store gave it (Loggi: the account's "
        "`webhook_user` and `webhook_password`).",
    },
    PUSH_SIGNED: {
        "type": "apiKey",
        "in": "header",
        "name": "X-ME-Signature",
        "description": "A carrier's push signed over its raw body (Melhor Envio: base64 or hex of the HMAC-SHA256 of "
        "the body under the account's `app_secret`).",
    },
}


def json_body(model: type[BaseModel], description: str | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body itself: the body is ``model``, a named component
    (its nested models too, hoisted by :func:`finish`)."""
    schema = model.model_json_schema(ref_template=_REF)
    schema["x-zelo-component"] = model.__name__
    body: dict[str, Any] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if description:
        body["description"] = description
    return {"requestBody": body}


def finish(doc: dict[str, Any]) -> dict[str, Any]:
    """Complete FastAPI's document in place (see the module's text) and return it."""
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for operation in _operations(doc):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            _hoist(media, schemas)
        for answer in operation.get("responses", {}).values():
            content = answer.get("content", {})
            if MEDIA_TYPE in content:  # tracker.problems.responses: a problem is never application/json
                answer["content"] = {MEDIA_TYPE: {"schema": _PROBLEM}}
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "query" and parameter.get("name") == "cursor":
                parameter["description"] = CURSOR
    for schema in schemas.values():
        cursor = schema.get("properties", {}).get("next_cursor")
        if cursor is not None:
            cursor["description"] = "Pass as `cursor` for the next page; null on the last page. " + CURSOR
    components["securitySchemes"] = SECURITY_SCHEMES
    return doc


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for path in doc.get("paths", {}).values() for op in path.values() if isinstance(op, dict)]


def _hoist(media: dict[str, Any], schemas: dict[str, Any]) -> None:
    schema = media.get("schema", {})
    name = schema.pop("x-zelo-component", None)
    if name is None:
        return
    for nested, definition in {**schema.pop("$defs", {}), name: schema}.items():
        if schemas.setdefault(nested, definition) != definition:
            raise ValueError(f"two different schemas are named {nested!r} in the OpenAPI document")
    media["schema"] = {"$ref": _REF.format(model=name)}


def install(app: FastAPI, title: str) -> None:
    """The finished document at ``/openapi.json`` and Swagger UI at ``/docs``, its assets served locally. (The
    app is made with ``docs_url=None, redoc_url=None``: FastAPI's own pages load their scripts from a CDN.)"""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.mount(ASSETS, StaticFiles(directory=str(SWAGGER_UI)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs(_: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},  # no badge from swagger.io
        )
