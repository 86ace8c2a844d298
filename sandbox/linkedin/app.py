"""A local LinkedIn Marketing API server: Lead Sync and ad analytics, as LinkedIn documents them.

Docs used:
* https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync and its Postman
  collection (leadForms; leadFormResponses ``q=owner`` with ``owner``, ``leadType``,
  ``limitedToTestLeads``, ``submittedAtTimeRange``, ``versionedLeadGenFormUrn``, ``fields``)
* https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/ads-reporting
  (``q=analytics``; no pagination; the reports themselves: ``leadflow.sandbox.linkedin.analytics``)
* https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version
  (Rest.li 2.0: ``( ) , :`` unencoded in query values, URNs inside encoded, path keys encoded)
* https://learn.microsoft.com/en-us/linkedin/marketing/versioning (``LinkedIn-Version: YYYYMM``
  required; each version supported about one year)
* https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits (daily
  per-endpoint limits reset at midnight UTC; a bare 429, no quota or Retry-After headers)
* https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling
  (``{status, serviceErrorCode, code, message}``; exact bodies as observed in peers' code);
  a token without the permission a resource's page documents gets 403 ACCESS_DENIED "Not
  enough permissions to access: <resource>.<method>": Lead Sync needs
  ``r_marketing_leadgen_automation``, adAnalytics ``r_ads_reporting`` (ads-reporting),
  ad accounts and campaigns ``r_ads`` (account-structure/create-and-manage-accounts)

Test helpers (extra and test leads, unreadable forms): ``leadflow.sandbox.linkedin.helpers``.
Endpoints under ``/rest``: ``leadFormResponses`` (finder, get), ``leadForms`` (finder, get),
``adAnalytics`` (analytics finder), ``adAccounts/{id}/adCampaigns`` (search). Anything else is
LinkedIn's 404 ``No virtual resource found``.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from leadflow.sandbox.linkedin.analytics import (
    GRANULARITIES,
    PIVOTS,
    analytics_elements,
    date_range,
)
from leadflow.sandbox.linkedin.data import LinkedInDataset, linkedin_dataset
from leadflow.sandbox.linkedin.helpers import LeadSyncHelpers
from leadflow.sandbox.linkedin.restli import (
    ParamError,
    Query,
    RestliSyntaxError,
    parse_fields,
    percent_decode,
)
from leadflow.sandbox.server import Request, Response, Router, SandboxServer
from leadflow.sandbox.server import json_response as _json

DEFAULT_COUNT = 10
LEAD_TYPES = {"sponsoredAccount": ("SPONSORED",),
              "organization": ("COMPANY", "EVENT", "ORGANIZATION_PRODUCT")}  # fmt: skip
VERSION = re.compile(r"^(\d{6})(?:\.\d{2})?$")
THROTTLED = {"status": 429, "serviceErrorCode": 101, "code": "TOO_MANY_REQUESTS",
             "message": "Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls "
             "to this resource is reached."}  # fmt: skip
PERMISSIONS = {  # resource -> (documented permission, the method named in a refusal)
    "leadFormResponses": ("r_marketing_leadgen_automation", "FINDER-owner"),
    "leadForms": ("r_marketing_leadgen_automation", "GET"),
    "adAnalytics": ("r_ads_reporting", "FINDER-analytics"),
    "adCampaigns": ("r_ads", "FINDER-search"),
    "adAccounts": ("r_ads", "GET"),
}
ALL_PERMISSIONS = frozenset(permission for permission, _ in PERMISSIONS.values())
ROUTES = (
    (r"/rest/leadFormResponses", "_lead_responses"),
    (r"/rest/leadFormResponses/([^/]+)", "_lead_response"),
    (r"/rest/leadForms", "_lead_forms"),
    (r"/rest/leadForms/([^/]+)", "_lead_form"),
    (r"/rest/adAnalytics", "_analytics"),
    (r"/rest/adAccounts/(\d+)/adCampaigns", "_campaigns"),
    (r"/rest/adAccounts/(\d+)", "_ad_account"),
)


def _error(
    status: int, message: str, code: str | None = None, service: int | None = None
) -> Response:
    body = {"status": status, "serviceErrorCode": service, "code": code, "message": message}
    return _json(status, {k: v for k, v in body.items() if v is not None})


class LinkedInSandbox(LeadSyncHelpers, SandboxServer):
    """LinkedIn sandbox (a :class:`SandboxServer`): ``start()``/``stop()`` or ``with``;
    ``base_url`` is the root, the client calls ``base_url + "/rest/..."``; ``faults``,
    ``requests`` and ``dataset`` as usual. Set ``token_expired``/``token_revoked`` to get
    LinkedIn's 401s."""

    def __init__(self, dataset: LinkedInDataset | None = None, *,
                 token: str = "sandbox-linkedin-token", port: int = 0,
                 strict_restli: bool = False, max_count: int = 100, clamp_count: bool = True,
                 daily_limit: int | None = None, supported_months: int = 12,
                 permissions: frozenset[str] = ALL_PERMISSIONS) -> None:  # fmt: skip
        self.dataset = dataset if dataset is not None else linkedin_dataset()
        self.token, self.token_expired, self.token_revoked = token, False, False
        self.permissions = set(permissions)  # the token's (PERMISSIONS)
        self.unreadable_forms: dict[int, int] = {}
        self.strict_restli, self.max_count, self.clamp_count = strict_restli, max_count, clamp_count
        self.daily_limit, self._calls = daily_limit, defaultdict(int)
        latest = self.dataset.anchor.year * 12 + self.dataset.anchor.month - 1
        months = range(latest - supported_months + 1, latest + 1)
        self.active_versions = {f"{m // 12}{m % 12 + 1:02d}" for m in months}
        self._router, self._local = Router(), threading.local()
        for pattern, handler in ROUTES:
            self._router.add("GET", pattern, getattr(self, handler))
        super().__init__(self._app, port=port)

    def __enter__(self) -> LinkedInSandbox:
        self.start()
        return self

    def handle_raw(self, raw: Any) -> None:
        """Keep the raw request target: server.py's parse_qs decoding would erase the
        difference between Rest.li grammar and percent-encoded characters."""
        self._local.target = raw.path
        super().handle_raw(raw)

    # -- test helpers ----------------------------------------------------------------------
    def push_throttle(self, times: int = 1, *, path: str | None = None) -> None:
        """The next ``times`` (matching) requests get LinkedIn's bare 429: no Retry-After."""
        self.faults.push(429, dict(THROTTLED), times=times, path=path)

    def reset_daily_limits(self) -> None:
        """What midnight UTC does to LinkedIn's daily per-endpoint counters."""
        self._calls.clear()

    # -- HTTP ------------------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        if self._router.resolve(request.method, request.path) is None:
            return _error(404, "No virtual resource found", "RESOURCE_NOT_FOUND")
        refusal = self._check_version(request) or self._check_auth(request)
        refusal = refusal or self._check_permission(request.path)
        if refusal is None and self._over_daily_limit(request.path):
            refusal = _json(429, dict(THROTTLED))
        if refusal is not None:
            return refusal
        try:
            response = self._router.dispatch(request)
        except (ParamError, RestliSyntaxError) as exc:
            return _error(400, str(exc), "ILLEGAL_ARGUMENT")
        assert response is not None  # _app checked the route
        response.headers.setdefault("X-RestLi-Protocol-Version", "2.0.0")
        return response

    def _check_version(self, request: Request) -> Response | None:
        version = (request.header("LinkedIn-Version") or "").strip()
        if not version:
            message = "A version must be present. Please specify a version by adding the "
            response = _error(400, message + "LinkedIn-Version header.", "VERSION_MISSING")
            response.headers["X-Restli-Gateway-Error"] = "true"
            return response
        found = VERSION.match(version)
        if found and found.group(1) in self.active_versions:
            return None
        shown = found.group(1) + "01" if found else version
        return _error(426, f"Requested version {shown} is not active", "NONEXISTENT_VERSION")

    def _check_auth(self, request: Request) -> Response | None:
        scheme, _, token = (request.header("Authorization") or "").strip().partition(" ")
        if not scheme:
            return _error(401, "Empty oauth2_access_token", service=401)
        if scheme.lower() != "bearer":
            return _error(401, "Unknown authentication schema", service=401)
        if token.strip() != self.token:
            return _error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        if self.token_revoked:
            message = "The token used in the request has been revoked by the user"
            return _error(401, message, "REVOKED_ACCESS_TOKEN", 65601)
        if self.token_expired:
            message = "The token used in the request has expired"
            return _error(401, message, "EXPIRED_ACCESS_TOKEN", 65602)
        return None

    def _check_permission(self, path: str) -> Response | None:
        resource = next((p for p in reversed(path.split("/")) if p and not p.isdigit()), "")
        permission, method = PERMISSIONS.get(resource, (None, ""))
        if permission is None or permission in self.permissions:
            return None
        return self._denied(f"{resource}.{method}")

    def _over_daily_limit(self, path: str) -> bool:
        resource = path.split("/")[2] if path.count("/") >= 2 else path
        self._calls[resource] += 1
        return self.daily_limit is not None and self._calls[resource] > self.daily_limit

    def _query(self, request: Request) -> Query:
        protocol2 = (request.header("X-Restli-Protocol-Version") or "").strip() == "2.0.0"
        raw = urlsplit(getattr(self._local, "target", "")).query
        return Query(raw, lenient_urns=not self.strict_restli, protocol2=protocol2)

    # -- paging and projection -------------------------------------------------------------
    def _page(self, request: Request, query: Query, items: list[Any], render: Any) -> Response:
        start, count = query.integer("start", 0), query.integer("count", DEFAULT_COUNT)
        if count > self.max_count and not self.clamp_count:
            raise ParamError("count", f"count must be between 0 and {self.max_count}")
        count = min(count, self.max_count)
        links = []
        if start > 0:
            links.append(self._link(request, query, "prev", max(0, start - count), count))
        if count and start + count < len(items):
            links.append(self._link(request, query, "next", start + count, count))
        paging = {"start": start, "count": count, "links": links, "total": len(items)}
        elements = [render(item) for item in items[start : start + count]]
        return _json(200, {"paging": paging, "elements": elements})

    @staticmethod
    def _link(request: Request, query: Query, rel: str, start: int, count: int) -> dict:
        pairs = [(k, v) for k, v in query.pairs if k not in ("start", "count")]
        pairs += [("start", str(start)), ("count", str(count))]
        href = request.path + "?" + "&".join(f"{quote(k, safe='')}={v}" for k, v in pairs)
        return {"type": "application/json", "rel": rel, "href": href}

    def _project(self, lead: dict[str, Any], fields: dict[str, Any] | None) -> dict[str, Any]:
        if fields is None:
            return lead
        projected = {k: v for k, v in lead.items() if k in fields}
        if "form" in fields:
            form = self.dataset.form_of(lead)
            sub = fields["form"]
            projected["form"] = {k: v for k, v in form.items() if sub is None or k in sub}
        return projected

    @staticmethod
    def _fields(query: Query) -> dict[str, Any] | None:
        raw = query.raw("fields")
        try:
            return parse_fields(raw) if raw else None
        except ValueError as exc:
            raise ParamError("fields") from exc

    # -- lead sync -------------------------------------------------------------------------
    def _owner(self, query: Query) -> tuple[str, str]:
        owner = query.mapping("owner", required=True) or {}
        if len(owner) != 1:
            raise ParamError("owner")
        kind, urn = next(iter(owner.items()))
        if (
            kind not in LEAD_TYPES
            or not isinstance(urn, str)
            or not urn.startswith(f"urn:li:{kind}:")
        ):
            raise ParamError("owner")
        return kind, urn

    def _denied(self, resource: str) -> Response:
        message = f"Not enough permissions to access: {resource}"
        return _error(403, message, "ACCESS_DENIED", 100)

    def _known_owner(self, urn: str) -> bool:
        owners = [a["urn"] for a in self.dataset.accounts] + [self.dataset.organization["urn"]]
        return urn in owners

    def _lead_responses(self, request: Request) -> Response:
        query = self._query(request)
        if query.string("q", required=True) != "owner":
            raise ParamError("q")
        kind, owner_urn = self._owner(query)
        lead_type = (query.mapping("leadType", required=True) or {}).get("leadType")
        if lead_type not in {t for types in LEAD_TYPES.values() for t in types}:
            raise ParamError("leadType")
        if lead_type not in LEAD_TYPES[kind]:
            raise ParamError("leadType", f"Lead type {lead_type} is not supported for {kind} owner")
        window = query.mapping("submittedAtTimeRange") or {}
        bounds = [window.get(edge) for edge in ("start", "end")]
        if set(window) - {"start", "end"} or not all(b is None or str(b).isdigit() for b in bounds):
            raise ParamError("submittedAtTimeRange")
        form_urn = self._form_urn(query)
        test_only, fields = query.boolean("limitedToTestLeads", False), self._fields(query)
        if not self._known_owner(owner_urn):
            return self._denied("leadFormResponses.FINDER-owner")
        found = self.dataset.responses(
            owner_urn, lead_type, test_only=test_only, form_urn=form_urn,
            start_ms=int(bounds[0]) if bounds[0] else None,
            end_ms=int(bounds[1]) if bounds[1] else None,
        )  # fmt: skip
        return self._page(request, query, found, lambda lead: self._project(lead, fields))

    def _form_urn(self, query: Query) -> str | None:
        try:
            urn = query.string("versionedLeadGenFormUrn")
        except ParamError:
            raw = query.raw("versionedLeadGenFormUrn") or ""
            if self.strict_restli or not percent_decode(raw).startswith("urn:li:"):
                raise
            urn = percent_decode(raw)  # lenient: an unencoded URN still means that URN
        if urn is not None and not urn.startswith("urn:li:versionedLeadGenForm:("):
            raise ParamError("versionedLeadGenFormUrn")
        return urn

    def _lead_response(self, request: Request) -> Response:
        lead_id = self._path_key(request)
        lead = next((lead for lead in self.dataset.leads if lead["id"] == lead_id), None)
        if lead is None:
            return _error(404, f"Lead form response {lead_id} does not exist", "NOT_FOUND")
        return _json(200, self._project(lead, self._fields(self._query(request))))

    @staticmethod
    def _path_key(request: Request) -> str:
        raw = request.match.group(1) if request.match else ""
        if any(c in raw for c in "(),:"):
            raise ParamError("id", "Syntax exception in path variables")
        return unquote(raw)

    def _lead_forms(self, request: Request) -> Response:
        query = self._query(request)
        if query.string("q", required=True) != "owner":
            raise ParamError("q")
        _kind, owner_urn = self._owner(query)
        if not self._known_owner(owner_urn):
            return self._denied("leadForms.FINDER-owner")
        forms = [f for f in self.dataset.forms if next(iter(f["owner"].values())) == owner_urn]
        return self._page(request, query, forms, lambda form: form)

    def _lead_form(self, request: Request) -> Response:
        key = self._path_key(request).removeprefix("urn:li:leadGenForm:")
        form = self.dataset.form(int(key)) if key.isdigit() else None
        unreadable = self.unreadable_body(int(key)) if key.isdigit() else None
        if unreadable is not None:
            return _json(*unreadable)
        if form is None:
            return _error(404, f"Lead form {key} does not exist", "NOT_FOUND")
        return _json(200, form)

    # -- ads -------------------------------------------------------------------------------
    def _ad_account(self, request: Request) -> Response:
        """``GET /rest/adAccounts/{id}`` (create-and-manage-accounts): id, name, currency,
        reference, status, type, test."""
        number = request.match.group(1) if request.match else ""
        account = next((a for a in self.dataset.accounts if str(a["id"]) == number), None)
        if account is None:
            return self._denied("adAccounts.GET")
        body = {k: account[k] for k in ("id", "name", "currency", "reference")}
        return _json(200, body | {"status": "ACTIVE", "type": "BUSINESS", "test": False})

    def _campaigns(self, request: Request) -> Response:
        query = self._query(request)
        if query.string("q", required=True) != "search":
            raise ParamError("q")
        account = f"urn:li:sponsoredAccount:{request.match.group(1) if request.match else ''}"
        if not self._known_owner(account):
            return self._denied("adCampaigns.FINDER-search")
        statuses = ((query.mapping("search") or {}).get("status") or {}).get("values")
        hidden = ("urn", "creative", "form")
        elements = [
            {k: v for k, v in c.items() if k not in hidden}
            for c in self.dataset.campaigns
            if c["account"] == account and (not statuses or c["status"] in statuses)
        ]
        return _json(200, {"elements": elements, "metadata": {}})

    def _analytics(self, request: Request) -> Response:
        query = self._query(request)
        if query.string("q", required=True) != "analytics":
            raise ParamError("q")
        pivot = query.string("pivot", required=True)
        granularity = query.string("timeGranularity", required=True)
        if pivot not in PIVOTS or granularity not in GRANULARITIES:
            raise ParamError("pivot" if pivot not in PIVOTS else "timeGranularity")
        window = query.mapping("dateRange", required=True) or {}
        first, last = date_range(window, self.dataset.anchor)
        campaigns, accounts = query.strings("campaigns"), query.strings("accounts")
        if not campaigns and not accounts:
            raise ParamError("campaigns", "At least one facet (campaigns or accounts) is required")
        fields = [f for f in percent_decode(query.raw("fields") or "").split(",") if f]
        if len(fields) > 20:
            raise ParamError("fields", "A maximum of 20 fields can be requested")
        elements = analytics_elements(
            self.dataset, pivot, granularity, (first, last), (campaigns, accounts), fields
        )
        return _json(200, {"paging": {"start": 0, "count": 10, "links": []}, "elements": elements})
