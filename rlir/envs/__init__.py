"""The course's Gymnasium environments, registered on import.

* ``rlir/UserSatisfaction-v0``: long-term user satisfaction (clickbait vs satisfaction, RecSim's
  "choc vs kale"), with the exact optimum by dynamic programming (``rlir.envs.user_satisfaction``).
* ``rlir/Ranking-v0``: ranking as an MDP (MDPRank) on a synthetic LTR data set with a known oracle scorer
  (``rlir.envs.ranking``).
* ``rlir/ContextualRecommendation-v0``: a contextual bandit (one-step episodes) with known expected rewards and
  a logging policy with known propensities that writes logs for off-policy learning (``rlir.envs.contextual``).
  The position-based click model on the ranking data lives beside it (``rlir.envs.click_model``).

All episodes end by themselves (``terminated=True``) after a fixed number of steps, so no TimeLimit
wrapper is registered.
"""

import gymnasium

from rlir.envs.contextual import ContextualRecommendationEnv
from rlir.envs.ranking import RankingDataset, RankingEnv, make_ranking_dataset, make_splits
from rlir.envs.user_satisfaction import UserSatisfactionConfig, UserSatisfactionEnv

USER_SATISFACTION_ID = "rlir/UserSatisfaction-v0"
RANKING_ID = "rlir/Ranking-v0"
CONTEXTUAL_RECOMMENDATION_ID = "rlir/ContextualRecommendation-v0"

for _env_id, _entry_point in (
    (USER_SATISFACTION_ID, "rlir.envs.user_satisfaction:UserSatisfactionEnv"),
    (RANKING_ID, "rlir.envs.ranking:RankingEnv"),
    (CONTEXTUAL_RECOMMENDATION_ID, "rlir.envs.contextual:ContextualRecommendationEnv"),
):
    if _env_id not in gymnasium.registry:
        gymnasium.register(id=_env_id, entry_point=_entry_point)

__all__ = [
    "CONTEXTUAL_RECOMMENDATION_ID",
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
