"""A request refused for its bearer token, sent again once with a new one.

Both OAuth flows that refresh on a 401 (HubSpot's refresh token, Salesforce's JWT or refresh
token) resend the refused request themselves, from their ``requests`` response hook, so the
transport above sees only the second answer."""

from __future__ import annotations

from typing import Any

import requests


def resend_with_token(response: requests.Response, token: str, **kwargs: Any) -> requests.Response:
    """``response``'s request sent again with ``Authorization: Bearer <token>``; the refused
    answer is kept in the new one's ``history``. ``kwargs``: the hook's send arguments."""
    response.content  # noqa: B018 - read the body so the connection can be reused
    response.close()
    again = response.request.copy()
    again.headers["Authorization"] = f"Bearer {token}"
    # The adapter's send runs no response hooks: this resend is the only one.
    retried = response.connection.send(again, **kwargs)
    retried.history.append(response)
    retried.request = again
    return retried
