"""Salesforce record ids and the value formats of the REST and Bulk APIs.

* Ids: 15 case-sensitive characters (a 3-character key prefix naming the object, then the
  record's own part) plus a 3-character case-insensitive suffix, 18 in all; the API returns
  the 18-character form. The suffix encodes, per 5-character chunk, which characters are
  upper case (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm,
  "ID Field Type").
* Key prefixes: 00Q Lead, 003 Contact, 00T Task, 00U Event, 005 User, 00E UserRole,
  701 Campaign, 00v CampaignMember, 017 field history, 750 Bulk job, 01g query locator
  (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_concepts.htm).
* dateTime values in JSON look like ``2013-05-20T20:49:32.000+0000`` (the record example of
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm);
  date values ``YYYY-MM-DD``
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_valid_date_formats.htm).
"""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime

PREFIXES = {
    "Lead": "00Q",
    "Contact": "003",
    "Task": "00T",
    "Event": "00U",
    "User": "005",
    "UserRole": "00E",
    "Campaign": "701",
    "CampaignMember": "00v",
    "LeadHistory": "017",
    "Organization": "00D",
    "BulkJob": "750",
    "QueryLocator": "01g",
}
OBJECT_OF_PREFIX = {prefix: name for name, prefix in PREFIXES.items()}
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"
_ID = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
POD = "5g0"  # the instance and reserved characters after the key prefix


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "".join(reversed(digits))


def to18(id15: str) -> str:
    """The 18-character form of a 15-character id (an 18-character id is returned as is)."""
    if len(id15) == 18:
        return id15
    suffix = ""
    for chunk in range(3):
        bits = sum(
            1 << i for i, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if char.isupper()
        )
        suffix += _SUFFIX[bits]
    return id15 + suffix


def make_id(object_name: str, serial: int) -> str:
    """The 18-character id number ``serial`` of ``object_name``: ids sort as they were made."""
    return to18(PREFIXES[object_name] + POD + _base62(serial, 9))


def is_id(value: str) -> bool:
    """Whether ``value`` is shaped like a 15- or 18-character Salesforce id."""
    return bool(_ID.match(value))


def normalize_id(value: str) -> str:
    """An id in its 18-character form (the API accepts either)."""
    return to18(value) if len(value) == 15 else value


def object_of(record_id: str) -> str | None:
    """The object an id belongs to, from its key prefix."""
    return OBJECT_OF_PREFIX.get(record_id[:3])


def sf_datetime(moment: datetime) -> str:
    """A dateTime as the REST API writes it: ``2013-05-20T20:49:32.000+0000``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def csv_datetime(moment: datetime) -> str:
    """A dateTime in a Bulk API 2.0 result: ``2013-05-20T20:49:32.000Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sf_date(day: date) -> str:
    return day.isoformat()


def parse_sf_datetime(text: str) -> datetime:
    """Read a dateTime the API accepts: ``...Z``, ``...+0000`` or ``...+00:00``, with or
    without milliseconds."""
    text = text.strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text).astimezone(UTC)
