"""Realistic student mistakes (mutants) and differently written correct solutions for assignment 3.

A mutant replaces one answer cell of the instructor solution by a buggy version and names the graded cells
(checks) that must lose their points. An alternative replaces several answer cells by a correct solution
written another way; it must keep full marks.
"""

from tests.corpus import EndToEnd, Mutant, Submission, mutant

ASSIGNMENT = "dqn_for_ir"


def trainer(name: str, changes: list[tuple[str, str]] | tuple[str, str], must_fail: tuple[str, ...]) -> Mutant:
    """The instructor's trainer with ``changes``, for the training mutants."""
    return mutant(ASSIGNMENT, name, "train_recommender_dqn", changes, must_fail)


# The instructor's code that several mutants below change.
MASKED_ARGMAX_BODY = '''    if isinstance(q_values, torch.Tensor):
        q_values = q_values.detach().cpu().numpy()
    q_values = np.asarray(q_values, dtype=float)
    valid = np.asarray(mask).astype(bool)
    if not valid.any():
        raise ValueError("masked_argmax: no available action (the mask is all zero)")
    best = np.flatnonzero(valid & (q_values == q_values[valid].max()))
    return int(rng.choice(best))
'''
# The instructor's code that several mutants below change.
MASKED_MAX_BODY = '''    valid = torch.as_tensor(mask).bool()
    if not bool(valid.any(dim=1).all()):
        raise ValueError("masked_max: some row has no available action")
    return q_values.masked_fill(~valid, float("-inf")).max(dim=1).values
'''

# The least this corpus holds (it only grows): mutants that run by default, alternatives.
FLOOR = (8, 4)

