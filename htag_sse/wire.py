"""The wire format as pure functions: interaction payloads, answers, SSE frames and poll answers.

Nothing here does I/O; see ``docs/protocol.md`` for the protocol these encode.
"""

from __future__ import annotations

import json
import keyword
from dataclasses import dataclass, field
from typing import Any

import orjson
from sse_starlette.event import ServerSentEvent

from .errors import RequestError

_SCALARS = (str, int, float, bool, type(None))
MAX_METHOD_CHARS = 200
#: At most this many interactions in one POST (the client sends what queued while one was in flight).
MAX_BATCH = 64
#: Names of DOM event fields are short; a longer one is not from a browser.
MAX_FIELD_NAME = 64


@dataclass(frozen=True, slots=True)
class Interaction:
    """One interaction, in htag's format ``{id, method, args, kargs, event}``.

    ``method`` is ``None`` when the client pulls the next item of a generator.
    """

    id: int
    method: str | None
    args: tuple[Any, ...] = ()
    kargs: dict[str, Any] = field(default_factory=dict)
    event: dict[str, Any] = field(default_factory=dict)


#: One item of a POST: an interaction to run, or the refusal that takes its place (it still uses its number).
Item = Interaction | RequestError


def _bad(message: str) -> RequestError:
    return RequestError(400, "bad_interaction", message)


def parse_items(body: bytes, max_fields: int) -> tuple[list[Item], bool]:
    """A POST body: one interaction, or a JSON array of them (a batch). Returns the items and
    whether it was a batch. A bad item (or an undecodable body) becomes its refusal."""
    try:
        data = orjson.loads(body)
    except (ValueError, RecursionError) as e:
        return [_bad(f"body is not valid JSON: {str(e)[:80]}")], False
    return items_from(data, max_fields)


def items_from(data: Any, max_fields: int) -> tuple[list[Item], bool]:
    if not isinstance(data, list):
        return [_item(data, max_fields)], False
    if not 0 < len(data) <= MAX_BATCH:
        return [_bad(f"a batch holds 1 to {MAX_BATCH} interactions")], False
    return [_item(d, max_fields) for d in data], True


def _item(data: Any, max_fields: int) -> Item:
    try:
        return interaction_from(data, max_fields)
    except RequestError as e:
        return e


def interaction_from(data: Any, max_fields: int = 128) -> Interaction:
    """Validate a decoded interaction; raise a 400 :class:`RequestError` if bad."""
    if not isinstance(data, dict):
        raise _bad("an interaction is a JSON object {id, method, args, kargs, event}")
    oid = data.get("id")
    if not isinstance(oid, int) or isinstance(oid, bool):
        raise _bad("'id' must be an integer (a tag or generator id)")
    method = data.get("method")
    if method is not None and (not isinstance(method, str) or not 0 < len(method) <= MAX_METHOD_CHARS):
        raise _bad(f"'method' must be a non-empty string of at most {MAX_METHOD_CHARS} characters")
    args = data.get("args") or []
    kargs = data.get("kargs") or {}
    event = data.get("event") or {}
    if not isinstance(args, list):
        raise _bad("'args' must be a list")
    if not isinstance(kargs, dict) or not all(_is_name(k) for k in kargs):
        raise _bad("'kargs' must be an object whose keys are Python identifiers")
    if not isinstance(event, dict):
        raise _bad("'event' must be an object")
    if len(event) > max_fields:  # htag makes a class with a field per key: bounded work per click
        raise _bad(f"'event' has {len(event)} fields, at most {max_fields} are accepted (max_event_fields)")
    return Interaction(oid, method, tuple(args), kargs, clean_event(event))


def clean_event(event: dict[str, Any]) -> dict[str, Any]:
    """Keep the DOM event fields htag can turn into attributes (``ev.value``...).

    htag builds a namedtuple from the keys, so names that cannot be fields are
    dropped; values must be scalars, as htag's ``jevent()`` sends them.
    """
    out: dict[str, Any] = {}
    for k, v in event.items():
        if not isinstance(v, _SCALARS):
            raise _bad(f"event field {k[:40]!r} must be a string, number, boolean or null")
        if len(k) <= MAX_FIELD_NAME and _is_name(k) and not k.startswith("_") and k != "target":
            out[k] = v
    return out


def _is_name(k: object) -> bool:
    return isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k)


#: For what orjson refuses (integers past 64 bits, keys of other types): the standard library's answer.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps_bytes(obj: Any) -> bytes:
    """Compact JSON in UTF-8, by orjson (htag's actions have int keys: JSON makes them strings;
    a float that is not a number is ``null``, which JavaScript's ``JSON.parse`` reads)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return _ENCODER.encode(obj).encode()


def dumps(obj: Any) -> str:
    """:func:`dumps_bytes` as text."""
    return dumps_bytes(obj).decode()


def refusal(e: RequestError) -> dict[str, Any]:
    """A refused item of a batch, in the batch's answer."""
    return {"error": e.code, "message": e.message, "status": e.status}


# ---------------------------------------------------------------- SSE frames (sse-starlette's encoding)

#: A comment line: keeps proxies from closing an idle stream; clients see a live stream.
HEARTBEAT = ServerSentEvent(comment="").encode()


def sse_event(event_id: int, data: str, event: str | None = None) -> bytes:
    """One SSE event. ``data`` is one line of JSON."""
    return ServerSentEvent(data=data, id=str(event_id), event=event).encode()


def sse_hello(last_id: int, retry_ms: int, padding_bytes: int) -> bytes:
    """The first bytes of a stream: reconnection delay, a padding comment (so
    proxies with small buffers flush at once) and a ``hello`` event."""
    pad = ServerSentEvent(comment=" " * padding_bytes).encode() if padding_bytes else b""
    return pad + ServerSentEvent(data="{}", id=str(last_id), event="hello", retry=retry_ms).encode()


def sse_gone(pid: str) -> bytes:
    """The page is gone: the client asks for a rerun."""
    return ServerSentEvent(data=dumps({"page": pid}), id="0", event="gone").encode()


# ---------------------------------------------------------------- long-poll answers


def multi_poll_answer(pages: dict[str, list[tuple[int, str]]], gone: list[str]) -> bytes:
    """A long-poll answer for several pages: ``{"pages": {id: [[n, actions]...]}, "gone": [id...]}``."""
    items = ",".join(
        f"{json.dumps(pid)}:[{','.join(f'[{i},{d}]' for i, d in events)}]" for pid, events in pages.items()
    )
    return f'{{"pages":{{{items}}},"gone":{json.dumps(gone)}}}'.encode()


def poll_answer(events: list[tuple[int, str]], last: int) -> bytes:
    """A long-poll answer: events as ``[id, actions]`` pairs, without re-encoding them."""
    items = ",".join(f"[{i},{data}]" for i, data in events)
    return f'{{"last":{last},"events":[{items}]}}'.encode()
