"""One rule for every source's ``base_url``: it is the API host, never the API's path.

``base_url`` is ``scheme://host[:port][/prefix]`` (a prefix for a proxy or a gateway); each
client appends its platform's own path (``/v26.0/...`` on Meta, ``/v24/customers/...`` on
Google Ads, ``/rest/...`` on LinkedIn, ``/3.0/...`` on Mailchimp, ``/crm/v3/...`` on HubSpot).
A ``base_url`` written as the docs print the API root, version path included
(``https://graph.facebook.com/v21.0``, ``https://googleads.googleapis.com/v18``,
``https://api.linkedin.com/rest``, ``https://us21.api.mailchimp.com/3.0``,
``https://api.hubapi.com/crm/v3``), loses that path here, so requests never go to
``/v21.0/v26.0/...``; where the path names a version, that version is returned for the
source's ``api_version`` (``SourceConfig`` refuses it when ``api_version`` says otherwise).
Trailing slashes go too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class BaseUrlError(ValueError):
    """A ``base_url`` the rule cannot read; the message never holds the URL."""


def _same(version: str) -> str:
    return version


@dataclass(frozen=True, slots=True)
class VersionPath:
    """The path a platform's API lives under, right after the host.

    ``pattern`` matches it as whole path segments at the end of a ``base_url``; its group
    ``version``, when it has one, is the API version the path names, written the way the
    ``api_version`` key is by ``canonical`` (Meta's ``v21`` is ``v21.0``).
    """

    pattern: str
    canonical: Callable[[str], str] = _same

    def split(self, path: str) -> tuple[str, str | None]:
        """``path`` without this version path at its end, and the version it named."""
        match = re.search(rf"/(?:{self.pattern})$", path)
        if match is None:
            return path, None
        version = match.groupdict().get("version")
        return path[: match.start()], self.canonical(version) if version else None


def split_base_url(url: str, version_path: VersionPath | None = None) -> tuple[str, str | None]:
    """``url`` as the API host (no version path, no trailing slash) and the API version its
    version path named (None: it had none, or the platform's path names no version)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise BaseUrlError("base_url: not a URL") from None
    if parts.query or parts.fragment:
        raise BaseUrlError(
            "base_url: must be scheme://host[:port][/prefix], without a query or a fragment"
        )
    path, version = parts.path.rstrip("/"), None
    if version_path is not None:
        path, version = version_path.split(path)
        path = path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")), version
