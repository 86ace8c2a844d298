"""A local Salesforce org that behaves as Salesforce documents it: OAuth 2.0 (JWT bearer and
refresh token), the REST API's query/queryAll/limits/sObject resources and Bulk API 2.0 query
jobs, over seeded Leads, Contacts, Tasks, Events, Users, UserRoles, LeadHistory, Campaigns and
CampaignMembers.

Docs used (details in each module):
* https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/ (resources_query,
  resources_queryall, headers_queryoptions, headers_api_usage, resources_limits,
  dome_sobject_create, errorcodes, resources_versions): ``query_api``, ``limits``, ``sobjects``
* https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/ (query_create_job,
  query_get_one_job, query_get_job_results, query_abort_job, query_delete_job): ``bulk``
* https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm and
  .../sf.remoteaccess_oauth_refresh_token_flow.htm: ``oauth``
* https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/: ``soql``,
  ``evaluate``

Paths: ``/services/data/vXX.X/...`` for any version up to ``api_version`` (a later one is a
404, as an org on an older release answers); ``GET /services/data`` lists the versions. Every
API call needs ``Authorization: Bearer <session>``, counts against the daily allocation
(``daily_limit``) and answers ``Sforce-Limit-Info``. Test helpers: ``store`` (add, update,
delete, convert records), ``expire_sessions``, ``issue_token``, ``writes``, ``fail_job``,
``push_request_limit``, ``push_error``; faults and the request log as every sandbox has them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadflow.sandbox.salesforce import limits
from leadflow.sandbox.salesforce.bulk import BulkApi
from leadflow.sandbox.salesforce.keys import shared_key_pair
from leadflow.sandbox.salesforce.oauth import TOKEN_PATH, ConnectedApp
from leadflow.sandbox.salesforce.query_api import QueryApi
from leadflow.sandbox.salesforce.seed import seed_org
from leadflow.sandbox.salesforce.sobjects import SObjectApi, Write
from leadflow.sandbox.salesforce.soql import SoqlError
from leadflow.sandbox.salesforce.store import Store
from leadflow.sandbox.salesforce.updates import UpdateApi
from leadflow.sandbox.server import (
    BadJSONError,
    HostedApp,
    Request,
    Response,
    Router,
    SandboxServer,
    json_response,
)

API_VERSION = "62.0"
CLIENT_ID = "3MVG9sandbox.leadflow.connected.app"
CLIENT_SECRET = "sandbox-salesforce-consumer-secret"
V = r"/services/data/(?P<version>v\d+\.\d)"
JOB = V + r"/jobs/query/(?P<job>[0-9A-Za-z]+)"


class SalesforceSandbox(HostedApp):
    """Salesforce sandbox; ``with SalesforceSandbox() as sf: requests.get(sf.base_url + ...)``."""

    def __init__(
        self,
        leads: int = 500,
        *,
        seed: int = 11,
        activities: bool = True,
        port: int = 0,
        api_version: str = API_VERSION,
        daily_limit: int | None = 100_000,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        certificate_pem: str | None = None,
        session_ttl: float = 7200,
        bulk_polls: int = 1,
        bulk_seconds: float | None = None,
        bulk_max_records: int = 50_000,
        leadflow_fields: bool = True,
    ) -> None:
        self.api_version = api_version
        self.org = seed_org(leads, seed=seed, activities=activities)
        self.store = Store(self.org)
        self.usage = limits.ApiUsage(daily_limit)
        users = {user["Username"].lower(): user["Id"] for user in self.org.rows["User"]}
        certificate = certificate_pem or shared_key_pair().certificate_pem
        org_id = self.org.next_id("Organization")
        self.oauth = ConnectedApp(
            client_id, client_secret, certificate, users, org_id, session_ttl=session_ttl
        )
        self.queries = QueryApi(self.store)
        self.bulk = BulkApi(self.store, bulk_polls, bulk_max_records, bulk_seconds)
        self.sobjects = SObjectApi(self.store)
        self.updates = UpdateApi(self.store, leadflow_fields)
        self._router = self._routes()
        self.server = SandboxServer(self._app, port=port)

    @classmethod
    def unthrottled(cls, leads: int = 500, **kw: Any) -> SalesforceSandbox:
        """A sandbox without a daily API allocation (fast tests, benchmarks)."""
        return cls(leads, daily_limit=None, **kw)

    def start(self) -> SalesforceSandbox:
        super().start()
        self.oauth.instance_url = self.base_url
        return self

    @property
    def url(self) -> str:
        """The instance URL (also the ``instance_url`` of every token)."""
        return self.base_url

    @property
    def username(self) -> str:
        """The integration user's username (the ``sub`` of a JWT assertion)."""
        return str(self.org.rows["User"][0]["Username"])

    def _routes(self) -> Router:
        router = Router()
        router.add("POST", TOKEN_PATH, self.oauth.token_endpoint)
        router.add("GET", r"/services/data/?", self._versions)
        router.add("GET", V + r"/limits/?", lambda r: json_response(200, self.usage.body()))
        router.add("GET", V + r"/(?P<resource>query|queryAll)/?", self._query)
        router.add(
            "GET", V + r"/(?P<resource>query|queryAll)/(?P<locator>01g[0-9A-Za-z]+-\d+)", self._more
        )
        router.add("POST", V + r"/jobs/query/?", self._create_job)
        router.add("GET", JOB + r"/?", lambda r: self.bulk.info(_m(r, "version"), _m(r, "job")))
        router.add(
            "PATCH", JOB + r"/?", lambda r: self.bulk.abort(r, _m(r, "version"), _m(r, "job"))
        )
        router.add(
            "DELETE", JOB + r"/?", lambda r: self.bulk.delete(_m(r, "version"), _m(r, "job"))
        )
        router.add(
            "GET",
            JOB + r"/results/?",
            lambda r: self.bulk.results(r, _m(r, "version"), _m(r, "job")),
        )
        router.add("POST", V + r"/sobjects/(?P<object>\w+)/?", self._create)
        router.add(
            "GET",
            V + r"/sobjects/(?P<object>\w+)/describe/?",
            lambda r: self.updates.describe(_m(r, "object")),
        )
        router.add("GET", V + r"/sobjects/(?P<object>\w+)/(?P<id>\w+)/?", self._read)
        router.add(
            "PATCH",
            V + r"/sobjects/(?P<object>\w+)/(?P<id>\w+)/?",
            lambda r: self.updates.update(r, _m(r, "object"), _m(r, "id")),
        )
        router.add("PATCH", V + r"/composite/sobjects/?", self.updates.collection)
        return router

    # -- test helpers ----------------------------------------------------------------------
    def records(self, object_name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Copies of an object's records (Python values: datetimes, dates), by id."""
        return [dict(row) for row in self.store.rows(object_name, include_deleted)]

    def add_record(
        self, object_name: str, fields: dict[str, Any], at: datetime | None = None
    ) -> dict[str, Any]:
        """Create a record; its CreatedDate and SystemModstamp are ``at`` (default now)."""
        return dict(self.store.add(object_name, fields, at))

    def update_record(
        self, object_name: str, record_id: str, fields: dict[str, Any], at: datetime | None = None
    ) -> dict[str, Any]:
        """Change a record, its SystemModstamp bumped to ``at`` (a Lead Status change is
        written to LeadHistory)."""
        return dict(self.store.update(object_name, record_id, fields, at))

    def delete_record(
        self, object_name: str, record_id: str, at: datetime | None = None
    ) -> dict[str, Any]:
        """Delete a record (IsDeleted, SystemModstamp ``at``): only queryAll sees it then."""
        return dict(self.store.delete(object_name, record_id, at))

    def convert_lead(self, lead_id: str, at: datetime | None = None) -> dict[str, Any]:
        """Convert a lead as Salesforce does; returns the new Contact."""
        return dict(self.store.convert_lead(lead_id, at))

    def issue_token(self, user_id: str | None = None) -> str:
        """A session as if a token grant had just succeeded (not counted as a grant)."""
        return self.oauth.issue(user_id)

    def expire_sessions(self) -> None:
        """Every issued access token expires now: next calls get 401 INVALID_SESSION_ID."""
        self.oauth.expire_sessions()

    @property
    def writes(self) -> list[Write]:
        """Records created through the API, in order (what was sent, the new id)."""
        return list(self.sobjects.writes)

    def fail_job(self, job_id: str, message: str = "Query timed out") -> None:
        """A Bulk query job ends Failed (``errorMessage``)."""
        self.bulk.fail(job_id, message)

    def push_request_limit(self, *, times: int = 1, path: str | None = None) -> None:
        """The next ``times`` (matching) calls answer 403 REQUEST_LIMIT_EXCEEDED."""
        response = self.usage.exceeded()
        self.faults.push(403, response.body, response.headers, times=times, path=path)

    def push_error(
        self,
        status: int = 503,
        *,
        times: int = 1,
        path: str | None = None,
        code: str = "SERVER_UNAVAILABLE",
    ) -> None:
        """The next ``times`` (matching) calls answer ``status`` with a Salesforce error body."""
        body = [{"message": f"injected {status}", "errorCode": code}]
        self.faults.push(status, body, self.usage.header(), times=times, path=path)

    # -- HTTP ------------------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        resolved = self._router.resolve(request.method, request.path)
        if resolved is None:
            return limits.not_found()
        if request.path == TOKEN_PATH or resolved[0] == self._versions:
            return self._dispatch(request)
        version = resolved[1]["version"]
        if _newer(version[1:], self.api_version):
            return limits.not_found()
        if self._user(request) is None:
            return limits.invalid_session()
        if not self.usage.admit():
            return self.usage.exceeded()
        response = self._dispatch(request)
        response.headers.update(self.usage.header())
        return response

    def _user(self, request: Request) -> str | None:
        """The user whose live session the request names."""
        return self.oauth.user_of(request.header("Authorization"))

    def _dispatch(self, request: Request) -> Response:
        try:
            response = self._router.dispatch(request)
        except SoqlError as exc:
            return limits.error(400, exc.code, exc.message)
        except BadJSONError:
            return limits.error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
        assert response is not None  # _app resolved the route
        return response

    def _versions(self, request: Request) -> Response:
        major = int(float(self.api_version))
        return json_response(
            200,
            [
                {"label": f"v{v}.0", "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
                for v in range(major - 4, major + 1)
            ],
        )

    def _query(self, request: Request) -> Response:
        return self.queries.query(request, _m(request, "version"), _m(request, "resource"))

    def _more(self, request: Request) -> Response:
        version, resource = _m(request, "version"), _m(request, "resource")
        return self.queries.more(request, version, resource, _m(request, "locator"))

    def _create_job(self, request: Request) -> Response:
        self.usage.bulk_jobs_used += 1
        return self.bulk.create(request, _m(request, "version"), self._user(request) or "")

    def _create(self, request: Request) -> Response:
        return self.sobjects.create(request, _m(request, "object"), self._user(request) or "")

    def _read(self, request: Request) -> Response:
        return self.sobjects.read(_m(request, "version"), _m(request, "object"), _m(request, "id"))


def _m(request: Request, name: str) -> str:
    assert request.match is not None
    return request.match[name]


def _newer(version: str, latest: str) -> bool:
    return tuple(int(p) for p in version.split(".")) > tuple(int(p) for p in latest.split("."))
