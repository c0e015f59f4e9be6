"""The wire format carries what checks need and refuses anything that could run code when decoded."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from autograder.toolkit import codec


def roundtrip(value):
    return codec.loads(codec.dumps(value))


def test_values_survive_the_round_trip():
    value = {"a": (1, 2.5, None, True), 3: [np.arange(4), np.float32(1.5)], (1, 2): "t"}
    back = roundtrip(value)
    assert back["a"] == (1, 2.5, None, True)
    assert np.array_equal(back[3][0], np.arange(4)) and back[3][0].dtype == np.arange(4).dtype
    assert back[3][1] == np.float32(1.5) and isinstance(back[3][1], np.float32)
    assert back[(1, 2)] == "t"
    assert np.isnan(roundtrip(float("nan"))) and roundtrip(float("-inf")) == float("-inf")


def test_generators_keep_their_state():
    rng = np.random.default_rng(5)
    rng.random()
    copy = roundtrip(rng)
    assert copy.random() == rng.random()


def test_unknown_objects_become_opaque_descriptions():
    class Thing:
        def __repr__(self):
            return "thing!"

    back = roundtrip(Thing())
    assert isinstance(back, codec.Opaque) and back.text == "thing!"
    assert isinstance(roundtrip(np.array([object()], dtype=object)), codec.Opaque)


def test_pickled_arrays_are_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    message = json.dumps({"__nd__": base64.b64encode(buffer.getvalue()).decode()}).encode()
    with pytest.raises(codec.CodecError):
        codec.loads(message)


@pytest.mark.parametrize("message", [b"{", b'{"__nope__": 1}', b'{"__float__": "1e400"}',
                                     b'{"__rng__": ["Evil", {}]}', b"[" * 100000 + b"]" * 100000])
def test_malformed_messages_are_refused(message):
    with pytest.raises(codec.CodecError):
        codec.loads(message)
