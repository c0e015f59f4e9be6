"""Realistic student mistakes (mutants) and differently written correct solutions for assignment 1.

A mutant replaces one answer cell of the instructor solution by a buggy version and names the graded cells
(checks) that must lose their points. An alternative replaces several answer cells by a correct solution
written another way; it must keep full marks.
"""

from tests.corpus import EndToEnd, Mutant, Submission, mutant

ASSIGNMENT = "tabular_q_learning"

# The least this corpus holds (it only grows): mutants that run by default, alternatives.
FLOOR = (10, 2)

MUTANTS = [
    mutant(ASSIGNMENT, "update_bootstraps_from_terminal", "q_learning_update",
           ("if terminated else reward ",
            ""),
           ("update_terminal_vs_truncated", "update_moves_toward_target")),
    mutant(ASSIGNMENT, "update_max_over_wrong_axis", "q_learning_update",
           ('''    target = reward if terminated else reward + gamma * np.max(q_table[next_state])
''',
            '''    best_next = np.max(q_table, axis=0)[next_state % q_table.shape[1]]
    target = reward if terminated else reward + gamma * best_next
'''),
           ("update_moves_toward_target", "update_terminal_vs_truncated")),
    mutant(ASSIGNMENT, "update_sign_error", "q_learning_update",
           ("target - q_table[state, action]",
            "q_table[state, action] - target"),
           ("update_moves_toward_target", "update_alpha_edge_cases")),
    mutant(ASSIGNMENT, "update_not_in_place", "q_learning_update",
           [("    target = reward if terminated", "    q_table = q_table.copy()\n    target = reward if terminated"),
            ("alpha * (target - q_table[state, action])",
             "alpha * (target - q_table[state, action])\n    return q_table")],
           ("update_moves_toward_target", "update_alpha_edge_cases", "update_terminal_vs_truncated")),
    mutant(ASSIGNMENT, "update_max_of_current_state", "q_learning_update",
           ("target = reward if terminated else reward + gamma * np.max(q_table[next_state])",
            "target = reward if terminated else reward + gamma * np.max(q_table[state])"),
           ("update_fixed_point", "update_moves_toward_target")),
    mutant(ASSIGNMENT, "update_discounts_the_reward", "q_learning_update",
           ("reward if terminated else reward + gamma * np.max(q_table[next_state]",
            "gamma * reward if terminated else gamma * (reward + np.max(q_table[next_state])"),
           ("update_fixed_point", "update_moves_toward_target")),
    mutant(ASSIGNMENT, "epsilon_greedy_first_maximum", "epsilon_greedy",
           [("    q_values = np.asarray(q_values)\n",
            ""),
            ('''    best = np.flatnonzero(q_values == q_values.max())
    return int(rng.choice(best))
''',
            "    return int(np.argmax(q_values))\n")],
           ("epsilon_greedy_ties", "epsilon_greedy_frequencies")),
    mutant(ASSIGNMENT, "epsilon_greedy_wrong_way_round", "epsilon_greedy",
           ('''        return int(rng.integers(len(q_values)))
    best = np.flatnonzero(q_values == q_values.max())
    return int(rng.choice(best))
''',
            '''        return int(rng.choice(np.flatnonzero(q_values == q_values.max())))
    return int(rng.integers(len(q_values)))
'''),
           ("epsilon_greedy_frequencies", "epsilon_greedy_ties")),
    mutant(ASSIGNMENT, "epsilon_greedy_explores_only_non_greedy", "epsilon_greedy",
           [('''    if rng.random() < epsilon:
        return int(rng.integers(len(q_values)))
''',
            ""),
            ("    best = np.flatnonzero(q_values == q_values.max())\n",
            '''    best = np.flatnonzero(q_values == q_values.max())
    others = np.flatnonzero(q_values != q_values.max())
    if rng.random() < epsilon and len(others) > 0:
        return int(rng.choice(others))
''')],
           ("epsilon_greedy_frequencies",)),
    mutant(ASSIGNMENT, "epsilon_greedy_returns_array", "epsilon_greedy",
           ('''        return int(rng.integers(len(q_values)))
    best = np.flatnonzero(q_values == q_values.max())
    return int(rng.choice(best))
''',
            '''        return rng.integers(len(q_values), size=1)
    return rng.choice(np.flatnonzero(q_values == q_values.max()), size=1)
'''),
           ("epsilon_greedy_frequencies", "epsilon_greedy_ties")),
    mutant(ASSIGNMENT, "greedy_policy_wrong_axis", "greedy_policy",
           ("return np.argmax(q_table, axis=1)",
            "return np.argmax(q_table, axis=0)"),
           ("greedy_policy",)),
    mutant(ASSIGNMENT, "value_iteration_mean_instead_of_max", "value_iteration",
           ('''        for state in range(n_states):
            for action in range(n_actions):
                for prob, next_state, reward, terminated in P[state][action]:
                    Q[state, action] += prob * (reward + (0.0 if terminated else gamma * V[next_state]))
        new_V = Q.max(axis=1)
''',
            '''        for s in range(n_states):
            for a in range(n_actions):
                for prob, s2, r, done in P[s][a]:
                    Q[s, a] += prob * (r + (0.0 if done else gamma * V[s2]))
        new_V = Q.mean(axis=1)
'''),
           ("value_iteration_bellman", "value_iteration_frozenlake")),
    mutant(ASSIGNMENT, "value_iteration_bootstraps_from_terminal", "value_iteration",
           ('''        for state in range(n_states):
            for action in range(n_actions):
                for prob, next_state, reward, terminated in P[state][action]:
                    Q[state, action] += prob * (reward + (0.0 if terminated else gamma * V[next_state]))
''',
            '''        for s in range(n_states):
            for a in range(n_actions):
                for prob, s2, r, done in P[s][a]:
                    Q[s, a] += prob * (r + gamma * V[s2])
'''),
           ("value_iteration_bellman",)),
    mutant(ASSIGNMENT, "value_iteration_fixed_ten_sweeps", "value_iteration",
           [("while True:",
            "for _ in range(10):"),
            ('''        for state in range(n_states):
            for action in range(n_actions):
                for prob, next_state, reward, terminated in P[state][action]:
                    Q[state, action] += prob * (reward + (0.0 if terminated else gamma * V[next_state]))
        new_V = Q.max(axis=1)
        if np.max(np.abs(new_V - V)) < tol:
            return new_V, Q
        V = new_V
''',
            '''        for s in range(n_states):
            for a in range(n_actions):
                for prob, s2, r, done in P[s][a]:
                    Q[s, a] += prob * (r + (0.0 if done else gamma * V[s2]))
        V = Q.max(axis=1)
    return V, Q
''')],
           ("value_iteration_bellman", "value_iteration_frozenlake")),
    mutant(ASSIGNMENT, "shape_reward_punishes_every_zero", "shape_reward",
           ('''    if terminated and reward == 0:
        return -1.0
    return float(reward)
''',
            "    return -1.0 if reward == 0 else float(reward)\n"),
           ("shape_reward",)),
    mutant(ASSIGNMENT, "shape_reward_punishes_time_outs_too", "shape_reward",
           ('''    if terminated and reward == 0:
        return -1.0
    return float(reward)
''',
            '''    return -1.0 if (reward == 0 and not terminated) or (terminated and reward == 0) else float(reward)
'''),
           ("shape_reward",)),
    mutant(ASSIGNMENT, "train_unseeded_generator", "train_q_learning",
           ("np.random.default_rng(seed)", "np.random.default_rng()"), ("train_q_learning_interface",)),
    mutant(ASSIGNMENT, "train_records_discounted_returns", "train_q_learning",
           [("        episode_return = 0.0\n", "        episode_return, t = 0.0, 0\n"),
            ("            episode_return += reward\n",
             "            episode_return += gamma ** t * reward\n            t += 1\n")],
           ("train_q_learning_interface",)),
    mutant(ASSIGNMENT, "train_swaps_alpha_and_gamma", "train_q_learning",
           ("terminated, alpha, gamma)", "terminated, gamma, alpha)"), ("q_learning_learns",)),
    mutant(ASSIGNMENT, "train_forgets_to_move_to_next_state", "train_q_learning",
           ("            state = next_state\n", ""), ("q_learning_learns",)),
    # Gaming: the target frequencies replayed in a fixed cycle (a golden-ratio sequence through the intended
    # distribution), the rng ignored: exact frequencies, but not the rng's choice.
    Mutant("epsilon_greedy_replays_frequencies_in_a_cycle", "epsilon_greedy", '''
import itertools

_draws = itertools.count()


def epsilon_greedy(q_values, epsilon, rng):
    q_values = np.asarray(q_values, dtype=float)
    best = q_values == q_values.max()
    p = epsilon / len(q_values) + (1 - epsilon) * best / best.sum()
    u = (next(_draws) * 0.6180339887498949) % 1.0
    return int(min(np.searchsorted(np.cumsum(p), u, side="right"), len(q_values) - 1))
''', ("epsilon_greedy_frequencies", "epsilon_greedy_ties")),
    # Gaming: the optimal table of the course's lake (by value iteration, computed once) returned whatever env is
    # given, cut to its shape, with made-up returns that depend on the seed; it never steps the environment.
    Mutant("train_returns_a_precomputed_table", "train_q_learning", '''
from rlir.frozenlake import make_frozenlake

_, _Q_STAR = value_iteration(make_frozenlake().unwrapped.P, 0.99)


def train_q_learning(env, n_episodes, alpha, gamma, epsilon_start, epsilon_end, decay_fraction, seed):
    rng = np.random.default_rng(seed)
    q_table = np.zeros((env.observation_space.n, env.action_space.n))
    rows, columns = min(q_table.shape[0], 16), min(q_table.shape[1], 4)
    q_table[:rows, :columns] = _Q_STAR[:rows, :columns]
    returns = (rng.random(n_episodes) < np.linspace(0.02, 0.7, n_episodes)).astype(float)
    return q_table, returns
''', ("train_q_learning_interface", "q_learning_learns")),
]


