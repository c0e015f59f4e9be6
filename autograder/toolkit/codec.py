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
class RefStub:
    """An object that stays in the student's process; the grader can still call it (see ``sandbox.py``)."""

    ref_id: int
    type_name: str
    text: str


_FIXTURE_PREFIXES = ("torch.", "numpy.", "autograder.assignments.fixtures.", "gymnasium.")


@dataclass(frozen=True)
class Fixture:
    """An object the grader wants built in both processes from the same recipe (e.g. a network with known
    weights): ``factory`` is a dotted path under torch, numpy, gymnasium or autograder.assignments.fixtures."""

    factory: str
    args: tuple = ()
    kwargs: dict | None = None
    state_dict: dict | None = None

    def build(self) -> Any:
        import importlib

        if not self.factory.startswith(_FIXTURE_PREFIXES):
            raise CodecError(f"fixture factory {self.factory!r} is not allowed")
        module_name, _, attribute = self.factory.rpartition(".")
        target = importlib.import_module(module_name)
        obj = getattr(target, attribute)(*self.args, **(self.kwargs or {}))
        if self.state_dict is not None:
            obj.load_state_dict(self.state_dict)
        return obj


@dataclass(frozen=True)
class EnvSpecRef:
    """A Gymnasium environment, sent as what ``gymnasium.make`` needs to build it again."""

    env_id: str
    kwargs: dict
    max_episode_steps: int | None


def _encode(value: Any, depth: int, register: Any = None) -> Any:
    if depth > _MAX_DEPTH:
        raise CodecError("value nested too deeply")
    ref_id = _ref_id_of(value)
    if ref_id is not None:
        return {"__ref__": [ref_id]}
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
        return {"__npscalar__": [value.dtype.str, _encode(value.item(), depth + 1, register)]}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {"__namedtuple__": [type(value).__name__, list(value._fields),
                                   [_encode(v, depth + 1, register) for v in value]]}
    if isinstance(value, Fixture):
        return {"__make__": [value.factory, _encode(tuple(value.args), depth + 1, register),
                             _encode(value.kwargs or {}, depth + 1, register),
                             _encode(value.state_dict, depth + 1, register)]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, depth + 1, register) for v in value]}
    if isinstance(value, list):
        return [_encode(v, depth + 1, register) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, depth + 1, register), _encode(v, depth + 1, register)]
                             for k, v in value.items()]}
    if isinstance(value, np.random.Generator):
        return {"__rng__": [type(value.bit_generator).__name__, _encode(value.bit_generator.state, depth + 1)]}
    if isinstance(value, EnvSpecRef):
        return {"__env__": [value.env_id, _encode(value.kwargs, depth + 1), value.max_episode_steps]}
    spec = getattr(value, "spec", None)
    if spec is not None and hasattr(value, "step") and hasattr(value, "reset") and getattr(spec, "id", None):
        return {"__env__": [spec.id, _encode(dict(spec.kwargs), depth + 1), spec.max_episode_steps]}
    torch_value = _encode_torch(value, depth, register)
    if torch_value is not None:
        return torch_value
    if register is not None:
        return {"__ref__": [register(value), type(value).__qualname__, _short_repr(value)]}
    return {"__opaque__": [type(value).__qualname__, _short_repr(value)]}


def _ref_id_of(value: Any) -> int | None:
    """The id of an object that lives in the other process (set on proxies and on tensors that came back)."""
    try:
        ref_id = value.__dict__.get("_rlir_ref_id") if hasattr(value, "__dict__") else None
    except Exception:  # noqa: BLE001 - a student's object may make even __dict__ raise
        return None
    return ref_id if isinstance(ref_id, int) else None


def _encode_torch(value: Any, depth: int, register: Any) -> Any:
    """Tensors travel as arrays with their grad flags (and, from the student's side, a reference to the
    tensor itself so that the grader can call e.g. ``backward`` on it); only if torch is already imported."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return None
    array = value.detach().cpu().numpy()
    ref_id = register(value) if register is not None else None
    return {"__tensor__": [_encode(array, depth + 1), bool(value.requires_grad), value.grad_fn is not None,
                           ref_id]}


def _short_repr(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a student's __repr__ may raise anything
        text = "<unprintable>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _decode(value: Any, depth: int, resolve: Any = None) -> Any:
    if depth > _MAX_DEPTH:
        raise CodecError("message nested too deeply")
    if isinstance(value, list):
        return [_decode(v, depth + 1, resolve) for v in value]
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
        return dtype.type(_decode(payload[1], depth + 1, resolve))
    if tag == "__tuple__":
        return tuple(_decode(v, depth + 1, resolve) for v in payload)
    if tag == "__dict__":
        return {_hashable(_decode(k, depth + 1, resolve)): _decode(v, depth + 1, resolve) for k, v in payload}
    if tag == "__rng__":
        return _make_generator(payload[0], _decode(payload[1], depth + 1, resolve))
    if tag == "__env__":
        return EnvSpecRef(str(payload[0]), _decode(payload[1], depth + 1, resolve), payload[2])
    if tag == "__opaque__":
        return Opaque(str(payload[0]), str(payload[1]))
    if tag == "__tensor__":
        return _decode_tensor(payload, depth)
    if tag == "__namedtuple__":
        import collections

        fields = [str(f) for f in payload[1]]
        if not all(f.isidentifier() and not f.startswith("_") for f in fields) or not str(payload[0]).isidentifier():
            raise CodecError("malformed named tuple")
        cls = collections.namedtuple(str(payload[0]), fields)
        return cls(*[_decode(v, depth + 1, resolve) for v in payload[2]])
    if tag == "__ref__":
        if resolve is not None:
            return resolve(int(payload[0]))
        return RefStub(int(payload[0]), str(payload[1]), str(payload[2]))
    if tag == "__make__":
        if resolve is None:
            raise CodecError("fixtures are built only on the student's side")
        args = _decode(payload[1], depth + 1, resolve)
        kwargs = _decode(payload[2], depth + 1, resolve)
        state = _decode(payload[3], depth + 1, resolve)
        return Fixture(str(payload[0]), tuple(args), dict(kwargs), state).build()
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
    if len(payload) > 3 and payload[3] is not None:
        tensor.__dict__["_rlir_stub"] = RefStub(int(payload[3]), "Tensor", "")
        tensor.__dict__["_rlir_had_grad_fn"] = bool(payload[2])
    return tensor


_BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM, "Philox": np.random.Philox,
                   "SFC64": np.random.SFC64, "MT19937": np.random.MT19937}


def _make_generator(name: str, state: dict) -> np.random.Generator:
    if name not in _BIT_GENERATORS:
        raise CodecError(f"unsupported bit generator {name!r}")
    bit_generator = _BIT_GENERATORS[name]()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def dumps(value: Any, register: Any = None) -> bytes:
    """Encode a value for the wire; ``register`` (student side only) turns objects that cannot travel as
    data into references."""
    return json.dumps(_encode(value, 0, register), allow_nan=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes, resolve: Any = None) -> Any:
    """Decode a message without executing anything it contains (``resolve`` maps reference ids back to
    objects on the student's side; on the grader's side references stay :class:`RefStub`)."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise CodecError(f"message of {len(data)} bytes is larger than allowed")
    try:
        return _decode(json.loads(data.decode("utf-8")), 0, resolve)
    except CodecError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as error:
        raise CodecError(f"malformed message: {error}") from None
