"""The aiohttp application: routes and the middlewares every request passes (errors, stats, faults, auth)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_urldispatcher import MatchInfoError

from . import assistants, control, files, responses, vectors
from .errors import ACCESS_DENIED_BEARER, ApiError, azure_resource_not_found, fault_error, unauthorized
from .state import EmulatorState
from .web import STATE

log = logging.getLogger("emulator")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIX = "/openai/"
V1_PREFIX = "/openai/v1/"
# An Entra ID access token is a JWT: three base64url parts separated by dots.
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_API_VERSION = re.compile(r"^(\d{4}-\d{2}-\d{2}(-preview)?|v1|latest|preview)$")


def route_template(request: web.Request) -> str:
    """`/openai/threads/{thread_id}` for a matched route, else the raw path."""
    match = request.match_info
    if isinstance(match, MatchInfoError) or match.route.resource is None:
        return request.path
    return match.route.resource.canonical


def _is_control(request: web.Request) -> bool:
    return route_template(request) in control.CONTROL_ROUTES


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error in the service's JSON shape; a client's mistake is never a 500."""
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except web.HTTPNotFound:
        return azure_resource_not_found().response()
    except web.HTTPMethodNotAllowed as error:
        return ApiError(405, f"Method {error.method} is not allowed on this route.", code="405").response()
    except web.HTTPRequestEntityTooLarge:
        return ApiError(413, "The request body is too large.", code="413").response()
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return ApiError(
            500,
            "The server had an error while processing your request. Sorry about that!",
            type_="server_error",
        ).response()


@web.middleware
async def stats_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_control(request):
        request.app[STATE].stats.requests[f"{request.method} {route_template(request)}"] += 1
    return await handler(request)


class DropConnection(Exception):
    """A fault with status 0: the server closes the connection without answering."""


@web.middleware
async def faults_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _is_control(request):
        return await handler(request)
    fault = request.app[STATE].take_fault(request.method, request.path)
    if fault is None:
        return await handler(request)
    if fault.delay_seconds:
        await asyncio.sleep(fault.delay_seconds)
    if fault.status is None:
        return await handler(request)
    if fault.status == 0:
        if request.transport is not None:
            request.transport.abort()
        raise DropConnection
    error = fault_error(fault.status, fault.message)
    if fault.retry_after is not None:
        error.headers["retry-after"] = str(max(0, round(fault.retry_after)))
        error.headers["retry-after-ms"] = str(round(fault.retry_after * 1000))
    return error.response()


def _authorized(request: web.Request, api_key: str) -> ApiError | None:
    key = request.headers.get("api-key")
    if key is not None:
        return None if key == api_key else unauthorized()
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return unauthorized()
    if token == api_key or _JWT.match(token):
        return None
    return unauthorized(ACCESS_DENIED_BEARER)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`api-key`, or `Authorization: Bearer` with the key or an Entra-shaped token.

    Azure (non-v1) routes also need `api-version`.
    """
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    problem = _authorized(request, request.app[STATE].config.api_key)
    if problem is not None:
        raise problem
    if not request.path.startswith(V1_PREFIX):
        version = request.query.get("api-version")
        if not version:
            raise ApiError(
                400,
                "The api-version query parameter (?api-version=) is required for all requests.",
                param="api-version",
                code="MissingApiVersionParameter",
            )
        if not _API_VERSION.match(version):
            raise ApiError(400, "API version not supported", param="api-version", code="BadRequest")
    return await handler(request)


@web.middleware
async def strict_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """In strict mode, an object that breaks the API description or the SDK's models is a loud 500."""
    response = await handler(request)
    state = request.app[STATE]
    if (
        not state.config.strict
        or not isinstance(response, web.Response)
        or response.content_type != "application/json"
    ):
        return response
    if not request.path.startswith(API_PREFIX) or response.status != 200 or response.text is None:
        return response
    from .validation import check_response

    problems = check_response(request.method, route_template(request), json.loads(response.text))
    if problems:
        log.error("invalid object for %s %s: %s", request.method, route_template(request), problems)
        raise ApiError(
            500, "The emulator produced an invalid object: " + "; ".join(problems[:5]), type_="server_error"
        )
    return response


async def _date_header(request: web.Request, response: web.StreamResponse) -> None:
    # The service's own clock, as the real one's Date header is: clients measure time left before
    # `expires_at` against it, and the emulator's clock may be a test's virtual one.
    response.headers["Date"] = email.utils.formatdate(request.app[STATE].clock(), usegmt=True)


def create_app(state: EmulatorState) -> web.Application:
    app = web.Application(
        middlewares=[
            errors_middleware,
            stats_middleware,
            faults_middleware,
            auth_middleware,
            strict_middleware,
        ],
        client_max_size=512 * 1024 * 1024,
    )
    app[STATE] = state
    app.on_response_prepare.append(_date_header)
    assistants.add_routes(app.router, "/openai")
    files.add_routes(app.router, "/openai")
    vectors.add_routes(app.router, "/openai")
    # Azure serves Responses/Conversations both on the v1 routes and on preview api-version routes.
    responses.add_routes(app.router, "/openai")
    files.add_routes(app.router, "/openai/v1")
    vectors.add_routes(app.router, "/openai/v1")
    responses.add_routes(app.router, "/openai/v1")
    control.add_routes(app.router)
    return app


class AccessLogger(AbstractAccessLogger):
    """Method, path (never the query: it may hold a `sig=`), status and time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000)
