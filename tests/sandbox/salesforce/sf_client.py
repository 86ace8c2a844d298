"""A minimal Salesforce REST client for the sandbox tests: a bearer session, JSON answers."""

from __future__ import annotations

from typing import Any

import requests

from leadflow.sandbox.salesforce.app import SalesforceSandbox

VERSION = "v62.0"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class Client:
    def __init__(self, sf: SalesforceSandbox, token: str | None = None) -> None:
        self.sf, self.http = sf, requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token or sf.issue_token()}"

    def url(self, path: str) -> str:
        return self.sf.url + (
            path if path.startswith("/services") else f"/services/data/{VERSION}{path}"
        )

    def get(
        self, path: str, headers: dict[str, str] | None = None, **params: Any
    ) -> requests.Response:
        return self.http.get(self.url(path), params=params, headers=headers, timeout=10)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.http.post(self.url(path), json=body, timeout=10)

    def query(
        self, soql: str, *, all_rows: bool = False, batch: int | None = None
    ) -> requests.Response:
        headers = {"Sforce-Query-Options": f"batchSize={batch}"} if batch else None
        return self.get("/queryAll" if all_rows else "/query", headers=headers, q=soql)

    def records(
        self, soql: str, *, all_rows: bool = False, batch: int | None = None
    ) -> list[dict[str, Any]]:
        """Every record of a query, following nextRecordsUrl to the end."""
        page = self.query(soql, all_rows=all_rows, batch=batch).json()
        records = list(page["records"])
        while not page["done"]:
            page = self.get(page["nextRecordsUrl"]).json()
            records.extend(page["records"])
        return records


def token_request(sf: SalesforceSandbox, **form: str) -> requests.Response:
    return requests.post(sf.url + "/services/oauth2/token", data=form, timeout=10)
