"""Shared FastAPI dependencies: the assistant, the request store, client address, rate limit, admin token,
staff sign-in and CSRF. Every router takes what it needs from here (no router imports the app)."""
from __future__ import annotations

import secrets
from urllib.parse import urlparse

from fastapi import Depends, HTTPException, Request

from ..auth import COOKIE, CSRF_HEADER, StaffAuth, StaffUser
from ..engine import Assistant
from ..handover import RequestStore


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def get_requests(request: Request) -> RequestStore:
    return request.app.state.requests


def get_auth(request: Request) -> StaffAuth:
    return request.app.state.staff_auth


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limit(request: Request, session_id: str | None = None) -> None:
    keys = [f"ip:{client_ip(request)}"]
    if session_id:
        keys.append(f"session:{session_id[:128]}")
    wait = request.app.state.limiter.hit(*keys)
    if wait:
        raise HTTPException(429, headers={"Retry-After": str(int(wait))},
                            detail=f"too many requests: retry in {int(wait)} s "
                                   f"(quá nhiều yêu cầu, vui lòng thử lại sau {int(wait)} giây)")


def limited(request: Request) -> None:
    """rate_limit as a plain dependency (per client address)."""
    rate_limit(request)


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if not auth:
        return None
    scheme, _, cred = auth.partition(" ")
    return cred.strip() if scheme.lower() == "bearer" else ""


def _admin_token_ok(request: Request, cred: str) -> bool:
    token = request.app.state.settings.admin_token
    return bool(token) and secrets.compare_digest(cred.encode("utf-8", "surrogatepass"), token.encode())


def require_admin(request: Request) -> None:
    """/api/admin/*: the admin bearer token (unchanged), or a signed-in admin account."""
    token = request.app.state.settings.admin_token
    cred = _bearer(request)
    if cred is None:
        user, _ = get_auth(request).user(request.cookies.get(COOKIE))
        if user is not None:
            if not user.is_admin:
                raise HTTPException(403, detail="an admin account is required")
            check_csrf(request, user)
            return
        if not token:
            raise HTTPException(403, detail="admin endpoints are disabled: set HTP_ADMIN_TOKEN")
        raise HTTPException(401, detail="missing Authorization: Bearer <HTP_ADMIN_TOKEN>",
                            headers={"WWW-Authenticate": "Bearer"})
    if not token:
        raise HTTPException(403, detail="admin endpoints are disabled: set HTP_ADMIN_TOKEN")
    if not _admin_token_ok(request, cred):
        raise HTTPException(403, detail="invalid admin token")


def same_origin(request: Request) -> bool:
    """True unless the request names another site as its origin (Origin, else Referer)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # not a browser cross-site request (browsers send Origin on every cross-site POST)
    if origin == "null":
        return False
    host = request.headers.get("host", "")
    return urlparse(origin).netloc.lower() == host.lower()


def check_csrf(request: Request, user: StaffUser) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS") or user.via == "token":
        return
    if not same_origin(request):
        raise HTTPException(403, detail="cross-site request refused")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not secrets.compare_digest(sent.encode("utf-8", "surrogatepass"), user.csrf.encode()):
        raise HTTPException(403, detail="missing or wrong CSRF token (X-CSRF-Token)")


def staff_user(request: Request) -> StaffUser:
    """A signed-in staff account (cookie), or the admin bearer token; 401 otherwise, 403 for a wrong token.
    State-changing methods also need the session's CSRF token."""
    cred = _bearer(request)
    if cred is not None:
        if _admin_token_ok(request, cred):
            return StaffUser("admin-token", "admin", "Quản trị", "", via="token")
        raise HTTPException(403, detail="invalid token")
    user, why = get_auth(request).user(request.cookies.get(COOKIE))
    if user is None:
        detail = {"missing": "sign in as staff first (cần đăng nhập)",
                  "expired": "your sign-in has expired: sign in again (phiên đăng nhập đã hết hạn)"}.get(
            why, "invalid sign-in: sign in again")
        raise HTTPException(401, detail=detail, headers={"WWW-Authenticate": 'Cookie realm="staff"'})
    check_csrf(request, user)
    return user


def staff_admin(user: StaffUser = Depends(staff_user)) -> StaffUser:
    if not user.is_admin:
        raise HTTPException(403, detail="an admin account is required")
    return user