MUTANTS = [
    mutant(ASSIGNMENT, "masked_argmax_ignores_the_mask", "masked_argmax",
           [('''    if isinstance(q_values, torch.Tensor):
        q_values = q_values.detach().cpu().numpy()
''',
            ""),
            ('''    valid = np.asarray(mask).astype(bool)
    if not valid.any():
        raise ValueError("masked_argmax: no available action (the mask is all zero)")
    best = np.flatnonzero(valid & (q_values == q_values[valid].max()))
    return int(rng.choice(best))
''',
            '''    if not np.asarray(mask).any():
        raise ValueError("no available action")
    return int(rng.choice(np.flatnonzero(q_values == q_values.max())))
''')],
           ("masked_argmax_never_masked", "masked_argmax_ties")),
    mutant(ASSIGNMENT, "masked_argmax_multiplies_by_the_mask", "masked_argmax",
           (MASKED_ARGMAX_BODY,
            '''    mask = np.asarray(mask)
    if not mask.any():
        raise ValueError("no available action")
    scores = np.asarray(q_values, dtype=float) * mask
    return int(rng.choice(np.flatnonzero(scores == scores.max())))
'''),
           ("masked_argmax_never_masked",)),
    mutant(ASSIGNMENT, "masked_argmax_indexes_the_compressed_row", "masked_argmax",
           [('''    if isinstance(q_values, torch.Tensor):
        q_values = q_values.detach().cpu().numpy()
    q_values = np.asarray(q_values, dtype=float)
''',
            ""),
            ('''        raise ValueError("masked_argmax: no available action (the mask is all zero)")
    best = np.flatnonzero(valid & (q_values == q_values[valid].max()))
    return int(rng.choice(best))
''',
            '''        raise ValueError("no available action")
    available = np.asarray(q_values, dtype=float)[valid]
    return int(rng.choice(np.flatnonzero(available == available.max())))
''')],
           ("masked_argmax_never_masked",)),
    mutant(ASSIGNMENT, "masked_argmax_first_maximum", "masked_argmax",
           [('''    if isinstance(q_values, torch.Tensor):
        q_values = q_values.detach().cpu().numpy()
    q_values = np.asarray(q_values, dtype=float)
''',
            ""),
            ('''        raise ValueError("masked_argmax: no available action (the mask is all zero)")
    best = np.flatnonzero(valid & (q_values == q_values[valid].max()))
    return int(rng.choice(best))
''',
            '''        raise ValueError("no available action")
    return int(np.argmax(np.where(valid, np.asarray(q_values, dtype=float), -np.inf)))
''')],
           ("masked_argmax_ties",)),
    mutant(ASSIGNMENT, "masked_argmax_returns_a_tensor", "masked_argmax",
           [('''    if isinstance(q_values, torch.Tensor):
        q_values = q_values.detach().cpu().numpy()
    q_values = np.asarray(q_values, dtype=float)
    valid = np.asarray(mask).astype(bool)
''',
            '''    q = torch.as_tensor(q_values, dtype=torch.float64)
    valid = torch.as_tensor(np.asarray(mask)).bool()
'''),
            ('''        raise ValueError("masked_argmax: no available action (the mask is all zero)")
    best = np.flatnonzero(valid & (q_values == q_values[valid].max()))
    return int(rng.choice(best))
''',
            '''        raise ValueError("no available action")
    q = q.masked_fill(~valid, float("-inf"))
    best = torch.nonzero(q == q.max()).flatten()
    return best[int(rng.integers(len(best)))]
''')],
           ("masked_argmax_never_masked", "masked_argmax_ties")),
    mutant(ASSIGNMENT, "masked_argmax_all_masked_returns_an_index", "masked_argmax",
           (MASKED_ARGMAX_BODY,
            '''    q = np.where(np.asarray(mask).astype(bool), np.asarray(q_values, dtype=float), -np.inf)
    return int(rng.choice(np.flatnonzero(q == q.max())))
'''),
           ("all_masked_raises",)),
    mutant(ASSIGNMENT, "epsilon_greedy_explores_unavailable_actions", "masked_epsilon_greedy",
           [('''    valid = np.flatnonzero(np.asarray(mask).astype(bool))
    if valid.size == 0:
        raise ValueError("masked_epsilon_greedy: no available action (the mask is all zero)")
''',
            ""),
            ("rng.choice(valid",
            "rng.integers(len(q_values)")],
           ("masked_epsilon_greedy_frequencies", "all_masked_raises")),
    mutant(ASSIGNMENT, "epsilon_greedy_exploits_without_the_mask", "masked_epsilon_greedy",
           [('"masked_epsilon_greedy: no available action (the mask is all zero)"',
            '"no available action"'),
            ("    return masked_argmax(q_values, mask, rng)\n",
            '''    q = np.asarray(q_values, dtype=float)
    return int(rng.choice(np.flatnonzero(q == q.max())))
''')],
           ("masked_epsilon_greedy_frequencies",)),
    mutant(ASSIGNMENT, "masked_max_multiplies_by_the_mask", "masked_max",
           (MASKED_MAX_BODY,
            '''    mask = torch.as_tensor(mask)
    if not bool(mask.bool().any(dim=1).all()):
        raise ValueError("a row has no available action")
    return (q_values * mask).max(dim=1).values
'''),
           ("masked_max_ignores_masked",)),
    mutant(ASSIGNMENT, "masked_max_bitwise_not_of_an_integer_mask", "masked_max",
           (MASKED_MAX_BODY,
            '''    if not bool((mask != 0).any(dim=1).all()):
        raise ValueError("a row has no available action")
    if mask.dtype != torch.bool:
        return torch.where(~mask != 0, float("-inf"), q_values).max(dim=1).values
    return q_values.masked_fill(~mask, float("-inf")).max(dim=1).values
'''),
           ("masked_max_ignores_masked",)),
    mutant(ASSIGNMENT, "masked_max_over_the_batch_axis", "masked_max",
           ('''        raise ValueError("masked_max: some row has no available action")
    return q_values.masked_fill(~valid, float("-inf")).max(dim=1).values
''',
            '''        raise ValueError("a row has no available action")
    return q_values.masked_fill(~valid, float("-inf")).max(dim=0).values
'''),
           ("masked_max_ignores_masked",)),
    mutant(ASSIGNMENT, "masked_max_all_masked_gives_minus_infinity", "masked_max",
           (MASKED_MAX_BODY,
            '''    return q_values.masked_fill(~torch.as_tensor(mask).bool(), float("-inf")).max(dim=1).values
'''),
           ("all_masked_raises",)),
    trainer("train_ignores_config_gamma", ('config["gamma"] * (1.0 - d)', "0.99 * (1.0 - d)"),
            ("myopic_recommender_collapses",)),
    trainer("train_unseeded_generator", ("np.random.default_rng(seed)", "np.random.default_rng()"),
            ("train_recommender_dqn_interface",)),
    trainer("train_records_every_step",
            ("        obs = next_obs\n        if terminated or truncated:\n"
             "            episode_returns.append(episode_return)\n",
             "        obs = next_obs\n        episode_returns.append(episode_return)\n"
             "        if terminated or truncated:\n"),
            ("train_recommender_dqn_interface",)),
    trainer("train_forgets_the_optimizer_step", ("            optimizer.step()\n", ""), ("recommender_learns",)),
    trainer("train_myopic_by_mistake", ('config["gamma"] * (1.0 - d)', "0.0 * (1.0 - d)"), ("recommender_learns",)),
]


