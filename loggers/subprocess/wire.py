"""Wire format of the ``subprocess`` backend: application -> writer frames, writer -> application acks.

One unix stream socket per application process; streams are ordered, so an
ack covers everything sent before it.

Application -> writer: a sequence of frames, each
``!II`` header (payload length in bytes, record count) + payload, where the
payload is ``marshal.dumps(items)`` of a list whose items are either

* a record tuple ``(ts_ns: int, level: int, msg, fields: dict)``, or with a fifth
  item ``args: tuple`` (the message is ``msg % args``, formatted by the writer), made of the
  types ``marshal`` takes (exact ``str``/``int``/``float``/``bool``/``None``/
  ``bytes``/``tuple``/``list``/``dict``/``set``...), encoded by the writer; or
* ``bytes``: the record's JSON line, already encoded by the application
  (fallback for a record ``marshal`` refuses: ``datetime``, custom objects,
  subclasses of builtins, nesting too deep), written as is.

End of stream (``shutdown(SHUT_WR)`` or the process's death) is the close
frame: the writer handles every complete frame it received, discards a torn
last frame of a killed sender, sends a final ack and closes its end.

Writer -> application: fixed-size acks ``!6Q`` = (written, dropped, errors,
rotations, other_connections, final), cumulative for this connection; the
writer sends one after every read round that contained a frame, once those
records were handed to the OS. ``written + dropped`` = records finished.

Trust: ``marshal.loads`` is not hardened against crafted input (it can build
code objects or crash the interpreter, though it never runs code), so only
the application's own sockets reach it: a ``socketpair`` inherited by the
writer and a listening socket in a private 0o700 directory whose peers must
have the writer's uid (``SO_PEERCRED``). Nobody who can connect could not
already write the log file. Pickle is never used.
"""

from __future__ import annotations

import marshal
import struct
from collections.abc import Sequence
from typing import Any

from .._sink.encoder import JsonLinesEncoder

HEADER = struct.Struct("!II")
ACK = struct.Struct("!6Q")
MARSHAL_VERSION = 4  # not 2: a batch repeats its keys and messages, and 4 writes each interned string once (2 made the sender's CPU per record ~55% higher, docs/hot-path.md)
MAX_PAYLOAD = 0xFFFFFFFF


def pack_batch(batch: Sequence[tuple[int, int, Any, Any]], encoder: JsonLinesEncoder) -> tuple[bytes, int]:
    """Return one frame for ``batch`` and how many of its records were encoded here (fallback).

    Never raises on content: a record ``marshal`` refuses is JSON-encoded by
    ``encoder`` (which the caller uses from one thread only).
    """
    try:
        payload = marshal.dumps(batch, MARSHAL_VERSION)  # type: ignore[arg-type]  # refusals handled below
        fallback = 0
    except Exception:  # unmarshallable value somewhere: decide per record
        items: list[object] = []
        fallback = 0
        for record in batch:
            try:
                marshal.dumps(record, MARSHAL_VERSION)
                items.append(record)
            except Exception:
                items.append(encoder.encode(*record))
                fallback += 1
        payload = marshal.dumps(items, MARSHAL_VERSION)
    if len(payload) > MAX_PAYLOAD:
        raise OverflowError("batch too large for one frame")
    return HEADER.pack(len(payload), len(batch)) + payload, fallback


def unpack_lines(payload: bytes | bytearray, count: int, encoder: JsonLinesEncoder) -> list[bytes]:
    """The JSON lines of one frame's payload. Raises ValueError on a malformed frame."""
    items = marshal.loads(payload)
    if type(items) is not list or len(items) != count:
        raise ValueError("frame does not hold the announced records")
    encode = encoder.encode
    lines = []
    for item in items:
        if type(item) is bytes:
            if not item.endswith(b"\n") or b"\n" in item[:-1]:
                raise ValueError("pre-encoded record is not one line")
            lines.append(item)
        elif type(item) is tuple and 4 <= len(item) <= 5 and type(item[0]) is int and type(item[1]) is int:
            fields = item[3]
            args = item[4] if len(item) == 5 and type(item[4]) is tuple else None  # put_args: ``msg % args``
            lines.append(encode(item[0], item[1], item[2], fields if type(fields) is dict else {}, args))
        else:
            raise ValueError("frame holds something that is not a record")
    return lines
