"""Attribute every write made while handling a request to its user, request id, path and IP."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from audit.context import audit_context

# A request id passed in by the proxy (X-Request-ID) is kept when it looks like one, so the
# audit log and the proxy's access log share it; anything else is replaced.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _request_id(request: HttpRequest) -> str:
    incoming = request.headers.get("X-Request-ID", "")
    return incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


class AuditContextMiddleware:
    """Opens one audit context per request (place it after AuthenticationMiddleware).

    The user is looked up only when the request writes, and again in each transaction, so a
    request that signs a user in attributes the writes after the sign-in to that user. The IP is
    REMOTE_ADDR; X-Forwarded-For is recorded beside it as given (not trusted, not interpreted).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.audit_request_id = request_id = _request_id(request)
        forwarded_for = request.headers.get("X-Forwarded-For", "")[:200]

        def describe() -> dict[str, Any]:
            user = getattr(request, "user", None)
            values = {
                "user_id": user.pk if user is not None and user.is_authenticated else None,
                "request_id": request_id,
                "method": request.method,
                "path": request.path[:500],
                "ip": request.META.get("REMOTE_ADDR"),
            }
            if forwarded_for:
                values["forwarded_for"] = forwarded_for
            return values

        with audit_context(describe):
            response = self.get_response(request)
        response.headers.setdefault("X-Request-ID", request_id)
        return response