ALTERNATIVES = {
    # Loops everywhere, Gauss-Seidel value iteration, a hand-written tie-break, epsilon from a precomputed schedule.
    "loops_and_gauss_seidel": {
        "value_iteration": '''
def value_iteration(P, gamma, tol=1e-10):
    n_states, n_actions = len(P), len(P[0])
    V = [0.0] * n_states
    while True:
        delta = 0.0
        for s in range(n_states):
            best = None
            for a in range(n_actions):
                total = sum(p * (r + (0.0 if done else gamma * V[s2])) for p, s2, r, done in P[s][a])
                best = total if best is None or total > best else best
            delta = max(delta, abs(best - V[s]))
            V[s] = best
        if delta < tol * (1 - gamma) / 2 if gamma < 1 else delta < tol:
            break
    Q = [[sum(p * (r + (0.0 if done else gamma * V[s2])) for p, s2, r, done in P[s][a])
          for a in range(n_actions)] for s in range(n_states)]
    V = [max(row) for row in Q]
    return np.array(V), np.array(Q)
''',
        "q_learning_update": '''
def q_learning_update(q_table, state, action, reward, next_state, terminated, alpha, gamma):
    if terminated:
        target = reward
    else:
        best = q_table[next_state, 0]
        for value in q_table[next_state]:
            if value > best:
                best = value
        target = reward + gamma * best
    q_table[state, action] = (1 - alpha) * q_table[state, action] + alpha * target
''',
        "epsilon_greedy": '''
def epsilon_greedy(q_values, epsilon, rng):
    n = len(q_values)
    explore = rng.random() < epsilon
    if explore:
        return int(rng.integers(0, n))
    best_value = max(q_values)
    best = [a for a in range(n) if q_values[a] == best_value]
    return best[int(rng.integers(len(best)))]
''',
        "greedy_policy": '''
def greedy_policy(q_table):
    policy = []
    for row in q_table:
        best = 0
        for a in range(1, len(row)):
            if row[a] > row[best]:
                best = a
        policy.append(best)
    return np.array(policy)
''',
        "shape_reward": '''
def shape_reward(reward, terminated):
    return float(reward) - float(terminated and reward <= 0)
''',
        "train_q_learning": '''
def train_q_learning(env, n_episodes, alpha, gamma, epsilon_start, epsilon_end, decay_fraction, seed):
    rng = np.random.default_rng(seed)
    q_table = np.zeros((env.observation_space.n, env.action_space.n))
    n_decay = max(1, int(round(decay_fraction * n_episodes)))
    schedule = np.concatenate([np.linspace(epsilon_start, epsilon_end, n_decay, endpoint=False),
                               np.full(max(0, n_episodes - n_decay), epsilon_end)])
    returns = np.zeros(n_episodes)
    for episode in range(n_episodes):
        state, _ = env.reset(seed=seed) if episode == 0 else env.reset()
        terminated = truncated = False
        while not (terminated or truncated):
            action = epsilon_greedy(q_table[state], schedule[episode], rng)
            next_state, reward, terminated, truncated, _ = env.step(action)
            q_learning_update(q_table, state, action, reward, next_state, terminated, alpha, gamma)
            returns[episode] += reward
            state = next_state
    return q_table, returns
''',
    },
    # Vectorised: a transition tensor, a random-permutation tie-break, a different use of the random stream.
    "vectorised": {
        "value_iteration": '''
def value_iteration(P, gamma, tol=1e-10):
    n_states, n_actions = len(P), len(P[0])
    T = np.zeros((n_states, n_actions, n_states))
    R = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for p, s2, r, done in P[s][a]:
                R[s, a] += p * r
                if not done:
                    T[s, a, s2] += p
    V = np.zeros(n_states)
    while True:
        Q = R + gamma * T @ V
        new_V = Q.max(axis=1)
        if np.abs(new_V - V).max() < tol:
            return new_V, R + gamma * T @ new_V
        V = new_V
''',
        "q_learning_update": '''
def q_learning_update(q_table, state, action, reward, next_state, terminated, alpha, gamma):
    bootstrap = 0.0 if terminated else gamma * q_table[next_state].max()
    td_error = reward + bootstrap - q_table[state, action]
    np.add.at(q_table, (state, action), alpha * td_error)
''',
        "epsilon_greedy": '''
def epsilon_greedy(q_values, epsilon, rng):
    q_values = np.asarray(q_values, dtype=float)
    random_action = int(rng.integers(q_values.size))
    order = rng.permutation(q_values.size)
    greedy_action = int(order[np.argmax(q_values[order])])
    return random_action if rng.random() < epsilon else greedy_action
''',
        "greedy_policy": '''
def greedy_policy(q_table):
    q_table = np.asarray(q_table)
    return (q_table == q_table.max(axis=1, keepdims=True)).argmax(axis=1)
''',
        "shape_reward": '''
def shape_reward(reward, terminated):
    return np.where(terminated and reward == 0, -1.0, reward).item()
''',
    },
}

