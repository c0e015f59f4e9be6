"""Long-term user satisfaction: a sequential recommender MDP with a known optimum.

After RecSim's "choc vs kale" model (Ie et al., 2019). Each recommendable item has a clickbait score
kappa in [0, 1]. Clickbait ("chocolate") pays more engagement now but erodes the user's satisfaction,
which scales all future engagement; wholesome items ("kale") do the opposite. Because the dynamics are
one-dimensional and known, the optimal policy and its value are computed exactly (up to a fine grid)
by backward induction, which gives the course a ground truth to check RL agents against.

Dynamics (t = 0, ..., H-1, hidden user state n_t):

    s_t     = sigmoid(SATISFACTION_SLOPE * n_t)                               satisfaction in (0, 1)
    r_t     = (CLICKBAIT_ENGAGEMENT * kappa + KALE_ENGAGEMENT * (1 - kappa)) * s_t      = (3 + 5 kappa) s_t
    n_{t+1} = clip(MEMORY * n_t - CLICKBAIT_SENSITIVITY * (kappa - 0.5) + eps_t, -STATE_BOUND, STATE_BOUND)
    eps_t   ~ Normal(0, NOISE_STD**2), drawn from the env's seeded ``np_random``

The reward uses the satisfaction *before* the recommendation is consumed (the user's current mood sets
how much they engage). Observation: ``[s_t, t / H]`` (Box(0, 1, (2,), float32)); s is an invertible function
of n, so the problem is fully observed. Action: ``Discrete(N_ITEMS)``, item i has kappa = i / (N_ITEMS - 1).
The session has a fixed length: after H steps ``terminated=True`` (the end of the session is a true terminal
state of the MDP, not a time-limit cut-off, and time is part of the observation), ``truncated`` is never set.

Why these constants: with MEMORY = 0.9 and sensitivity 2, playing kappa forever drives n to 10 - 20 kappa,
so clickbait (kappa > 0.5) drags satisfaction to ~0 within ~20 steps and the greedy (myopic, gamma = 0)
agent, which always plays kappa = 1, earns almost nothing; the best *constant* item is kappa = 0.3, but
the optimal policy does better by alternating: harvest clickbait while satisfaction is high, rebuild with
kale when it is low, and cash in at the end of the session. NOISE_STD = 0.5 makes the user stochastic
(Monte Carlo needed) while a 401-point grid over [-5, 5] resolves it to < 1e-5 relative accuracy.

Reference figures (defaults, exact on the DP grid): optimal 291.67, best constant (kappa = 0.3) 260.55,
uniform random 165.00, myopic 5.79 (maximum conceivable 8 x 60 = 480).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

# ----------------------------------------------------------------------------------------------------------
# CONSTANTS (defaults of UserSatisfactionConfig)
# ----------------------------------------------------------------------------------------------------------
HORIZON = 60  # steps per session
N_ITEMS = 11  # catalogue: kappas 0.0, 0.1, ..., 1.0
MEMORY = 0.9  # persistence of the user state
CLICKBAIT_SENSITIVITY = 2.0  # how much (kappa - 0.5) moves the state per step
NOISE_STD = 0.5  # std of the Gaussian state noise
STATE_BOUND = 5.0  # n is clipped to [-STATE_BOUND, STATE_BOUND]
INITIAL_STATE = 0.0  # n_0 (satisfaction 0.5); deterministic, override with reset(options={"user_state": n})
SATISFACTION_SLOPE = 2.0  # s = sigmoid(SATISFACTION_SLOPE * n)
CLICKBAIT_ENGAGEMENT = 8.0  # engagement of a pure clickbait item (kappa = 1) at full satisfaction
KALE_ENGAGEMENT = 3.0  # engagement of a pure kale item (kappa = 0) at full satisfaction
DEFAULT_GRID_SIZE = 401  # DP grid points over [-STATE_BOUND, STATE_BOUND] (spacing 0.025)


@dataclass(frozen=True)
class UserSatisfactionConfig:
    """All parameters of the user model; the defaults are the module CONSTANTS."""

    horizon: int = HORIZON
    n_items: int = N_ITEMS
    memory: float = MEMORY
    clickbait_sensitivity: float = CLICKBAIT_SENSITIVITY
    noise_std: float = NOISE_STD
    state_bound: float = STATE_BOUND
    initial_state: float = INITIAL_STATE
    satisfaction_slope: float = SATISFACTION_SLOPE
    clickbait_engagement: float = CLICKBAIT_ENGAGEMENT
    kale_engagement: float = KALE_ENGAGEMENT

    def __post_init__(self) -> None:
        if self.horizon < 1 or self.n_items < 2:
            raise ValueError(f"need horizon >= 1 and n_items >= 2, got {self.horizon}, {self.n_items}")
        if self.noise_std <= 0 or self.state_bound <= 0:
            raise ValueError("noise_std and state_bound must be > 0")
        if abs(self.initial_state) > self.state_bound:
            raise ValueError(f"initial_state {self.initial_state} outside [-state_bound, state_bound]")

    @property
    def kappas(self) -> np.ndarray:
        """Clickbait score of each item: evenly spaced in [0, 1] (float64, shape (n_items,))."""
        return np.linspace(0.0, 1.0, self.n_items)

    def satisfaction(self, n: np.ndarray | float) -> np.ndarray | float:
        """Satisfaction ``sigmoid(slope * n)`` of user state(s) ``n``."""
        return 1.0 / (1.0 + np.exp(-self.satisfaction_slope * np.asarray(n, dtype=np.float64)))

    def state_from_satisfaction(self, s: np.ndarray | float) -> np.ndarray | float:
        """Invert ``satisfaction``: recover the user state from an observed satisfaction."""
        s = np.clip(np.asarray(s, dtype=np.float64), 1e-12, 1 - 1e-12)
        n = np.log(s / (1.0 - s)) / self.satisfaction_slope
        return np.clip(n, -self.state_bound, self.state_bound)

    def engagement(self, kappa: np.ndarray | float) -> np.ndarray | float:
        """Engagement at full satisfaction of an item with clickbait score ``kappa`` (increasing in kappa)."""
        return self.clickbait_engagement * kappa + self.kale_engagement * (1.0 - kappa)

    def mean_next_state(self, n: np.ndarray | float, kappa: np.ndarray | float) -> np.ndarray | float:
        """Noise-free transition (before clipping): ``memory * n - sensitivity * (kappa - 0.5)``."""
        return self.memory * n - self.clickbait_sensitivity * (kappa - 0.5)


def validate_discrete_action(action: Any, n: int, what: str = "action") -> int:
    """Return ``action`` as a Python int if it is an integer in ``[0, n)``; raise a clear error otherwise.

    Accepts Python ints, NumPy integer scalars and 0-d integer arrays; rejects bools, floats (even
    integral ones such as 3.0) and strings with ``TypeError`` and out-of-range integers with ``ValueError``.
    """
    if isinstance(action, np.ndarray) and action.shape == ():
        action = action[()]
    if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
        raise TypeError(
            f"{what} must be an integer in [0, {n - 1}] (Discrete({n})), got {action!r} of type "
            f"{type(action).__name__}"
        )
    if not 0 <= action < n:
        raise ValueError(f"{what} must be an integer in [0, {n - 1}] (Discrete({n})), got {int(action)}")
    return int(action)


class UserSatisfactionEnv(gym.Env[np.ndarray, np.int64]):
    """Gymnasium env of the clickbait/satisfaction trade-off (see the module docstring for the model).

    Construct with ``UserSatisfactionEnv()`` or ``gymnasium.make("rlir/UserSatisfaction-v0")``; keyword
    overrides of ``UserSatisfactionConfig`` fields (e.g. ``horizon=30``) or a full ``config`` are accepted.
    ``reset(options={"user_state": n})`` starts from a chosen hidden state instead of INITIAL_STATE.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self, config: UserSatisfactionConfig | None = None, render_mode: str | None = None, **overrides: Any
    ) -> None:
        self.config = dataclasses.replace(config or UserSatisfactionConfig(), **overrides)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.kappas = self.config.kappas
        self.observation_space = spaces.Box(low=0.0, high=1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(self.config.n_items)
        self._n: float | None = None
        self._t = 0
        self._last: tuple[int, float] | None = None

    def _obs(self) -> np.ndarray:
        s = self.config.satisfaction(self._n)
        return np.array([s, self._t / self.config.horizon], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new session at t = 0 from INITIAL_STATE (or ``options["user_state"]``)."""
        super().reset(seed=seed)
        n0 = self.config.initial_state
        if options and "user_state" in options:
            n0 = float(options["user_state"])
            if not abs(n0) <= self.config.state_bound:
                raise ValueError(f"options['user_state'] must lie in [-{self.config.state_bound}, "
                                 f"{self.config.state_bound}], got {options['user_state']!r}")
        self._n, self._t, self._last = float(n0), 0, None
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Recommend item ``action``; return (obs, reward, terminated, truncated, info)."""
        if self._n is None or self._t >= self.config.horizon:
            raise gym.error.ResetNeeded("call reset() before step() (the session is over or never started)")
        a = validate_discrete_action(action, self.config.n_items)
        cfg = self.config
        kappa = float(self.kappas[a])
        reward = float(cfg.engagement(kappa) * cfg.satisfaction(self._n))
        noise = float(self.np_random.normal(0.0, cfg.noise_std))
        n_next = cfg.mean_next_state(self._n, kappa) + noise
        self._n = float(min(max(n_next, -cfg.state_bound), cfg.state_bound))
        self._t += 1
        self._last = (a, reward)
        terminated = self._t >= cfg.horizon
        return self._obs(), reward, terminated, False, {"kappa": kappa}

    def render(self) -> str | None:
        """Return a one-line text description of the current step (render_mode "ansi")."""
        if self.render_mode != "ansi":
            return None
        s = float(self.config.satisfaction(self._n)) if self._n is not None else float("nan")
        last = "" if self._last is None else f" last item {self._last[0]} reward {self._last[1]:.3f}"
        return f"t={self._t}/{self.config.horizon} satisfaction={s:.3f}{last}\n"


# ----------------------------------------------------------------------------------------------------------
# Exact reference: dynamic programming on a grid of the user state
# ----------------------------------------------------------------------------------------------------------
def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF via Abramowitz & Stegun 7.1.26 (|error of erf| < 1.5e-7; NumPy has no erf)."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


@dataclass(frozen=True, eq=False)
class GridModel:
    """The user model discretised on a uniform grid of the state n (nearest-grid-point aggregation).

    ``transitions[a, i, j]`` is the probability that the next state falls in the cell of grid point j
    (cells are bounded by midpoints; the outer cells extend to +-inf, which is exactly where clipping sends
    the mass) when item a is played in state ``grid[i]``; ``rewards[i, a]`` is the expected reward.
    """

    config: UserSatisfactionConfig
    grid: np.ndarray  # (G,)
    transitions: np.ndarray  # (A, G, G)
    rewards: np.ndarray  # (G, A)

    def interpolate(self, values: np.ndarray, n: float) -> np.ndarray:
        """Linear interpolation of per-grid-point ``values`` (shape (G,) or (G, A)) at state ``n``."""
        g = self.grid
        x = min(max(float(n), g[0]), g[-1])
        i = min(int(np.searchsorted(g, x, side="right")) - 1, g.size - 2)
        w = (x - g[i]) / (g[i + 1] - g[i])
        return (1.0 - w) * values[i] + w * values[i + 1]


def discretize(config: UserSatisfactionConfig | None = None, grid_size: int = DEFAULT_GRID_SIZE) -> GridModel:
    """Build the gridded model: exact Gaussian cell probabilities of the clipped transition, per item."""
    cfg = config or UserSatisfactionConfig()
    if grid_size < 3:
        raise ValueError(f"grid_size must be >= 3, got {grid_size}")
    grid = np.linspace(-cfg.state_bound, cfg.state_bound, grid_size)
    edges = np.concatenate([[-np.inf], 0.5 * (grid[:-1] + grid[1:]), [np.inf]])
    kappas = cfg.kappas
    transitions = np.empty((kappas.size, grid_size, grid_size))
    for a, kappa in enumerate(kappas):
        mean = cfg.mean_next_state(grid, kappa)  # (G,)
        cdf = _normal_cdf((edges[None, :] - mean[:, None]) / cfg.noise_std)  # (G, G+1)
        p = np.diff(cdf, axis=1)
        transitions[a] = p / p.sum(axis=1, keepdims=True)
    rewards = cfg.satisfaction(grid)[:, None] * cfg.engagement(kappas)[None, :]
    return GridModel(cfg, grid, transitions, rewards)


@dataclass(frozen=True, eq=False)
class DPPolicy:
    """A (time, state) -> item policy obtained by backward induction, usable as ``policy(obs) -> item``.

    ``q_values[t, i, a]`` is the (gamma-discounted) action value at time t and grid state i; ``table[t, i]``
    the greedy item on the grid (ties -> smallest kappa). Off the grid the Q-values are linearly
    interpolated in n. ``expected_return`` is the *undiscounted* expected return of this policy from the
    initial state, exact on the grid, whatever gamma was used for planning.
    """

    model: GridModel
    gamma: float
    q_values: np.ndarray  # (H, G, A)
    table: np.ndarray  # (H, G) int
    expected_return: float

    def act(self, t: int, n: float) -> int:
        """Greedy item at time ``t`` (0 <= t < horizon) in hidden state ``n``."""
        if not 0 <= t < self.q_values.shape[0]:
            raise ValueError(f"t must be in [0, {self.q_values.shape[0] - 1}], got {t}")
        return int(np.argmax(self.model.interpolate(self.q_values[t], n)))

    def __call__(self, obs: np.ndarray) -> int:
        """Act from an environment observation ``[s, t / horizon]``."""
        cfg = self.model.config
        t = int(round(float(obs[1]) * cfg.horizon))
        return self.act(t, float(cfg.state_from_satisfaction(obs[0])))


def evaluate_on_grid(model: GridModel, action_probs: np.ndarray) -> float:
    """Exact (on the grid) undiscounted expected return from the initial state of a Markov policy.

    ``action_probs`` has shape (H, G, A) (probability of each item at each time and grid state) or (A,)
    for a stationary state-independent policy (e.g. uniform random or a constant item).
    """
    cfg = model.config
    probs = np.asarray(action_probs, dtype=np.float64)
    if probs.ndim == 1:
        probs = np.broadcast_to(probs, (cfg.horizon, model.grid.size, probs.size))
    values = np.zeros(model.grid.size)
    for t in reversed(range(cfg.horizon)):
        q = model.rewards + (model.transitions @ values).T  # (G, A)
        values = np.sum(probs[t] * q, axis=1)
    return float(model.interpolate(values, cfg.initial_state))


def planning_policy(
    config: UserSatisfactionConfig | None = None, gamma: float = 1.0, grid_size: int = DEFAULT_GRID_SIZE,
    model: GridModel | None = None,
) -> DPPolicy:
    """Backward induction with discount ``gamma`` over the fixed horizon; gamma = 0 gives the myopic agent.

    The returned policy's ``expected_return`` is its undiscounted return (the quantity the env measures),
    so one can compare planners with different horizons of concern.
    """
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    model = model or discretize(config, grid_size)
    cfg = model.config
    values = np.zeros(model.grid.size)
    q_values = np.empty((cfg.horizon, model.grid.size, cfg.n_items))
    for t in reversed(range(cfg.horizon)):
        q_values[t] = model.rewards + gamma * (model.transitions @ values).T
        values = q_values[t].max(axis=1)
    table = q_values.argmax(axis=2)
    greedy = np.eye(cfg.n_items)[table]  # (H, G, A) one-hot
    return DPPolicy(model, gamma, q_values, table, evaluate_on_grid(model, greedy))


def optimal_value(
    config: UserSatisfactionConfig | None = None, grid_size: int = DEFAULT_GRID_SIZE
) -> tuple[float, DPPolicy]:
    """Reference optimum: (optimal expected return from the initial state, optimal policy).

    Computed by undiscounted backward induction over the fixed horizon on a ``grid_size``-point grid of
    the user state with exactly integrated Gaussian transitions (see ``discretize``).
    """
    policy = planning_policy(config, gamma=1.0, grid_size=grid_size)
    return policy.expected_return, policy


def constant_item_returns(
    config: UserSatisfactionConfig | None = None, grid_size: int = DEFAULT_GRID_SIZE,
    model: GridModel | None = None,
) -> np.ndarray:
    """Exact expected return of playing item a at every step, for every item a (shape (n_items,))."""
    model = model or discretize(config, grid_size)
    eye = np.eye(model.config.n_items)
    return np.array([evaluate_on_grid(model, eye[a]) for a in range(model.config.n_items)])


def baseline_returns(
    config: UserSatisfactionConfig | None = None, grid_size: int = DEFAULT_GRID_SIZE
) -> dict[str, float]:
    """Expected returns of the reference policies, exact on the DP grid (no Monte Carlo error).

    Keys: "optimal" (DP), "best_constant" (best single item played every step), "myopic" (greedy on the
    immediate reward = always the max-kappa item, i.e. a gamma = 0 planner) and "random" (uniform item).
    """
    model = discretize(config, grid_size)
    n_items = model.config.n_items
    constants = constant_item_returns(model=model)
    return {
        "optimal": planning_policy(model=model).expected_return,
        "best_constant": float(constants.max()),
        "myopic": float(constants[n_items - 1]),
        "random": evaluate_on_grid(model, np.full(n_items, 1.0 / n_items)),
    }


def myopic_policy(obs: np.ndarray, n_items: int = N_ITEMS) -> int:
    """Greedy on the immediate reward: the reward increases in kappa, so always the max-kappa item."""
    return n_items - 1


def constant_policy(item: int) -> Callable[[np.ndarray], int]:
    """Policy that recommends ``item`` at every step."""
    return lambda obs: item


def random_policy(n_items: int = N_ITEMS, seed: int | None = None) -> Callable[[np.ndarray], int]:
    """Policy that recommends a uniformly random item, from its own seeded generator."""
    rng = np.random.default_rng(seed)
    return lambda obs: int(rng.integers(n_items))


def evaluate_policy(
    policy: Callable[[np.ndarray], int], n_episodes: int = 1000, seed: int = 0,
    config: UserSatisfactionConfig | None = None,
) -> tuple[float, float]:
    """Monte Carlo estimate of a policy's undiscounted return in the real env: (mean, standard error).

    The env is reset with ``seed`` once and then without seed, so the whole run is reproducible.
    """
    if n_episodes < 2:
        raise ValueError("need n_episodes >= 2 to estimate a standard error")
    env = UserSatisfactionEnv(config)
    returns = np.empty(n_episodes)
    obs, _ = env.reset(seed=seed)
    for episode in range(n_episodes):
        if episode:
            obs, _ = env.reset()
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total += reward
            done = terminated or truncated
        returns[episode] = total
    return float(returns.mean()), float(returns.std(ddof=1) / np.sqrt(n_episodes))
