"""Objects that cannot travel as data (a student's network, a tensor's graph) stay in the worker and are
used through references; fixtures are built from the same recipe on both sides."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from autograder.sandbox import RemoteRef, Sandbox, StudentCodeError  # noqa: E402
from autograder.toolkit.codec import Fixture  # noqa: E402

STUDENT = '''
import collections
import torch
from torch import nn

Batch = collections.namedtuple("Batch", "obs actions")

class QNetwork(nn.Module):
    def __init__(self, obs_dim, n_actions):
        super().__init__()
        self.layer = nn.Linear(obs_dim, n_actions)

    def forward(self, obs):
        return self.layer(obs)

def squared(net, obs):
    return net(obs).pow(2).sum()

def best_values(net, obs):
    with torch.no_grad():
        return net(obs).max(dim=1).values

def batch():
    return Batch(torch.zeros(2, 3), torch.tensor([0, 1]))
'''


@pytest.fixture
def box():
    with Sandbox([("<cell answer_net>", STUDENT)]) as sandbox:
        yield sandbox


def test_a_student_network_is_a_reference_whose_calls_return_tensors(box):
    net = box.function("QNetwork")(3, 2)
    assert isinstance(net, RemoteRef)
    out = net(torch.ones(4, 3))
    assert isinstance(out, torch.Tensor) and out.shape == (4, 2)
    assert out.__dict__["_rlir_had_grad_fn"] is True
    assert set(net.state_dict()) == {"layer.weight", "layer.bias"}


def test_backward_on_a_returned_loss_fills_the_students_gradients(box):
    net = box.function("QNetwork")(3, 2)
    loss = box.function("squared")(net, torch.ones(4, 3))
    assert all(g is None for g in box.remote("grads", net).values())
    loss.__dict__["_rlir_remote"].backward()
    grads = box.remote("grads", net)
    assert grads["layer.weight"].shape == (2, 3) and grads["layer.weight"].abs().sum() > 0


def test_gradient_flags_come_back_with_the_values(box):
    net = box.function("QNetwork")(3, 2)
    values = box.function("best_values")(net, torch.ones(4, 3))
    assert values.__dict__["_rlir_had_grad_fn"] is False and not values.requires_grad


def test_fixtures_are_built_identically_on_both_sides(box):
    recipe = Fixture("torch.nn.Linear", (3, 2), {}, {"weight": torch.arange(6.0).reshape(2, 3),
                                                     "bias": torch.tensor([1.0, -1.0])})
    local = recipe.build()
    obs = torch.randn(5, 3)
    expected = local(obs).max(dim=1).values
    assert torch.allclose(box.function("best_values")(recipe, obs), expected)


def test_disallowed_fixture_factories_are_refused(box):
    with pytest.raises(StudentCodeError, match="not allowed"):
        box.function("best_values")(Fixture("os.system", ("true",)), torch.ones(1, 3))


def test_named_tuples_keep_their_fields(box):
    result = box.function("batch")()
    assert result._fields == ("obs", "actions") and result.actions.tolist() == [0, 1]


def test_framework_helpers_treat_references_and_real_objects_alike(box):
    from autograder.toolkit.framework import gradients, had_grad_fn, remote

    for net, squared in ((box.function("QNetwork")(3, 2), box.function("squared")),
                         (torch.nn.Linear(3, 2), lambda n, o: n(o).pow(2).sum())):
        loss = squared(net, torch.ones(2, 3))
        assert had_grad_fn(loss)
        remote(loss).backward()
        assert all(g is not None for g in gradients(net).values())


def test_len_and_indexing_are_forwarded():
    with Sandbox([("<cell answer_b>", "class Buffer:\n    def __len__(self):\n        return 3\n"
                   "    def __getitem__(self, i):\n        return i * 2\n")]) as box:
        buffer = box.function("Buffer")()
        assert len(buffer) == 3 and buffer[4] == 8