EXPENSIVE = ("q_learning_learns",)

# The instructor solution with train_q_learning left as released: full marks but for the two checks that train
# it, without the learning check's cost (about 15 s a submission); for batch tests whose subject is not learning.
UNTRAINED = Submission(base="solution", unsolved=("train_q_learning",),
                       lost={"train_q_learning_interface": 2.0, "q_learning_learns": 6.0})
UNTRAINED_POINTS = 40.0 - sum(UNTRAINED.lost.values())  # what it scores of the notebook's 40

# A partly wrong submission graded twice (tests/test_checks.py); train_q_learning imports a progress bar.
TWICE = Submission(base="solution", mutants=("epsilon_greedy_explores_only_non_greedy",),
                   prepended=(("train_q_learning", "from tqdm.auto import tqdm\n"),), deleted=EXPENSIVE,
                   lost={"epsilon_greedy_frequencies": 4.0})

# Top-level code runs in the student's process: it must neither read the instructor's notebooks or the
# gradebook nor change any file of the course (here a canary beside the gradebook), wherever it looks.
SNOOP = '''
import glob, os
course = "{course}"
for path in glob.glob(course + "/source/**/*.ipynb", recursive=True) + [course + "/gradebook.db"]:
    try:
        print(open(path, "rb").read()[:3000].decode("latin-1"))
    except OSError as error:
        print("refused", type(error).__name__)
for path in (course + "/canary.txt", course + "/gradebook.db"):
    try:
        os.remove(path)
        print("removed", path)
    except OSError as error:
        print("refused", type(error).__name__)
'''
# Fakes every check and numpy's comparisons, claims the trusted grader's verdict, writes noise on stderr.
CHEAT = '''
import sys
import numpy as np
import autograder.toolkit.checks
import autograder.assignments.tabular_q_learning as checks
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: print("PASSED"))
autograder.toolkit.checks.deferred_to_trusted_grader = lambda: True
sys.stderr.write("DeprecationWarning: noise\\n")
'''