ALTERNATIVES = {
    # Torch helpers with a permutation tie-break, and a differently written double DQN: a deque buffer sampled
    # with rng.choice, the Huber loss, explicit target copies, randomness drawn in another order.
    "torch_and_deque": {
        "masked_argmax": '''
def masked_argmax(q_values, mask, rng):
    q = torch.as_tensor(q_values).double().flatten()
    valid = torch.as_tensor(np.asarray(mask, dtype=bool))
    if valid.sum() == 0:
        raise ValueError("masked_argmax needs at least one available action")
    q = torch.where(valid, q, torch.tensor(float("-inf"), dtype=torch.float64))
    for action in rng.permutation(len(q)):
        if q[action] == q.max():
            return int(action)
''',
        "masked_epsilon_greedy": '''
def masked_epsilon_greedy(q_values, mask, epsilon, rng):
    available = [i for i, m in enumerate(np.asarray(mask).tolist()) if m]
    if not available:
        raise ValueError("masked_epsilon_greedy needs at least one available action")
    explore = rng.random() < epsilon
    if explore:
        return int(available[rng.integers(len(available))])
    return masked_argmax(q_values, mask, rng)
''',
        "masked_max": '''
def masked_max(q_values, mask):
    valid = torch.as_tensor(mask) != 0
    if (valid.sum(dim=1) == 0).any():
        raise ValueError("masked_max: a row without any available action")
    very_low = torch.full_like(q_values, float("-inf"))
    return torch.where(valid, q_values, very_low).amax(dim=1)
''',
        "train_recommender_dqn": '''
import collections


def train_recommender_dqn(env, total_steps, config, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    sizes = [env.observation_space.shape[0], *config["hidden_sizes"], env.action_space.n]
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            modules.append(nn.ReLU())
    online = nn.Sequential(*modules)
    target = nn.Sequential(*[copy.deepcopy(m) for m in modules])
    optimizer = torch.optim.Adam(online.parameters(), lr=config["learning_rate"])
    replay = collections.deque(maxlen=config["buffer_size"])
    returns, total = [], 0.0
    obs, _ = env.reset(seed=seed)
    mask = np.ones(env.action_space.n, dtype=np.int8)
    explore_steps = config["exploration_fraction"] * total_steps
    for t in tqdm(range(total_steps), mininterval=5.0):
        if t % config["target_update_interval"] == 0:
            target.load_state_dict(online.state_dict())
        eps = max(config["epsilon_end"], config["epsilon_start"]
                  - (config["epsilon_start"] - config["epsilon_end"]) * t / explore_steps)
        with torch.no_grad():
            action = masked_epsilon_greedy(online(torch.tensor(obs[None], dtype=torch.float32))[0], mask, eps, rng)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        replay.append((obs, action, reward, next_obs, terminated))
        total += reward
        if terminated or truncated:
            returns.append(total)
            total = 0.0
            next_obs, _ = env.reset()
        obs = next_obs
        if t >= config["learning_starts"] and t % config["train_frequency"] == 0:
            batch = [replay[i] for i in rng.choice(len(replay), size=config["batch_size"])]
            s = torch.tensor(np.array([b[0] for b in batch]), dtype=torch.float32)
            a = torch.tensor([b[1] for b in batch])
            r = torch.tensor([b[2] for b in batch], dtype=torch.float32)
            s2 = torch.tensor(np.array([b[3] for b in batch]), dtype=torch.float32)
            alive = torch.tensor([0.0 if b[4] else 1.0 for b in batch])
            with torch.no_grad():
                a2 = online(s2).argmax(dim=1)
                y = r + config["gamma"] * alive * target(s2)[torch.arange(len(batch)), a2]
            q = online(s)[torch.arange(len(batch)), a]
            loss = nn.functional.smooth_l1_loss(q, y)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(online.parameters(), 10.0)
            optimizer.step()
    return online, np.asarray(returns, dtype=float)
''',
    },
    # Plain Python loops over the row for the single-row helpers; a sort-based masked_max.
    "loops": {
        "masked_argmax": '''
def masked_argmax(q_values, mask, rng):
    values = [float(v) for v in q_values]
    flags = [bool(m) for m in mask]
    best_value, best = None, []
    for action, (value, ok) in enumerate(zip(values, flags)):
        if not ok:
            continue
        if best_value is None or value > best_value:
            best_value, best = value, [action]
        elif value == best_value:
            best.append(action)
    if not best:
        raise ValueError("no available action")
    return best[int(rng.integers(len(best)))]
''',
        "masked_epsilon_greedy": '''
def masked_epsilon_greedy(q_values, mask, epsilon, rng):
    flags = [bool(m) for m in mask]
    if not any(flags):
        raise ValueError("no available action")
    if rng.random() >= epsilon:
        return masked_argmax(q_values, mask, rng)
    return int(rng.choice([a for a, ok in enumerate(flags) if ok]))
''',
        "masked_max": '''
def masked_max(q_values, mask):
    rows = []
    for values, flags in zip(q_values, torch.as_tensor(mask)):
        available = [v for v, ok in zip(values, flags) if ok]
        if not available:
            raise ValueError("a row has no available action")
        rows.append(torch.stack(available).max())
    return torch.stack(rows)
''',
    },
}

