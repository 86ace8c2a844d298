"""A local HubSpot CRM (contacts plus the sales side) that behaves as HubSpot documents it.

Docs used (details in each module):
* https://developers.hubspot.com/docs/api/crm/contacts, https://developers.hubspot.com/docs/api/crm/search
  (list/search/read: ``hubspot_objects``, ``hubspot_search``)
* https://developers.hubspot.com/docs/api/crm/calls, .../emails, .../meetings (engagements)
* https://developers.hubspot.com/docs/api-reference/crm-crm-owners-v3/guide (owners),
  https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/get-properties,
  https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations
  (``hubspot_sales``)
* https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide
  (``hubspot_oauth``)
* https://developers.hubspot.com/docs/api/settings/account-information-api (``GET
  /account-info/v3/details``: ``portalId``, ``accountType``, ``timeZone``,
  ``companyCurrency``, ``additionalCurrencies``, ``utcOffset``, ``utcOffsetMilliseconds``,
  ``uiDomain``, ``dataHostingLocation`` of the account the token belongs to)
* https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines (limits;
  the ``X-HubSpot-RateLimit-Daily*`` headers are "not included in the response to API
  requests authorized using OAuth"), https://developers.hubspot.com/docs/api/error-handling

Endpoints: ``GET /crm/v3/objects/{contacts|calls|emails|meetings}[/{id}]``, ``POST
.../search``, ``GET /crm/v3/owners[/{ownerId}]``, ``GET /crm/v3/properties/{objectType}``,
``POST /crm/v4/associations/{from}/{to}/batch/read``, ``POST
/crm/v3/objects/contacts/batch/read`` (with ``propertiesWithHistory``: ``hubspot_history``),
``GET /account-info/v3/details`` and
``POST /oauth/v1/token``; anything else is a 404. API calls need ``Authorization: Bearer
<token>``: the private-app ``token`` or an access token issued by the token endpoint (valid
``oauth_token_ttl`` seconds). ``granted`` are the token's scopes (default: every scope the endpoints
need); a call without the one it needs gets HubSpot's 403 MISSING_SCOPES (``hubspot_scopes``).
Engagements are generated from the initial contacts on first use (``sales=`` overrides).
Writes (tasks, contacts' batch update, contact properties) are ``engagements.Writes``.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot import history, limits, objects, scopes
from leadflow.sandbox.hubspot import sales as sales_api
from leadflow.sandbox.hubspot.engagements import Writes
from leadflow.sandbox.hubspot.oauth import OAUTH, TOKEN_PATH, OAuthApp, authenticate
from leadflow.sandbox.hubspot.sales_data import SalesData, Touch, hubspot_owners, hubspot_sales_data
from leadflow.sandbox.hubspot.search import SearchError, SearchLimits
from leadflow.sandbox.hubspot.store import ContactStore, ObjectStore
from leadflow.sandbox.server import (
    BadJSONError,
    HostedApp,
    Request,
    Response,
    Router,
    SandboxServer,
    json_response,
)

CONTACTS_PATH = "/crm/v3/objects/contacts"
ACCOUNT_INFO_PATH = "/account-info/v3/details"
LIST_MAX_LIMIT = objects.LIST_MAX_LIMIT
_TYPES = "contacts|calls|emails|meetings"
_DAILY_HEADERS = ("X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining")


class HubSpotSandbox(HostedApp):
    """HubSpot sandbox; ``with HubSpotSandbox() as hs: requests.get(hs.base_url...)``."""

    def __init__(
        self,
        contacts: Iterable[dict[str, Any]] | None = None,
        *,
        token: str = "sandbox-hubspot-token",
        port: int = 0,
        ten_second_limit: int | None = 100,
        search_rate_per_second: float | None = 5,
        daily_limit: int | None = 250_000,
        search_index_lag: float = 0.0,
        search_limits: SearchLimits | None = None,
        clamp_limit: bool = False,
        sales: SalesData | None = None,
        sales_seed: int = 7,
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",
        refresh_token: str = "sandbox-refresh-token",
        oauth_token_ttl: float = 1800,
        association_page_size: int = 500,
        portal_id: int = 24681357,
        granted: frozenset[str] | set[str] = scopes.ALL_SCOPES,
        handed_over: bool = False,
    ) -> None:
        """``handed_over``: the caller never changes ``contacts`` after this, so the sandbox
        keeps them instead of copies. ``contacts`` may be any iterable: a generator's are
        held only as the store holds them (``leadflow.sandbox.hubspot.records``)."""
        self.token = token
        self.scopes = set(granted)
        self.portal_id = portal_id
        self.token_expired = False
        self.rate_limits = limits.RateLimiter(ten_second_limit, search_rate_per_second, daily_limit)
        self.search_limits = search_limits or SearchLimits()
        self.clamp_limit = clamp_limit
        if contacts is None:
            contacts, handed_over = hubspot_contacts(500), True
        given = contacts if isinstance(contacts, list | tuple) else None
        self.store = ContactStore(contacts, index_lag=search_index_lag, handed_over=handed_over)
        self.oauth = OAuthApp(client_id, client_secret, refresh_token, oauth_token_ttl)
        # What the sales data is generated from: a list as given, any other iterable (a
        # generator, whose dicts are then freed as the store takes them) as stored.
        self._initial_contacts: Sequence[dict[str, Any]] = (
            list(given) if given is not None else self.store.objects()
        )
        self.history = history.PropertyHistory(self.store.ids(), sales_seed)
        self._sales_data, self._sales_seed = sales, sales_seed
        self._sales_state: sales_api.SalesState | None = None
        self._sales_lock = threading.Lock()
        self.association_page_size = association_page_size
        self._owners = sales.owners if sales is not None else hubspot_owners()
        self.writes = Writes(self)  # tasks, contact updates, properties (engagements.py)
        self._router = self._routes()
        self.server = SandboxServer(self._app, port=port)

    @classmethod
    def unthrottled(
        cls, contacts: Iterable[dict[str, Any]] | None = None, **kw: Any
    ) -> HubSpotSandbox:
        """A sandbox with every rate limit disabled (fast tests)."""
        kw.update(ten_second_limit=None, search_rate_per_second=None, daily_limit=None)
        return cls(contacts, **kw)

    def _routes(self) -> Router:
        router = Router()
        self.writes.register(router)
        router.add("GET", rf"/crm/v3/objects/(?P<type>{_TYPES})", self._list)
        router.add("POST", r"/crm/v3/objects/contacts/batch/read", self._batch_read)
        router.add("POST", rf"/crm/v3/objects/(?P<type>{_TYPES})/search", self._search)
        router.add("GET", rf"/crm/v3/objects/(?P<type>{_TYPES})/(?P<id>[^/]+)", self._read)
        router.add("GET", r"/crm/v3/owners/?", self._owners_page)
        router.add("GET", r"/crm/v3/owners/(?P<id>[^/]+)", self._owner)
        router.add("GET", r"/crm/v3/properties/(?P<type>[^/]+)", self._properties)
        batch_read = r"/crm/v4/associations/(?P<src>[^/]+)/(?P<dst>[^/]+)/batch/read"
        router.add("POST", batch_read, self._associations)
        router.add("POST", TOKEN_PATH, self.oauth.token_endpoint)
        router.add("GET", ACCOUNT_INFO_PATH, self._account_info)
        return router

    # -- test helpers: contacts ------------------------------------------------------------
    @property
    def contacts(self) -> list[dict[str, Any]]:
        """Copies of every stored contact (including archived ones), by id."""
        return self.store.all()

    def contact_ids(self) -> list[str]:
        """Every stored contact's id (archived ones included), by id: ``contacts`` without
        deep-copying them all."""
        return self.store.ids()

    def upsert_contact(
        self, properties: dict[str, Any], *, modified_at: datetime | None = None
    ) -> dict[str, Any]:
        """Create (no/unknown ``hs_object_id``) or update a contact.

        ``lastmodifieddate``/``updatedAt`` become ``modified_at`` (default: now); returns
        the stored object. A changed ``hs_lead_status`` or ``lifecyclestage`` adds a history
        entry at ``modified_at`` (``hubspot_history``).
        """
        with self.history.lock:
            self.history.prepare(self.store.get(str(properties.get("hs_object_id"))))
            stored = self.store.upsert(properties, modified_at)
            self.history.record(stored)
        return stored

    def archive_contact(self, object_id: str, archived: bool = True) -> None:
        self.store.set_archived(object_id, archived)

    # -- test helpers: sales side ------------------------------------------------------------
    @property
    def owners(self) -> list[dict[str, Any]]:
        """The portal's owners, archived ones included."""
        return copy.deepcopy(self._owners)

    @property
    def sales(self) -> SalesData:
        """Owners, engagements and associations (generated on first use)."""
        return self._sales().data

    def prepare(self) -> float:
        """Generate the sales data now (else the first sales request does, holding a lock)
        and build the search orders of the connectors' incremental reads (modification
        date) for contacts and engagements; returns the seconds taken."""
        began = time.perf_counter()
        state = self._sales()
        for store in (self.store, *state.stores.values()):
            store.warm(store.object_type.modified)
        return time.perf_counter() - began

    def engagements(self, object_type: str) -> list[dict[str, Any]]:
        """Copies of the stored ``calls``, ``emails`` or ``meetings``, by id."""
        return self._sales().stores[object_type].all()

    def touches_for(self, contact_id: str) -> list[Touch]:
        return self.sales.touches_for(contact_id)

    def first_outbound_touch(self, contact_id: str) -> Touch | None:
        return self.sales.first_outbound_touch(contact_id)

    def upsert_engagement(
        self,
        object_type: str,
        properties: dict[str, Any],
        *,
        modified_at: datetime | None = None,
        contact_ids: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Create/update a call, email or meeting (``hs_lastmodifieddate`` = ``modified_at``)."""
        return self._sales().upsert(object_type, properties, modified_at, list(contact_ids))

    # -- test helpers: auth and limits ---------------------------------------------------------
    @property
    def oauth_refresh_count(self) -> int:
        """Successful ``refresh_token`` grants so far."""
        return self.oauth.refresh_count

    def issue_oauth_token(self) -> str:
        """An access token as if the app had just been authorized (not counted as a refresh)."""
        return self.oauth.issue()

    def expire_oauth_tokens(self) -> None:
        """Every issued access token expires now: next calls get 401 EXPIRED_AUTHENTICATION."""
        self.oauth.expire_all()

    def revoke_scope(self, *names: str) -> None:
        """The token no longer carries these scopes (``hubspot_scopes``: what needs which)."""
        self.scopes.difference_update(names)

    def revoke_oauth(self) -> None:
        """Uninstall the app: the refresh token fails with BAD_REFRESH_TOKEN from now on."""
        self.oauth.revoke()

    def push_rate_limit(
        self, policy: str = limits.TEN_SECONDLY, *, times: int = 1, path: str | None = None
    ) -> None:
        """Make the next ``times`` (matching) requests fail with HubSpot's 429 for ``policy``."""
        body = limits.rate_limit_body(policy)
        headers = {"X-HubSpot-Correlation-Id": body["correlationId"]}
        if policy != limits.SECONDLY:
            headers.update(self.rate_limits.headers())
            remaining = "X-HubSpot-RateLimit-Daily-Remaining" if policy == limits.DAILY else None
            headers[remaining or "X-HubSpot-RateLimit-Remaining"] = "0"
        self.faults.push(429, body, headers, times=times, path=path)

    # -- HTTP ----------------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        if self._router.resolve(request.method, request.path) is None:
            message = f"Unable to route {request.method} {request.path}"
            body = limits.error_body("OBJECT_NOT_FOUND", message)
            return _with_correlation(json_response(404, body))
        if request.path == TOKEN_PATH:
            return _with_correlation(self._dispatch(request))
        auth = authenticate(
            request.header("Authorization"), self.token, self.token_expired, self.oauth
        )
        if isinstance(auth, Response):
            return _with_correlation(auth)
        needed = scopes.required_scope(request.path)
        if needed is not None and needed not in self.scopes:
            return _with_correlation(json_response(403, scopes.missing_scopes_body(needed)))
        search = request.path.endswith("/search")
        policy = self.rate_limits.admit(search)
        if policy is not None:
            response = json_response(429, limits.rate_limit_body(policy))
        else:
            response = self._dispatch(request)
        if not search:
            headers = self.rate_limits.headers()
            if auth == OAUTH:
                headers = {k: v for k, v in headers.items() if k not in _DAILY_HEADERS}
            response.headers.update(headers)
        return _with_correlation(response)

    def _dispatch(self, request: Request) -> Response:
        try:
            response = self._router.dispatch(request)
        except BadJSONError as exc:
            message = f"Invalid input JSON on line {exc.line}, column {exc.column}: {exc}"
            return json_response(400, limits.error_body("VALIDATION_ERROR", message))
        except SearchError as exc:
            return json_response(400, limits.error_body("VALIDATION_ERROR", str(exc)))
        assert response is not None  # _app checked the route
        return response

    def _sales(self) -> sales_api.SalesState:
        with self._sales_lock:
            if self._sales_state is None:
                generated = self._sales_data is None
                data = self._sales_data or hubspot_sales_data(
                    self._initial_contacts, seed=self._sales_seed
                )
                self._sales_state = sales_api.SalesState(
                    data,
                    index_lag=self.store.index_lag,
                    page_size=self.association_page_size,
                    handed_over=generated,  # nobody else holds what was generated here
                )
            return self._sales_state

    def _store(self, request: Request) -> ObjectStore:
        assert request.match is not None
        name = request.match["type"]
        return self.store if name == "contacts" else self._sales().stores[name]

    def _paging(self) -> objects.Paging:
        return objects.Paging(self.base_url, self.search_limits, self.clamp_limit)

    def _list(self, request: Request) -> Response:
        return objects.list_objects(self._store(request), request, self._paging())

    def _search(self, request: Request) -> Response:
        return objects.search_objects(self._store(request), request, self._paging())

    def _read(self, request: Request) -> Response:
        assert request.match is not None
        return objects.read_object(self._store(request), request, request.match["id"])

    def _batch_read(self, request: Request) -> Response:
        return history.batch_read(self.store, self.history, request)

    def _owners_page(self, request: Request) -> Response:
        return sales_api.list_owners(self._owners, request, self._paging())

    def _owner(self, request: Request) -> Response:
        assert request.match is not None
        return sales_api.read_owner(self._owners, request, request.match["id"])

    def _properties(self, request: Request) -> Response:
        assert request.match is not None
        return sales_api.list_properties(self._owners, request.match["type"])

    def _account_info(self, request: Request) -> Response:
        """The account the token belongs to (a standard account in New York, in USD)."""
        return json_response(200, account_details(self.portal_id))

    def _associations(self, request: Request) -> Response:
        assert request.match is not None
        match = request.match
        return self._sales().batch_read(request, match["src"], match["dst"])


def account_details(portal_id: int, zone: str = "US/Eastern") -> dict[str, Any]:
    """``GET /account-info/v3/details`` as the docs show it (the zone's offset now)."""
    offset = datetime.now(ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
    return {
        "portalId": portal_id,
        "accountType": "STANDARD",
        "timeZone": zone,
        "companyCurrency": "USD",
        "additionalCurrencies": [],
        "utcOffset": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
        "utcOffsetMilliseconds": int(offset.total_seconds() * 1000),
        "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1",
    }


def _with_correlation(response: Response) -> Response:
    body = response.body if isinstance(response.body, dict) else {}
    correlation = body.get("correlationId") or limits.correlation_id()
    response.headers["X-HubSpot-Correlation-Id"] = correlation
    return response
