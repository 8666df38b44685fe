"""HTML pages and static files: the demo page with the widget (/), the staff desk (/staff), the inbox
(/staff/inbox), the sign-in page (/staff/login) and the investor's status page (/request/{code}).

Staff pages redirect to the sign-in page without a valid sign-in; the data behind them is guarded by the API."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse

from ...auth import COOKIE
from .common import HTML_HEADERS, WEB_DIR, page

router = APIRouter(include_in_schema=False)
STATIC = {"widget.js": "text/javascript", "widget.css": "text/css", "staff.js": "text/javascript",
          "staff.css": "text/css", "site.css": "text/css", "favicon.svg": "image/svg+xml",
          "inbox.js": "text/javascript", "login.js": "text/javascript", "request.js": "text/javascript",
          "request.css": "text/css"}


def _staff_page(request: Request, name: str):
    user, _ = request.app.state.staff_auth.user(request.cookies.get(COOKIE))
    if user is None:
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/staff/login?next={quote(nxt, safe='')}", status_code=303, headers=HTML_HEADERS)
    return page(name)


@router.api_route("/", methods=["GET", "HEAD"])
async def index() -> FileResponse:
    return page("index.html")


@router.api_route("/staff", methods=["GET", "HEAD"])
async def staff(request: Request):
    return _staff_page(request, "staff.html")


@router.api_route("/staff/inbox", methods=["GET", "HEAD"])
async def inbox(request: Request):
    return _staff_page(request, "inbox.html")


@router.api_route("/staff/login", methods=["GET", "HEAD"])
async def login() -> FileResponse:
    return page("login.html")


@router.api_route("/request/{code}", methods=["GET", "HEAD"])
async def request_status(code: str) -> FileResponse:
    # The page reads the code from its own address; nothing of the request is in the HTML.
    return page("request.html", **{"Referrer-Policy": "no-referrer"})


@router.api_route("/{name}", methods=["GET", "HEAD"])
async def static(name: str) -> FileResponse:
    # A fixed allowlist: the name never reaches the filesystem unless it is one of our files.
    if name not in STATIC:
        raise HTTPException(404)
    return FileResponse(WEB_DIR / name, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=300"})
