"""The course library students import: environments, evaluation, plotting and seeding.

Importing ``rlir`` registers the course's Gymnasium environments (``rlir/UserSatisfaction-v0``,
``rlir/Ranking-v0``, ``rlir/ContextualRecommendation-v0`` and ``rlir/PointReach-v0``). Solutions to
assignments never live here: students write those in their notebooks.
"""

from rlir import envs  # noqa: F401  (registers the environments)

__all__ = ["envs"]