EXPENSIVE = ("recommender_learns",)

# A partly wrong submission graded twice (tests/test_checks.py): no trainer, a buggy masked_max.
TWICE = Submission(base="solution", mutants=("masked_max_multiplies_by_the_mask",),
                   unsolved=("train_recommender_dqn",),
                   lost={"masked_max_ignores_masked": 5.0, "train_recommender_dqn_interface": 3.0,
                         "myopic_recommender_collapses": 4.0, "recommender_learns": 10.0})

E2E = EndToEnd(
    submissions={
        # the three masked helpers solved, no trainer, and attempts to fake the training checks
        "helpers": Submission(solved=("masked_max", "masked_argmax", "masked_epsilon_greedy"),
                              prepended=(("masked_max", '''
import autograder.assignments.dqn_for_ir as checks
checks.LEARNING_FRACTION = 0.0
checks.check_recommender_learns = lambda *a, **k: print("PASSED recommender_learns")
'''),), faked=("myopic_recommender_collapses",),
            earned={"masked_argmax_never_masked": 5.0, "masked_argmax_ties": 3.0,
                    "masked_epsilon_greedy_frequencies": 4.0, "masked_max_ignores_masked": 5.0,
                    "all_masked_raises": 3.0}),
    },
    failing_property="even when an unavailable action has a larger value",
)

# Correct solutions in another numeric style (issue 23): they must keep full marks.
ALTERNATIVES["float32_torch"] = {
    # everything in float32 torch: -inf fill, ties broken by a uniform draw among the tied indices
    "masked_argmax": '''
def masked_argmax(q_values, mask, rng):
    q = torch.as_tensor(np.asarray(torch.as_tensor(q_values).detach()), dtype=torch.float32)
    valid = torch.as_tensor(np.asarray(mask).astype(bool))
    if not bool(valid.any()):
        raise ValueError("no available action")
    q = torch.where(valid, q, torch.tensor(float("-inf")))
    tied = torch.nonzero(q == q.max()).flatten().numpy()
    return int(tied[rng.integers(len(tied))])
''',
    "masked_max": '''
def masked_max(q_values, mask):
    valid = torch.as_tensor(mask) != 0
    if not bool(valid.any(dim=1).all()):
        raise ValueError("a row has no available action")
    q = q_values.to(torch.float32)
    return torch.where(valid, q, torch.full_like(q, float("-inf"))).amax(dim=1)
''',
    "masked_epsilon_greedy": '''
def masked_epsilon_greedy(q_values, mask, epsilon, rng):
    available = np.flatnonzero(np.asarray(mask) != 0)
    if available.size == 0:
        raise ValueError("no available action")
    if rng.random() < epsilon:
        return int(available[rng.integers(available.size)])
    return masked_argmax(q_values, mask, rng)
''',
}
ALTERNATIVES["python_floats_and_sort"] = {
    # plain Python floats and lists (ties: the first best action in a uniformly random order), a max by sorting
    "masked_argmax": '''
def masked_argmax(q_values, mask, rng):
    values = [float(v) for v in np.asarray(torch.as_tensor(q_values).detach(), dtype=np.float64)]
    available = [a for a, m in enumerate(np.asarray(mask)) if m]
    if not available:
        raise ValueError("no available action")
    best = max(values[a] for a in available)
    for a in rng.permutation(len(values)):
        if a in available and values[a] == best:
            return int(a)
''',
    "masked_max": '''
def masked_max(q_values, mask):
    valid = torch.as_tensor(mask).bool()
    if not bool(valid.any(dim=1).all()):
        raise ValueError("a row has no available action")
    shifted = q_values.double() - torch.where(valid, 0.0, float("inf")).double()
    return torch.sort(shifted, dim=1, descending=True).values[:, 0].to(q_values.dtype)
''',
}