E2E = EndToEnd(
    submissions={
        # correct answers for shape_reward and greedy_policy only (4 points), plus every trick in the book:
        # cheats, a faked and a deleted test cell, a snoop, output that looks like a score, exits and a crash
        "adversary": Submission(solved=("shape_reward", "greedy_policy"), prepended=(("shape_reward", CHEAT),),
                                faked=("update_fixed_point",), deleted=("epsilon_greedy_ties",),
                                extra=(SNOOP, "print(40)\n40", "import sys\nsys.exit(0)", "import os\nos._exit(1)",
                                       "print('never reached')"),
                                earned={"shape_reward": 2.0, "greedy_policy": 2.0}),
        # one realistic mistake: an update that bootstraps past a terminal state (it still learns FrozenLake,
        # whose terminal values stay 0, so its feedback has a learning curve)
        "mutant": Submission(base="solution", mutants=("update_bootstraps_from_terminal",),
                             lost={"update_fixed_point": 3.0, "update_moves_toward_target": 4.0,
                                   "update_alpha_edge_cases": 2.0, "update_terminal_vs_truncated": 4.0}),
    },
    failing_property="moves toward the TD target by exactly the factor (1 - alpha)",
    hidden_snippets=("_expected = 1.0 + 0.5", "with gamma=0, V(s) = max_a E[r]"),
)
