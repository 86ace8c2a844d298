"""A small HubSpot client for the sales-side sandbox tests: bearer token, search paging, OAuth."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from leadflow.sandbox.hubspot.app import HubSpotSandbox

TOKEN = "sandbox-hubspot-token"
CLIENT = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}


def at(value: str) -> datetime:
    """A HubSpot timestamp (``...Z``) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Client:
    def __init__(self, sandbox: HubSpotSandbox, token: str = TOKEN) -> None:
        self.base, self.http = sandbox.base_url, requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.base + path, params=params, timeout=10)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.http.post(self.base + path, json=body, timeout=10)

    def search_all(self, object_type: str, **body: Any) -> list[dict[str, Any]]:
        results, after = [], None
        while True:
            page_body = {**body, **({"after": after} if after else {})}
            response = self.post(f"/crm/v3/objects/{object_type}/search", page_body)
            assert response.status_code == 200, response.text
            page = response.json()
            results += page["results"]
            after = page.get("paging", {}).get("next", {}).get("after")
            if after is None:
                return results


def refresh(sandbox: HubSpotSandbox, **form: str) -> requests.Response:
    data = {"grant_type": "refresh_token", **CLIENT, "refresh_token": "sandbox-refresh-token"}
    return requests.post(sandbox.base_url + "/oauth/v1/token", data={**data, **form}, timeout=10)
