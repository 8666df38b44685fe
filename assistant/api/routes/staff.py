"""Staff sign-in: `POST /api/staff/login` (sets an HttpOnly SameSite=Strict cookie, returns the CSRF token),
`POST /api/staff/logout`, `GET /api/staff/me`, `GET /api/staff/accounts` (who can be assigned)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ...auth import COOKIE, StaffAuth, StaffUser
from ..deps import get_auth, rate_limit, same_origin, staff_user
from ..schemas import SignInRequest

router = APIRouter(tags=["staff"])


@router.post("/api/staff/login", summary="Sign in with a configured staff account")
async def login(body: SignInRequest, request: Request, auth: StaffAuth = Depends(get_auth)):
    if not same_origin(request):  # login CSRF: another site cannot sign a browser into an account
        raise HTTPException(403, detail="cross-site request refused")
    rate_limit(request, f"login:{body.username.lower()}")  # per address and per account: slows guessing
    if not auth.configured():
        raise HTTPException(403, detail="no staff accounts are configured (HTP_STAFF or `htp staff add`)")
    res = await run_in_threadpool(auth.sign_in, body.username, body.password)  # bcrypt: off the event loop
    if res is None:
        raise HTTPException(401, detail="wrong username or password (sai tên đăng nhập hoặc mật khẩu)")
    token, user = res
    r = JSONResponse({**user.public(), "csrf_token": user.csrf})
    s = request.app.state.settings
    r.set_cookie(COOKIE, token, max_age=60 * s.staff_session_minutes, httponly=True, samesite="strict",
                 secure=s.staff_cookie_secure, path="/")
    r.headers["Cache-Control"] = "no-store"
    return r


@router.post("/api/staff/logout", summary="Sign out (needs the CSRF token)")
async def logout(request: Request, user: StaffUser = Depends(staff_user), auth: StaffAuth = Depends(get_auth)):
    await run_in_threadpool(auth.sign_out, request.cookies.get(COOKIE))
    r = JSONResponse({"signed_out": True})
    r.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return r


@router.get("/api/staff/me", summary="The signed-in account and its CSRF token")
async def me(user: StaffUser = Depends(staff_user)):
    return JSONResponse({**user.public(), "csrf_token": user.csrf}, headers={"Cache-Control": "no-store"})


@router.get("/api/staff/accounts", summary="Staff who can be assigned a request")
async def accounts(user: StaffUser = Depends(staff_user), auth: StaffAuth = Depends(get_auth)):
    return {"accounts": [a.public() for a in auth.accounts().values()]}
