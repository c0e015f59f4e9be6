"""A safe wire format between the grader and the process that runs student code.

Values cross the process boundary as JSON plus NumPy's ``.npy`` bytes, never as pickles: decoding what a
student's process sends must not be able to run code in the grader.
"""

from __future__ import annotations

import base64
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_MESSAGE_BYTES = 256 * 1024 * 1024
_MAX_DEPTH = 64


class CodecError(ValueError):
    """A value could not be encoded, or a message could not be decoded safely."""


@dataclass(frozen=True)
class Opaque:
    """Stands for an object the wire format does not carry (a student's own class, a module, ...)."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


@dataclass(frozen=True)
class EnvSpecRef:
    """A Gymnasium environment, sent as what ``gymnasium.make`` needs to build it again."""

    env_id: str
    kwargs: dict
    max_episode_steps: int | None


def _encode(value: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise CodecError("value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"__float__": repr(value)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            return {"__opaque__": ["ndarray[object]", _short_repr(value)]}
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {"__nd__": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, np.generic):
        return {"__npscalar__": [value.dtype.str, _encode(value.item(), depth + 1)]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_encode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, depth + 1), _encode(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, np.random.Generator):
        return {"__rng__": [type(value.bit_generator).__name__, _encode(value.bit_generator.state, depth + 1)]}
    if isinstance(value, EnvSpecRef):
        return {"__env__": [value.env_id, _encode(value.kwargs, depth + 1), value.max_episode_steps]}
    spec = getattr(value, "spec", None)
    if spec is not None and hasattr(value, "step") and hasattr(value, "reset") and getattr(spec, "id", None):
        return {"__env__": [spec.id, _encode(dict(spec.kwargs), depth + 1), spec.max_episode_steps]}
    torch_value = _encode_torch(value, depth)
    if torch_value is not None:
        return torch_value
    return {"__opaque__": [type(value).__qualname__, _short_repr(value)]}


def _encode_torch(value: Any, depth: int) -> Any:
    """Tensors travel as arrays with their dtype and grad flag; only if torch is already imported."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return None
    array = value.detach().cpu().numpy()
    return {"__tensor__": [_encode(array, depth + 1), bool(value.requires_grad), value.grad_fn is not None]}


def _short_repr(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a student's __repr__ may raise anything
        text = "<unprintable>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _decode(value: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise CodecError("message nested too deeply")
    if isinstance(value, list):
        return [_decode(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise CodecError("malformed message")
    ((tag, payload),) = value.items()
    if tag == "__float__":
        if payload not in ("nan", "inf", "-inf"):
            raise CodecError("malformed float")
        return float(payload)
    if tag == "__nd__":
        raw = base64.b64decode(payload.encode("ascii"), validate=True)
        return np.load(io.BytesIO(raw), allow_pickle=False)
    if tag == "__npscalar__":
        dtype = np.dtype(payload[0])
        if dtype.kind == "O":
            raise CodecError("object scalars are not allowed")
        return dtype.type(_decode(payload[1], depth + 1))
    if tag == "__tuple__":
        return tuple(_decode(v, depth + 1) for v in payload)
    if tag == "__dict__":
        return {_hashable(_decode(k, depth + 1)): _decode(v, depth + 1) for k, v in payload}
    if tag == "__rng__":
        return _make_generator(payload[0], _decode(payload[1], depth + 1))
    if tag == "__env__":
        return EnvSpecRef(str(payload[0]), _decode(payload[1], depth + 1), payload[2])
    if tag == "__opaque__":
        return Opaque(str(payload[0]), str(payload[1]))
    if tag == "__tensor__":
        return _decode_tensor(payload, depth)
    raise CodecError(f"unknown tag {tag!r}")


def _hashable(key: Any) -> Any:
    if isinstance(key, (list, dict, np.ndarray)):
        raise CodecError("unhashable dictionary key")
    return key


def _decode_tensor(payload: list, depth: int) -> Any:
    import torch

    array = _decode(payload[0], depth + 1)
    tensor = torch.from_numpy(np.array(array, copy=True))
    if payload[1] and tensor.is_floating_point():
        tensor.requires_grad_(True)
    return tensor


_BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM, "Philox": np.random.Philox,
                   "SFC64": np.random.SFC64, "MT19937": np.random.MT19937}


def _make_generator(name: str, state: dict) -> np.random.Generator:
    if name not in _BIT_GENERATORS:
        raise CodecError(f"unsupported bit generator {name!r}")
    bit_generator = _BIT_GENERATORS[name]()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def dumps(value: Any) -> bytes:
    """Encode a value for the wire."""
    return json.dumps(_encode(value, 0), allow_nan=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes) -> Any:
    """Decode a message without executing anything it contains."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise CodecError(f"message of {len(data)} bytes is larger than allowed")
    try:
        return _decode(json.loads(data.decode("utf-8")), 0)
    except CodecError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as error:
        raise CodecError(f"malformed message: {error}") from None
