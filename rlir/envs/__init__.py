"""The course's Gymnasium environments, registered on import.

* ``rlir/UserSatisfaction-v0``: long-term user satisfaction (clickbait vs satisfaction, RecSim's
  "choc vs kale"), with the exact optimum by dynamic programming (``rlir.envs.user_satisfaction``).
* ``rlir/Ranking-v0``: ranking as an MDP (MDPRank) on a synthetic LTR data set with a known oracle scorer
  (``rlir.envs.ranking``).
* ``rlir/ContextualRecommendation-v0``: a contextual bandit (one-step episodes) with known expected rewards and
  a logging policy with known propensities that writes logs for off-policy learning (``rlir.envs.contextual``).
  The position-based click model on the ranking data lives beside it (``rlir.envs.click_model``).
* ``rlir/PointReach-v0``: a point that must reach a target in the plane (continuous actions, a known optimal
  policy), for Gaussian policies (``rlir.envs.point_reach``).

This module is the course's one place that registers environments (the grader's probe environments register
through :func:`register_once` too). The IR episodes end by themselves (``terminated=True``) after a fixed number
of steps; PointReach has a time limit.
"""

from typing import Any

import gymnasium

from rlir.envs.contextual import ContextualRecommendationEnv
from rlir.envs.point_reach import EPISODE_STEPS, POINT_REACH_ID, PointReachEnv
from rlir.envs.ranking import RankingDataset, RankingEnv, make_ranking_dataset, make_splits
from rlir.envs.user_satisfaction import UserSatisfactionConfig, UserSatisfactionEnv

USER_SATISFACTION_ID = "rlir/UserSatisfaction-v0"
RANKING_ID = "rlir/Ranking-v0"
CONTEXTUAL_RECOMMENDATION_ID = "rlir/ContextualRecommendation-v0"


def register_once(env_id: str, entry_point: Any, **kwargs: Any) -> None:
    """Register ``env_id`` with Gymnasium unless it already is (importing twice, or a reload, is harmless)."""
    if env_id not in gymnasium.registry:
        gymnasium.register(id=env_id, entry_point=entry_point, **kwargs)


register_once(USER_SATISFACTION_ID, "rlir.envs.user_satisfaction:UserSatisfactionEnv")
register_once(RANKING_ID, "rlir.envs.ranking:RankingEnv")
register_once(CONTEXTUAL_RECOMMENDATION_ID, "rlir.envs.contextual:ContextualRecommendationEnv")
register_once(POINT_REACH_ID, "rlir.envs.point_reach:PointReachEnv", max_episode_steps=EPISODE_STEPS)

__all__ = [
    "CONTEXTUAL_RECOMMENDATION_ID",
    "POINT_REACH_ID",
    "PointReachEnv",
    "register_once",
    "ContextualRecommendationEnv",
    "RANKING_ID",
    "USER_SATISFACTION_ID",
    "RankingDataset",
    "RankingEnv",
    "UserSatisfactionConfig",
    "UserSatisfactionEnv",
    "make_ranking_dataset",
    "make_splits",
]
