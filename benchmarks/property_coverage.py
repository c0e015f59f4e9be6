"""Benchmark: how many of each property check's examples exercise the property (assignments 2-6).

A property check draws its examples with hypothesis, derandomized: the same examples every time. Examples can
be degenerate (gamma = 0, a single action, nothing masked, one time step, equal dimensions), and a check whose
examples are mostly degenerate lets the bug it targets through. This script runs each property check of
assignments 2-6 against the instructor solution with the module's ``for_all`` replaced by one that records
the examples (the same strategy, explicit examples and count, the same derandomized stream), classifies every
example by what would hide the targeted bugs, and prints per check: the examples, how many exercise the
property, and how many fall in each degenerate class. Nothing is asserted.

Usage: .venv/bin/python benchmarks/property_coverage.py
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")

from autograder.assignments import actor_critic, dqn, dqn_for_ir, reinforce, reinforce_for_ir  # noqa: E402
from autograder.grading.instructor import load_in_process, solution_sources  # noqa: E402
from autograder.toolkit import framework  # noqa: E402

MODULES = {"dqn": dqn, "dqn_for_ir": dqn_for_ir, "reinforce": reinforce, "reinforce_for_ir": reinforce_for_ir,
           "actor_critic": actor_critic}

# A classifier maps one example to the degenerate classes it falls in; an example in none exercises the
# property. Each class names what it hides; a class marked PARTIAL hides only some of the targeted bugs (the
# example still tests the property) and does not count against it.
PARTIAL = "partial: "
Classifier = Callable[[Any], list[str]]


def _q(seed: int, obs: torch.Tensor) -> np.ndarray:
    return dqn.q_values(dqn.reference_net(3, 4, seed), obs)


def dqn_targets_classes(case) -> list[str]:
    rewards, next_obs, terminated, gamma, seed = case
    d = terminated.numpy()
    return ([c for c, hit in (("gamma=0 (no bootstrap to test)", gamma == 0),
                              ("no terminated row (mask untested)", not d.any()),
                              ("no bootstrapped row", d.all())) if hit])


def double_dqn_classes(case) -> list[str]:
    rewards, next_obs, terminated, gamma, seed = case
    alive = terminated.numpy() == 0
    online, target = _q(seed, next_obs), _q(seed + 1000, next_obs)
    differ = online.argmax(1) != target.argmax(1)
    return [c for c, hit in (("argmax of online and target agree on every bootstrapped row (double = vanilla)",
                              not np.any(differ & alive)),) if hit]


def double_never_exceeds_classes(case) -> list[str]:
    rewards, next_obs, terminated, gamma, seed = case
    alive = terminated.numpy() == 0
    online, target = _q(seed + 7, next_obs), _q(seed, next_obs)
    return [c for c, hit in (("gamma=0 (targets are the rewards)", gamma == 0),
                             ("online max <= target max on every bootstrapped row",
                              not np.any((online.max(1) > target.max(1) + 1e-4) & alive))) if hit]


def td_loss_classes(case) -> list[str]:
    return []  # the errors are fixed offsets on both sides of the Huber kink; weights always drawn


def schedule_classes(case) -> list[str]:
    step, start, end, duration = case
    return ["start == end (constant: neither the slope nor the clamp is tested)"] if start == end else []


def masked_row_classes(case) -> list[str]:
    q, mask = case
    valid = np.asarray(mask).astype(bool)
    values = q.numpy().astype(float) if isinstance(q, torch.Tensor) else np.asarray(q, float)
    return [c for c, hit in (("nothing masked", valid.all()),
                             ("a single action", len(valid) == 1),
                             (PARTIAL + "no masked action before the best available one (compressed index right)",
                              not np.any(~valid[: int(np.flatnonzero(valid & (values == values[valid].max()))[0])])),
                             (PARTIAL + "best available value > 0 (multiplying by the mask still works)",
                              values[valid].max() > 0)) if hit]


def masked_batch_classes(case) -> list[str]:
    q, mask = case
    valid = mask.numpy().astype(bool)
    values = q.numpy()
    batch, n = values.shape
    return [c for c, hit in (("nothing masked", valid.all()),
                             ("batch == n_actions (max over the wrong axis has the right shape)", batch == n),
                             (PARTIAL + "batch == 1", batch == 1),
                             (PARTIAL + "no row whose available values are all < 0 (multiplying by the mask works)",
                              not np.any(np.where(valid, values, -np.inf).max(1) < 0))) if hit]


def returns_recursion_classes(case) -> list[str]:
    rewards, gamma = case
    return [c for c, hit in (("one step", len(rewards) == 1),
                             ("gamma in {0, 1} (no discounting to get wrong)", gamma in (0.0, 1.0)),
                             ("no nonzero reward after the first step", not any(rewards[1:]))) if hit]


def returns_edge_classes(rewards) -> list[str]:
    return [c for c, hit in (("all rewards 0", not any(rewards)),
                             ("palindrome (forward = backward sums)", list(rewards) == list(rewards)[::-1])) if hit]


def loss_seed_classes(seed) -> list[str]:
    log_probs, _ = reinforce.loss_case(seed)
    return ["one step (mean = sum)"] if len(log_probs) == 1 else []


def loss_gradient_classes(seed) -> list[str]:
    rng = np.random.default_rng(seed)
    obs_dim, n_actions, n = int(rng.integers(1, 5)), int(rng.integers(2, 5)), int(rng.integers(1, 9))
    return [c for c, hit in (("one step (mean = sum, no broadcast)", n == 1),
                             ("obs_dim == n_actions (a transposed weight fits)", obs_dim == n_actions)) if hit]


def pl_normalised_classes(case) -> list[str]:
    scores, k = case
    return [c for c, hit in (("k = 1 (softmax over all documents is right)", k == 1),
                             (PARTIAL + "all scores tied", len(set(scores)) == 1)) if hit]


def pl_terms_classes(case) -> list[str]:
    scores, ranking = case
    return [c for c, hit in (("k = 1 (softmax over all documents is right)", len(ranking) == 1),
                             (PARTIAL + "all scores tied", len(set(scores)) == 1)) if hit]


def position_returns_classes(case) -> list[str]:
    rewards, gamma = case
    return [c for c, hit in (("one position", len(rewards) == 1),
                             ("no nonzero reward after the first position", not any(rewards[1:])),
                             ("gamma 0 or 1 (discounting from the start = from t)", gamma in (None, 0.0, 1.0))) if hit]


def ranking_loss_classes(case) -> list[str]:
    scores, ranking, returns, baseline = case
    return [c for c, hit in (("k = 1 (sum = mean, one position)", len(ranking) == 1),
                             (PARTIAL + "baseline None or 0", baseline is None or not np.any(baseline)),
                             (PARTIAL + "all returns equal", len(set(returns)) == 1)) if hit]


def baseline_classes(case) -> list[str]:
    logits, q, baseline = case
    return [c for c, hit in (("baseline 0", baseline == 0),
                             ("Q constant (true gradient 0)", len(set(q)) == 1),
                             (PARTIAL + "baseline <= min Q (min(b, Q) = b)", baseline <= q.min())) if hit]


def mdp_classes(case) -> list[str]:
    P, pi, gamma = case
    n_states, n_actions = pi.shape
    terminal = any(term for s in P for a in P[s] for *_, term in P[s][a])
    return [c for c, hit in (("one action (A = 0 whatever the code)", n_actions == 1),
                             ("gamma = 0 (no bootstrap)", gamma == 0.0),
                             ("no terminal outcome", not terminal),
                             (PARTIAL + "n_states == n_actions", n_states == n_actions)) if hit]


def rollout_classes(case) -> list[str]:
    rewards, values, last_values, terminated, truncated, gamma, lam = case
    steps = rewards.shape[0]
    inner = slice(0, steps - 1)
    return [c for c, hit in (("one step", steps == 1),
                             ("no terminated step", not terminated.any()),
                             ("no truncated step", not truncated.any()),
                             ("no episode end before the last step (recursion cut untested)",
                              not (terminated[inner].any() or truncated[inner].any()))) if hit]


def loss_batch_classes(case) -> list[str]:
    log_probs, advantages, entropy, coef = case
    return [c for c, hit in (("one sample (mean = sum)", len(log_probs) == 1),
                             ("entropy_coef 0 or entropy 0 (bonus untested)", coef == 0 or not entropy.any()),
                             ("log_probs * advantages all 0", not np.any(log_probs * advantages))) if hit]


def q_loss_classes(case) -> list[str]:
    log_probs, q_values, *_ = case
    return [c for c, hit in (("one sample (mean = sum)", len(log_probs) == 1),
                             ("log_probs * q_values all 0", not np.any(log_probs * q_values))) if hit]


def critic_batch_classes(case) -> list[str]:
    log_probs, advantages, *_ = case  # the check uses values = advantages, targets = 3 * log_probs
    return [c for c, hit in (("one sample (mean = sum)", len(log_probs) == 1),
                             ("values == targets", np.array_equal(advantages, 3 * log_probs)),
                             ("all |error| <= 1 (squared vs absolute)", np.all(np.abs(advantages - 3 * log_probs) <= 1))
                             ) if hit]


CLASSIFIERS: dict[tuple[str, str], tuple[str, Classifier]] = {
    ("dqn", "dqn_targets"): ("dqn_targets", dqn_targets_classes),
    ("dqn", "double_dqn_targets"): ("double_dqn_targets", double_dqn_classes),
    ("dqn", "double_dqn_never_exceeds_dqn"): ("double_dqn_targets", double_never_exceeds_classes),
    ("dqn", "td_loss"): ("td_loss", td_loss_classes),
    ("dqn", "linear_schedule"): ("linear_schedule", schedule_classes),
    ("dqn_for_ir", "masked_argmax_never_masked"): ("masked_argmax", masked_row_classes),
    ("dqn_for_ir", "masked_max_ignores_masked"): ("masked_max", masked_batch_classes),
    ("reinforce", "returns_recursion"): ("discounted_returns", returns_recursion_classes),
    ("reinforce", "returns_gamma_edge_cases"): ("discounted_returns", returns_edge_classes),
    ("reinforce", "reinforce_loss_value"): ("reinforce_loss", loss_seed_classes),
    ("reinforce", "reinforce_loss_gradient"): ("CategoricalPolicy reinforce_loss", loss_gradient_classes),
    ("reinforce_for_ir", "plackett_luce_normalised"): ("plackett_luce_log_prob", pl_normalised_classes),
    ("reinforce_for_ir", "plackett_luce_log_softmax_terms"): ("plackett_luce_log_prob", pl_terms_classes),
    ("reinforce_for_ir", "position_returns"): ("position_returns", position_returns_classes),
    ("reinforce_for_ir", "reinforce_loss_value"): ("ranking_reinforce_loss", ranking_loss_classes),
    ("actor_critic", "baseline_unbiased"): ("q_actor_critic_loss mc_advantages actor_loss", baseline_classes),
    ("actor_critic", "mdp_advantages"): ("mc_advantages td_advantages", mdp_classes),
    ("actor_critic", "gae_lambda_limits"): ("gae", rollout_classes),
    ("actor_critic", "gae_episode_boundaries"): ("gae", rollout_classes),
    ("actor_critic", "actor_loss_value"): ("actor_loss", loss_batch_classes),
    ("actor_critic", "critic_loss"): ("critic_loss ValueNetwork", critic_batch_classes),
    ("actor_critic", "q_actor_critic_loss"): ("q_actor_critic_loss ValueNetwork", q_loss_classes),
}


def examples_of(module, check_name: str, arguments: list) -> list:
    """The examples the check's property test draws (its explicit examples first), recorded, not tested."""
    recorded: list = []
    real = framework.for_all

    def recording(strategy, prop, **kwargs):
        real(strategy, recorded.append, **kwargs)

    module.for_all = recording
    try:
        function = next(f for f in vars(module).values() if getattr(f, "check_name", None) == check_name)
        function(*arguments)
    finally:
        module.for_all = real
    return recorded


def main() -> None:
    torch.set_num_threads(1)
    print(f"{'check':48} {'examples':>8} {'exercise':>8}  degenerate classes (count)")
    namespaces: dict[str, dict] = {}
    for (assignment, check_name), (arguments, classify) in CLASSIFIERS.items():
        if assignment not in namespaces:
            namespaces[assignment] = load_in_process(solution_sources(assignment))
        ns = namespaces[assignment]
        examples = examples_of(MODULES[assignment], check_name, [ns[name] for name in arguments.split()])
        counts: dict[str, int] = {}
        exercised = 0
        for example in examples:
            classes = classify(example)
            exercised += not [name for name in classes if not name.startswith(PARTIAL)]
            for name in classes:
                counts[name] = counts.get(name, 0) + 1
        detail = "; ".join(f"{name} ({n})" for name, n in counts.items()) or "-"
        print(f"{assignment + '.' + check_name:48} {len(examples):8d} {exercised:8d}  {detail}", flush=True)


if __name__ == "__main__":
    main()
