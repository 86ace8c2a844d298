"""The one page loop: cursor, page token and offset paging, and cursors that do not advance."""

from __future__ import annotations

from typing import Any

import pytest

from leadflow.connectors.errors import TerminalError
from leadflow.connectors.pagination import At, Cursor, Offset, PageToken, paginate


class Replies:
    """Serves scripted replies, recording the params each request was asked with."""

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.asked: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any]) -> Any:
        self.asked.append(params)
        return self.replies.pop(0)


def after(reply: dict[str, Any]) -> str | None:
    return reply.get("next")


def test_a_cursor_is_sent_back_until_a_reply_has_none():
    fetch = Replies({"next": "a"}, {"next": "b"}, {"next": None})
    pages = list(paginate(fetch, Cursor(after), source="s", where="GET /x"))
    assert fetch.asked == [{}, {"after": "a"}, {"after": "b"}]
    assert [(p.number, p.last) for p in pages] == [(1, False), (2, False), (3, True)]
    assert [p.reply["next"] for p in pages] == ["a", "b", None]


def test_an_empty_cursor_ends_the_loop():
    fetch = Replies({"next": ""})
    assert [p.last for p in paginate(fetch, Cursor(after), source="s", where="GET /x")] == [True]


def test_a_page_token_is_sent_as_page_token():
    fetch = Replies({"next": "t1"}, {})
    list(paginate(fetch, PageToken(after), source="s", where="POST /search"))
    assert fetch.asked == [{}, {"pageToken": "t1"}]


@pytest.mark.parametrize(
    "cursors",
    [
        pytest.param(["a", "a"], id="the-last-one-again"),
        pytest.param(["a", "b", "a"], id="an-earlier-one-again"),
    ],
)
def test_a_cursor_already_asked_for_is_refused_naming_source_and_path(cursors):
    fetch = Replies(*({"next": c} for c in [*cursors, None]))
    where = "GET /v26.0/123/leads"
    with pytest.raises(TerminalError, match=r"^meta: GET /v26\.0/123/leads: the paging cursor did not advance"):  # fmt: skip
        list(paginate(fetch, Cursor(after), source="meta", where=where))
    assert len(fetch.asked) == len(cursors)  # the repeated cursor is never asked for


def test_the_refusal_carries_no_cursor_value():
    fetch = Replies({"next": "secret-ish"}, {"next": "secret-ish"})
    with pytest.raises(TerminalError) as caught:
        list(paginate(fetch, PageToken(after), source="google_ads", where="POST /v24/x"))
    assert "secret-ish" not in str(caught.value) and "page token" in str(caught.value)


def test_stopping_the_iteration_stops_the_requests():
    fetch = Replies({"next": "a"}, {"next": "b"}, {"next": None})
    for page in paginate(fetch, Cursor(after), source="s", where="GET /x"):
        if page.number == 2:
            break
    assert len(fetch.asked) == 2


def items(reply: dict[str, Any]) -> list[Any]:
    return reply["items"]


def total(reply: dict[str, Any]) -> int | None:
    return reply.get("total")


def test_offsets_advance_by_what_was_read_up_to_the_total():
    paging = Offset(items, total, param="start", count_param="count", count=3)
    fetch = Replies({"items": [1, 2], "total": 5}, {"items": [3, 4, 5]})  # a short first page
    pages = list(paginate(fetch, paging, source="linkedin", where="GET /rest/x"))
    assert fetch.asked == [{"start": 0, "count": 3}, {"start": 2, "count": 3}]
    assert [p.last for p in pages] == [False, True]  # the total said so, not a short page


def test_offsets_without_a_total_end_on_an_empty_page():
    fetch = Replies({"items": [1]}, {"items": [2]}, {"items": []})
    pages = list(paginate(fetch, Offset(items, total), source="s", where="GET /x"))
    assert [p.last for p in pages] == [False, False, True]
    assert [a["offset"] for a in fetch.asked] == [0, 1, 2]


def test_a_total_said_once_holds_until_another_is_said():
    paging = Offset(items, total)
    assert paging.following(At(0), {"items": [1, 2], "total": 3}) == At(2, 3)
    assert paging.following(At(2, 3), {"items": [3]}) is None


class Stuck:
    """A strategy that keeps asking for the same place: the loop must refuse it."""

    name = "offset"

    def first(self) -> int:
        return 0

    def params(self, position: int) -> dict[str, Any]:
        return {"offset": position}

    def following(self, position: int, reply: Any) -> int:
        return 0

    def key(self, position: int) -> int:
        return position


def test_a_strategy_of_its_own_is_held_to_the_same_rule():
    fetch = Replies({}, {})
    with pytest.raises(TerminalError, match="mailchimp: GET /lists/1/members: the paging offset"):
        list(paginate(fetch, Stuck(), source="mailchimp", where="GET /lists/1/members"))
    assert len(fetch.asked) == 1
