"""What every web request shares: the signed-in user, the language, the CSRF check, and the
rendering of a template into a response with the pages' security headers.

Access rules, page by page: the agent console needs a user (agent, manager or admin) working
for the site; statistics a manager or admin; administration an admin. A page asked for
without a session redirects to the login page; with a role that may not see it, to the login
page with a message. An action (a form post, a panel refresh) answers 401 without a session
and 403 with the wrong role or a missing or wrong CSRF token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from server import auth
from server.auth import Principal, User
from server.context import ServerContext
from server.sites import LoadedSite
from server.web import data, format, i18n
from server.web.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    LANG_COOKIE,
    SessionCodec,
    WebSession,
    password_fingerprint,
)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
STATIC_URL = "/assets"

STAFF = frozenset({"agent", "manager", "admin", "superadmin"})
MANAGERS = frozenset({"manager", "admin", "superadmin"})
ADMINS = frozenset({"admin", "superadmin"})

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'; frame-ancestors {ancestors}"
)


class Refusal(Exception):
    """Stops a request with a ready response (a redirect to login, a 401/403 page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass
class WebState:
    """The web pages' part of a server process (``app.state.web``)."""

    templates: jinja2.Environment
    codec: SessionCodec
    asset_version: str


def asset_version() -> str:
    """A short hash of the static files: their URLs change when they do (long caching)."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def build_templates(version: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["static"] = lambda name: f"{STATIC_URL}/{name}?v={version}"
    env.globals["language_names"] = i18n.LANGUAGE_NAMES
    return env


class Page:
    """One web request: session, user, language; renders templates and redirects."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.ctx: ServerContext = request.app.state.ctx
        self.web: WebState = request.app.state.web
        self.session: WebSession = self.web.codec.load(request)
        self.user: User | None = None
        self.activity = True
        self.keep_session = True
        self.languages: tuple[str, ...] = i18n.languages()
        chosen = request.query_params.get("lang")
        self.chosen_lang = chosen if chosen in self.languages else None
        cookie = request.cookies.get(LANG_COOKIE)
        self.explicit_lang = self.chosen_lang or (cookie if cookie in self.languages else None)
        self.browser_langs = i18n.accepted(request.headers.get("accept-language"))
        self._set_language(self.explicit_lang, *self.browser_langs)
        if self.session.username:
            found = auth.get_user(self.ctx.engine, self.session.username)
            if found is not None and password_fingerprint(found[1]) == self.session.fingerprint:
                self.user = found[0]
            else:
                self.session.username = None
                self.session.dirty = True

    def public(self) -> None:
        """A page for the public: it neither sets nor refreshes the session cookie (it can be
        cached, and opening it is no staff activity)."""
        self.activity = False
        self.keep_session = False

    # ---- language -------------------------------------------------------------------------
    def _set_language(self, *candidates: str | None) -> None:
        self.lang = i18n.pick_language(*candidates, among=self.languages)
        self._ = i18n.translator(self.lang)

    def use_site_languages(self, languages: Iterable[str], preferred: str | None = None) -> None:
        """Unless the visitor chose a language, ``preferred`` (the language chosen at the
        kiosk), else the browser's, else the site's first language. Every language the pages
        have texts for stays on offer: a visitor may read none of the site's."""
        self._set_language(self.explicit_lang, preferred, *self.browser_langs, *languages)

    def lang_url(self, code: str) -> str:
        params = dict(self.request.query_params)
        params["lang"] = code
        return f"{self.request.url.path}?{urlencode(params)}"

    # ---- who may do what -----------------------------------------------------------------
    @property
    def principal(self) -> Principal:
        assert self.user is not None
        return Principal("user", self.user.username, self.user.role.value, self.user.sites)

    def may_see(self, site: str) -> bool:
        u = self.user
        return u is not None and (u.role.value == "superadmin" or site in u.sites)

    def may(self, roles: frozenset[str], site: str | None = None) -> bool:
        """Whether the signed-in user has one of ``roles`` (on ``site``, when given)."""
        u = self.user
        if u is None or u.role.value not in roles:
            return False
        return site is None or self.may_see(site)

    def require(
        self, roles: frozenset[str], site: str | None = None, *, action: bool = False
    ) -> User:
        """The signed-in user when their role is one of ``roles`` (and they work for ``site``);
        otherwise stops the request: a redirect to login for a page, 401/403 for an action."""
        user = self.user
        allowed = user is not None and user.role.value in roles
        if allowed and site is not None:
            allowed = self.may_see(site)
        if allowed:
            assert user is not None
            return user
        if action:
            status = 401 if user is None else 403
            key = "login.required" if user is None else "error.forbidden"
            raise Refusal(self.error(status, self._(key)))
        reason = "required" if user is None else "forbidden"
        if user is None and self.session.expired:
            reason = "expired"
        target = self.request.url.path
        if self.request.url.query:
            target += "?" + self.request.url.query
        query = urlencode({"next": target, "reason": reason})
        raise Refusal(self.redirect(f"/login?{query}"))

    def check_csrf(self, form: FormData | None = None) -> None:
        """Refuses (403) a post whose CSRF token is missing or not the session's."""
        token = self.request.headers.get(CSRF_HEADER)
        if token is None and form is not None:
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        if not self.session.check_csrf(token):
            raise Refusal(self.error(403, self._("error.csrf")))

    # ---- responses -----------------------------------------------------------------------
    def context(self, section: str) -> dict[str, Any]:
        pending = self.session.take_flashes() if self.keep_session else []
        flashes = [(kind, self._(key, **values)) for kind, key, values in pending]
        return {
            "_": self._,
            "lang": self.lang,
            "dir": self._.direction,
            "durations": self.durations.as_json(),
            "languages": self.languages,
            "lang_url": self.lang_url,
            "user": self.user,
            "may": self.may,
            "managers": MANAGERS,
            "admins": ADMINS,
            "csrf_token": self.session.csrf,
            "section": section,
            "flashes": flashes,
            "embedded": self.embedded,
            "q": self.query(),
        }

    @property
    def durations(self) -> format.Durations:
        """How this page's language writes a waiting time (``format.duration(s, words)``)."""
        return format.Durations.of(self._)

    @property
    def embedded(self) -> bool:
        """Shown in a frame of the town's website (``embed=1``): no header, no footer, and
        the page tells the host page its height (static/wait.js)."""
        return self.request.query_params.get("embed") == "1"

    def query(self, **extra: str) -> str:
        """The query string the page's own links carry on: its language, ``embed=1`` while
        embedded, then ``extra``."""
        keep = {"lang": self.lang, **({"embed": "1"} if self.embedded else {})}
        return urlencode({**keep, **extra})

    def render(
        self,
        template: str,
        *,
        section: str = "",
        status: int = 200,
        frame_ancestors: str = "'none'",
        **values: Any,
    ) -> HTMLResponse:
        values = {**self.context(section), **values}
        html = self.web.templates.get_template(template).render(values)
        response = HTMLResponse(html, status_code=status)
        self.finish(response, frame_ancestors=frame_ancestors)
        return response

    def fragment(self, template: str, **values: Any) -> str:
        values = {**self.context(""), **values}
        return self.web.templates.get_template(template).render(values)

    def finish(self, response: Response, *, frame_ancestors: str = "'none'") -> Response:
        """Adds the session and language cookies and the security headers."""
        if self.keep_session:
            self.web.codec.save(self.session, response, activity=self.activity)
        if self.chosen_lang and self.keep_session:
            response.set_cookie(
                LANG_COOKIE, self.chosen_lang, max_age=365 * 86400, samesite="lax", path="/"
            )
        headers = response.headers
        headers["Content-Security-Policy"] = _CSP.format(ancestors=frame_ancestors)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        if frame_ancestors == "'none'":
            headers["X-Frame-Options"] = "DENY"
        headers.setdefault("Cache-Control", "no-store")
        return response

    def redirect(self, url: str) -> Response:
        return self.finish(RedirectResponse(url, status_code=303))

    def site(self, roles: frozenset[str], site_id: str, *, action: bool = False) -> LoadedSite:
        """The site ``site_id`` for a user of one of ``roles`` who works for it (else the
        sign-in page or 403), or a 404 page; the page then speaks the site's languages."""
        self.require(roles, site_id, action=action)
        loaded = self.ctx.sites.get_by_engine(self.ctx.engine, site_id)
        if loaded is None:
            raise Refusal(self.error(404, self._("error.not_found")))
        self.use_site_languages(loaded.site.languages)
        return loaded

    def choose_site(self, target: str, section: str, heading: str) -> Response:
        """The sites this user may see, to choose one for ``/{target}/{site}``; straight there
        when there is only one."""
        sites = [s for s in data.all_sites(self.ctx) if self.may_see(s.id)]
        if len(sites) == 1:
            return self.redirect(f"/{target}/{sites[0].id}")
        shown = [{"id": s.id, "name": s.site.name, "services": s.site.services} for s in sites]
        return self.render(
            "sites.html", section=section, sites=shown, target=target, heading=heading
        )

    def error(self, status: int, message: str) -> Response:
        return self.render("error.html", status=status, message=message)
