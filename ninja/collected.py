"""What `collect` hands to `judge`: plain data only, and its wire format for `ninja grade`.

Every exercise checks a learner's file in two steps: `collect(path, settings)` runs the learner's
code and returns plain data (dicts with str keys, lists, str, int, float, bool, None, NumPy arrays,
UNREACHED, Opaque); `judge(collected, settings)` compares it with the trusted references. `ninja
check` runs both in one process; `ninja grade` runs collect in a sandboxed child and sends what it
returns as a JSON header and the arrays' raw bytes (`encode`), never pickle; the parent `decode`s.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ninja.engine import UNREACHED
from ninja.results import LearnerError

DTYPES = {
    name: np.dtype(name)
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
                 "complex64", "complex128")
}  # fmt: skip
MAX_HEADER = 2**20  # a header is names, shapes and short messages: a forged 64 MB one is refused unread
TAG = "$"  # a dict with this key is an encoded value; checked names never start with it
IOV_MAX = 1024  # the most buffers one writev takes (Linux)


class BadData(ValueError):
    """Bytes that are not what `encode` writes."""


@dataclass(frozen=True)
class Opaque:
    """A value the learner assigned that is no array of numbers: only its type's name crosses."""

    type_name: str


def plain(value: Any) -> Any:
    """A learner's value as plain data: None, UNREACHED, an array, a dict of those, or Opaque."""
    if value is None or value is UNREACHED:
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    try:
        array = value.detach().cpu() if torch.is_tensor(value) else value
        if torch.is_tensor(array) and array.dtype == torch.bfloat16:
            array = array.float()  # NumPy has no bfloat16
        array = array.numpy() if torch.is_tensor(array) else np.asarray(array)
    except Exception:  # noqa: BLE001 (whatever the learner assigned)
        return Opaque(type(value).__name__[:60])
    if array.dtype.name not in DTYPES:
        return Opaque(type(value).__name__[:60])
    return array


class Other:
    """Stands in, on the judge's side, for an Opaque value: the engine reports its type's name."""


def value_of(data: Any) -> Any:
    """Plain data back into what the engine compares: arrays become tensors."""
    if isinstance(data, np.ndarray):
        return torch.from_numpy(data)
    if isinstance(data, Opaque):
        name = data.type_name if data.type_name.isidentifier() else "object"
        return type(name, (Other,), {})()
    if isinstance(data, dict):
        return {k: value_of(v) for k, v in data.items()}
    return data


def error_data(error: LearnerError | None) -> list | None:
    return None if error is None else [error.kind, error.message, error.path, error.line, error.source]


def error_of(data: Any) -> LearnerError | None:
    if data is None:
        return None
    kind, message, path, line, source = data
    return LearnerError(
        str(kind)[:100], str(message)[:2000], str(path), line if isinstance(line, int) else None,
        None if source is None else str(source)[:500],
    )  # fmt: skip


# ---- the wire format ---------------------------------------------------------------------------


def encode(data: Any) -> bytes:
    """A length-prefixed JSON header, then the raw bytes of every array in it."""
    return b"".join(encoded_parts(data))


def write(fd: int, data: Any) -> None:
    """`encode(data)` written to `fd`, each array from its own memory (a reply of a megabyte is
    not copied three times, nor its fresh pages faulted in, in the child that sends it)."""
    parts = [memoryview(part).cast("B") for part in encoded_parts(data)]
    while parts:
        done = os.writev(fd, parts[:IOV_MAX])
        while parts and done >= parts[0].nbytes:
            done -= parts.pop(0).nbytes
        if parts and done:
            parts[0] = parts[0][done:]


def encoded_parts(data: Any) -> list:
    """encode's bytes in parts: the length and the header, then every array's buffer, back to back."""
    blobs: list[np.ndarray] = []
    offset = [0]

    def walk(value):
        if isinstance(value, np.ndarray):
            raw = np.ascontiguousarray(value)
            blobs.append(raw)
            offset[0] += raw.nbytes
            return {TAG: "array", "dtype": value.dtype.name, "shape": list(value.shape),
                    "offset": offset[0] - raw.nbytes}  # fmt: skip
        if value is UNREACHED:
            return {TAG: "unreached"}
        if isinstance(value, Opaque):
            return {TAG: "opaque", "type": value.type_name}
        if isinstance(value, dict):
            return {str(k): walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        return value

    text = json.dumps(walk(data)).encode()
    return [struct.pack("<Q", len(text)) + text, *(blob for blob in blobs if blob.nbytes)]


def decode(data: bytes) -> Any:
    """What `encode` wrote; BadData for anything else. Arrays are copied out of the buffer."""
    if len(data) < 8:
        raise BadData("no header")
    (length,) = struct.unpack("<Q", data[:8])
    if length > MAX_HEADER or 8 + length > len(data):
        raise BadData("header too long for what was sent")
    try:
        header = json.loads(data[8 : 8 + length])
    except (ValueError, UnicodeDecodeError):
        raise BadData("header is not JSON") from None
    blob = memoryview(data)[8 + length :]
    used = [0]

    def walk(value):
        if isinstance(value, list):
            return [walk(v) for v in value]
        if not isinstance(value, dict):
            return value
        if TAG not in value:
            return {k: walk(v) for k, v in value.items()}
        kind = value[TAG]
        if kind == "unreached":
            return UNREACHED
        if kind == "opaque":
            return Opaque(str(value.get("type", "object"))[:60])
        if kind == "array":
            array = array_of(value, blob)
            used[0] += array.nbytes
            return array
        raise BadData(f"unknown value kind {kind!r}")

    decoded = walk(header)
    if used[0] != len(blob):  # encode writes each array's bytes once, back to back: nothing more
        raise BadData("bytes beyond the arrays the header names")
    return decoded


def array_of(spec: dict, blob: memoryview) -> np.ndarray:
    shape, offset, dtype = spec.get("shape"), spec.get("offset"), DTYPES.get(spec.get("dtype"))
    if (
        dtype is None
        or not isinstance(shape, list)
        or not all(isinstance(d, int) and d >= 0 for d in shape)
        or not isinstance(offset, int)
    ):
        raise BadData("array spec")
    count = math.prod(shape)
    if offset < 0 or offset + count * dtype.itemsize > len(blob):
        raise BadData("array size")
    return np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape).copy()
