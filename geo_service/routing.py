"""The route classes of the service: every route that may change something goes through
:meth:`geo_service.zones.ZoneCache.changing` the same way, without asking for it.

A write (POST, PUT, PATCH or DELETE) gets the dependency :data:`geo_service.deps.ZoneChange`
from :class:`ServiceRoute`, so a new write route cannot forget it; an endpoint that changes
no layer in force — a query sent as a body, signing in, staging a stock list — says so
with :func:`keeps_zone`, and ``tests/test_routes_roles.py`` lists which do.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi import params as fastapi_params
from fastapi.exceptions import RequestValidationError

from geo_service.bodies import OffLoopJSONRoute
from geo_service.deps import MUTATING, ZoneChange
from matching.request import parse_request

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_KEEPS_ZONE = "_keeps_zone"


def keeps_zone(endpoint: Endpoint) -> Endpoint:
    """Mark a write's endpoint that changes no layer in force: it is not run inside
    :meth:`~geo_service.zones.ZoneCache.changing`. Put it below the route's decorator."""
    setattr(endpoint, _KEEPS_ZONE, True)
    return endpoint


def changes_zone(endpoint: Callable[..., Any], methods: set[str] | list[str] | None) -> bool:
    """Whether a route of ``endpoint`` answering ``methods`` may change the layers."""
    return bool(set(methods or ()) & MUTATING) and not getattr(endpoint, _KEEPS_ZONE, False)


class ServiceRoute(OffLoopJSONRoute):
    """A route of the service: its JSON body is decoded off the event loop, and a write
    runs inside :meth:`~geo_service.zones.ZoneCache.changing` unless its endpoint
    :func:`keeps_zone`."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: set[str] | list[str] | None = None,
        dependencies: Sequence[fastapi_params.Depends] | None = None,
        **kwargs: Any,
    ) -> None:
        if changes_zone(endpoint, methods):
            dependencies = [ZoneChange, *(dependencies or ())]
        super().__init__(path, endpoint, methods=methods, dependencies=dependencies, **kwargs)


class ProjectRoute(ServiceRoute):
    """A route whose body, if it has one, is a :class:`matching.request.ProjectRequest`
    (``/match``, ``/maps/preselect``).

    A JSON object that is not a valid request is refused as everywhere else a request is
    read (the command line, example files): by :func:`~matching.request.parse_request`,
    400 ``invalid_input`` naming every wrong field. A body that is no JSON object, or a
    bad query parameter, is refused as any other bad parameter (``invalid_parameter``).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                others = [err for err in exc.errors() if err["loc"][:1] != ("body",)]
                if isinstance(exc.body, dict) and not others:
                    parse_request(exc.body)  # raises, naming each field
                if isinstance(exc.body, dict) and others:
                    # The parameters first, as before the body was read: the request's
                    # own problems are named once the parameters are right.
                    raise RequestValidationError(others, body=exc.body) from None
                raise

        return route_handler
