"""A LinkedIn Rest.li client for the sandbox tests, with hand-built query strings.

Query strings are built by hand: Rest.li 2.0 needs ``( ) , :`` unencoded, which ``requests``
would percent-encode if the values went through ``params=``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from leadflow.sandbox.linkedin.app import LinkedInSandbox

TOKEN = "sandbox-linkedin-token"
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "LinkedIn-Version": "202611",
    "X-Restli-Protocol-Version": "2.0.0",
}
ACCOUNT_A, ACCOUNT_B = "urn:li:sponsoredAccount:510000101", "urn:li:sponsoredAccount:510000202"
ORG = "urn:li:organization:2414183"
RESPONSES = "/rest/leadFormResponses"


def enc(urn: str) -> str:
    return quote(urn, safe="")


def owner(urn: str) -> str:
    kind = "organization" if ":organization:" in urn else "sponsoredAccount"
    return f"({kind}:{enc(urn)})"


def leads_query(urn: str, lead_type: str, **extra: Any) -> str:
    params = {"q": "owner", "owner": owner(urn), "leadType": f"(leadType:{lead_type})", **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


class Client:
    def __init__(self, sandbox: LinkedInSandbox) -> None:
        self.base, self.http = sandbox.base_url, requests.Session()
        self.http.headers.update(HEADERS)

    def get(self, path: str, query: str = "", **headers: str) -> requests.Response:
        url = self.base + path + (f"?{query}" if query else "")
        return self.http.get(url, headers=headers, timeout=10)

    def all_leads(self, urn: str, lead_type: str, count: int = 25, **extra: Any) -> list[dict]:
        elements, start = [], 0
        while True:
            page = self.get(
                RESPONSES, leads_query(urn, lead_type, start=start, count=count, **extra)
            )
            assert page.status_code == 200, page.text
            body = page.json()
            elements += body["elements"]
            if not any(link["rel"] == "next" for link in body["paging"]["links"]):
                assert len(elements) == body["paging"]["total"]
                return elements
            start += count
