"""Benchmark: does each learning check of assignments 2-6 separate the bug it targets from a correct solution?

For every learning check, trains the instructor solution and the corpus mutants that target the check (the
``slow`` mutants of ``tests/corpus/<id>.py`` whose ``must_fail`` names it) on the grading seed, with the check's
configuration and budget, and computes the check's own figure with the check module's helpers (greedy returns,
held-out NDCG, probe values), in this process, one thread. Prints, per check and run, the figure, the threshold,
the margin (figure minus threshold, signed so that > 0 passes; the distance to an upper bound where the check
has one, if smaller) and the training CPU seconds. The margins are
stated in each check's docstring. Nothing is asserted.

Usage: nice -n 10 .venv/bin/python benchmarks/learning_margins.py [--only dqn_for_ir.recommender_learns ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")  # the solutions' progress bars would drown the table

from autograder.assignments import actor_critic, dqn, dqn_for_ir, reinforce, reinforce_for_ir  # noqa: E402
from autograder.grading.instructor import load_in_process, solution_sources  # noqa: E402
from tests.helpers import corpus, replace_function  # noqa: E402

PROP = "benchmark"


@dataclass(frozen=True)
class LearningCheck:
    """A learning check: its figure for a trained contract namespace, its threshold, which side passes, and an
    upper bound the figure must not pass either (None: none)."""

    assignment: str
    name: str
    figure: Callable[[dict], float]
    threshold: float
    higher_passes: bool = True
    upper: float | None = None

    def margin(self, figure: float) -> float:
        margin = figure - self.threshold if self.higher_passes else self.threshold - figure
        return margin if self.upper is None else min(margin, self.upper - figure)


def dqn_best_return(ns: dict) -> float:
    _, returns, _ = dqn.run_training(PROP, ns["train_dqn"], dqn.LEARNING_STEPS, dqn.LEARNING_CONFIG,
                                     dqn.GRADING_SEED, 0)
    return float(returns.max())


def recommender_myopic_return(ns: dict) -> float:
    config = {**dqn_for_ir.LEARNING_CONFIG, "gamma": 0.0}
    net, _, text = dqn_for_ir.run_training(PROP, ns["train_recommender_dqn"], dqn_for_ir.MYOPIC_STEPS, config,
                                           dqn_for_ir.GRADING_SEED, 0)
    return float(dqn_for_ir.greedy_returns(PROP, text, net, n_episodes=100).mean())


def recommender_fraction(ns: dict) -> float:
    net, _, text = dqn_for_ir.run_training(PROP, ns["train_recommender_dqn"], dqn_for_ir.LEARNING_STEPS,
                                           dqn_for_ir.LEARNING_CONFIG, dqn_for_ir.GRADING_SEED, 0)
    return float(dqn_for_ir.greedy_returns(PROP, text, net).mean() / dqn_for_ir.DP_OPTIMUM)


def reinforce_cartpole_return(ns: dict) -> float:
    policy, _, text = reinforce.run_training(PROP, ns["train_reinforce"], "CartPole-v1", reinforce.CARTPOLE_STEPS,
                                             reinforce.CARTPOLE_CONFIG, reinforce.GRADING_SEED)
    return float(reinforce.evaluate(PROP, text, policy, "CartPole-v1", reinforce.CARTPOLE_EVAL_EPISODES,
                                    reinforce.most_likely_actions(PROP, text)).mean())


def reinforce_reach_gap(ns: dict) -> float:
    policy, _, text = reinforce.run_training(PROP, ns["train_reinforce"], reinforce.POINT_REACH_ID,
                                             reinforce.REACH_STEPS, reinforce.REACH_CONFIG, reinforce.GRADING_SEED)
    optimum, still = reinforce.reach_reference()
    scores = reinforce.evaluate(PROP, text, policy, reinforce.POINT_REACH_ID, reinforce.REACH_EVAL_EPISODES,
                                reinforce.mean_actions(PROP, text))
    return float((scores.mean() - still) / (optimum - still))


def ranker_ratio(mode: str) -> Callable[[dict], float]:
    episodes, config = ((reinforce_for_ir.LABELS_EPISODES, reinforce_for_ir.LABELS_CONFIG) if mode == "labels"
                        else (reinforce_for_ir.CLICKS_EPISODES, reinforce_for_ir.CLICKS_CONFIG))

    def figure(ns: dict) -> float:
        scorer, _, text = reinforce_for_ir.run_training(PROP, ns["train_ranker"], mode, episodes, config,
                                                        reinforce_for_ir.GRADING_SEED)
        ndcg, ref = reinforce_for_ir.held_out_ndcg(PROP, text, scorer)
        return ndcg / ref["oracle"]
    return figure


def critic_probe_error(ns: dict) -> float:
    """The larger |V(probe obs) - true value| of the two probe environments (the check allows 0.1)."""
    from autograder.assignments.fixtures.actor_critic import ONE_STEP_ID, PROBE_OBS, TRUNCATED_ID

    errors = []
    for env_id, truth in ((ONE_STEP_ID, 1.0), (TRUNCATED_ID, 2.0)):
        config = {**actor_critic.PROBE_CONFIG, "env_id": env_id}
        _, value_net, _, _ = actor_critic.run_training(PROP, ns["train_a2c"], 4, actor_critic.PROBE_STEPS, config,
                                                       11, 0, env_id)
        with torch.no_grad():
            errors.append(abs(float(value_net(torch.as_tensor(PROBE_OBS[None]))[0]) - truth))
    return max(errors)


def a2c_return(ns: dict) -> float:
    policy, _, _, text = actor_critic.run_training(PROP, ns["train_a2c"], actor_critic.LEARNING_ENVS,
                                                   actor_critic.LEARNING_STEPS, actor_critic.LEARNING_CONFIG,
                                                   actor_critic.GRADING_SEED, 0)
    return float(actor_critic.greedy_returns(PROP, text, policy).mean())


# learns_from_labels / learns_from_clicks also fail a held-out NDCG above the oracle's + 0.02 (test labels used)
RANKER_UPPER = 1 + 0.02 / reinforce_for_ir.reference_scores(reinforce_for_ir.make_splits())["oracle"]

CHECKS = (
    LearningCheck("dqn", "dqn_learns_cartpole", dqn_best_return, dqn.RETURN_THRESHOLD),
    LearningCheck("dqn_for_ir", "myopic_recommender_collapses", recommender_myopic_return,
                  dqn_for_ir.MYOPIC_MAX_RETURN, higher_passes=False),
    LearningCheck("dqn_for_ir", "recommender_learns", recommender_fraction, dqn_for_ir.LEARNING_FRACTION),
    LearningCheck("reinforce", "reinforce_cartpole", reinforce_cartpole_return, reinforce.CARTPOLE_THRESHOLD),
    LearningCheck("reinforce", "reinforce_point_reach", reinforce_reach_gap, reinforce.REACH_THRESHOLD),
    LearningCheck("reinforce_for_ir", "learns_from_labels", ranker_ratio("labels"), reinforce_for_ir.LABELS_RATIO,
                  upper=RANKER_UPPER),
    LearningCheck("reinforce_for_ir", "learns_from_clicks", ranker_ratio("clicks"), reinforce_for_ir.CLICKS_RATIO,
                  upper=RANKER_UPPER),
    LearningCheck("actor_critic", "critic_probe_values", critic_probe_error, 0.1, higher_passes=False),
    LearningCheck("actor_critic", "a2c_learns_cartpole", a2c_return, actor_critic.SOLVED_RETURN),
)


def runs(check: LearningCheck) -> list[tuple[str, dict[str, str]]]:
    """("solution", {}) and (mutant name, {function: source}) for every corpus mutant that targets the check."""
    targeted = [(m.name, {m.function: m.source}) for m in corpus(check.assignment).MUTANTS
                if check.name in m.must_fail]
    return [("solution", {}), *targeted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="assignment.check names to run (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'check':44} {'run':42} {'figure':>9} {'threshold':>9} {'margin':>9} {'CPU s':>7}", flush=True)
    for check in CHECKS:
        if args.only and f"{check.assignment}.{check.name}" not in args.only:
            continue
        for label, overrides in runs(check):
            sources = solution_sources(check.assignment)
            for function, source in overrides.items():
                sources = replace_function(sources, function, source)
            namespace = load_in_process(sources)
            torch.set_num_threads(1)
            start = time.process_time()
            try:
                figure = check.figure(namespace)
            except Exception as error:  # noqa: BLE001 - a mutant may crash; that is its figure
                print(f"{check.assignment + '.' + check.name:44} {label:42} raised {type(error).__name__}: "
                      f"{str(error).splitlines()[0][:80]}", flush=True)
                continue
            cpu = time.process_time() - start
            side = ">=" if check.higher_passes else "<="
            print(f"{check.assignment + '.' + check.name:44} {label:42} {figure:9.3f} {side}{check.threshold:7.3f} "
                  f"{check.margin(figure):+9.3f} {cpu:7.1f}", flush=True)


if __name__ == "__main__":
    main()
