"""A minimal Graph API client for the Meta sandbox tests, and the shapes its answers take."""

from __future__ import annotations

import re
from typing import Any

import requests

from leadflow.sandbox.meta.app import MetaSandbox

TOKEN = "sandbox-meta-token"
GRAPH_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")
DECIMAL = re.compile(r"^\d+(\.\d{1,2})?$")
AD_FIELDS = ("ad_id", "adset_id", "campaign_id")
ALL_LEAD_FIELDS = (
    "id,created_time,ad_id,adset_id,campaign_id,form_id,is_organic,platform,field_data"
)


class Graph:
    """A minimal client: Bearer token, JSON answers."""

    def __init__(self, meta: MetaSandbox) -> None:
        self.meta, self.http = meta, requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.meta.url(path), params=params, timeout=10)

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of an edge, following ``paging.next`` until it is absent."""
        page, rows = self.ok(path, **params), []
        while True:
            rows += page["data"]
            if "next" not in page.get("paging", {}):
                return rows
            page = self.http.get(page["paging"]["next"], timeout=10).json()


def error_of(response: requests.Response) -> dict[str, Any]:
    return response.json()["error"]
