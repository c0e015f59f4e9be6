"""Realistic student mistakes (mutants) and differently written correct solutions for assignment 3.

A mutant replaces one answer cell of the instructor solution by a buggy version and names the graded cells
(checks) that must lose their points. An alternative replaces several answer cells by a correct solution
written another way; it must keep full marks.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    function: str
    source: str
    must_fail: tuple[str, ...]


# The instructor's trainer with one line changed (``{change}`` marks the spot), for the training mutants.
TRAINER = '''
def train_recommender_dqn(env, total_steps, config, seed):
    rng = {rng}
    torch.manual_seed(seed)
    obs_dim, n_actions = env.observation_space.shape[0], env.action_space.n
    layers, width = [], obs_dim
    for hidden in config["hidden_sizes"]:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    q_network = nn.Sequential(*layers, nn.Linear(width, n_actions))
    target_network = copy.deepcopy(q_network)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=config["learning_rate"])
    capacity = config["buffer_size"]
    states = np.zeros((capacity, obs_dim), dtype=np.float32)
    next_states = np.zeros((capacity, obs_dim), dtype=np.float32)
    actions = np.zeros(capacity, dtype=np.int64)
    rewards = np.zeros(capacity, dtype=np.float32)
    dones = np.zeros(capacity, dtype=np.float32)
    size = position = 0
    all_available = np.ones(n_actions, dtype=bool)
    decay_steps = max(1, int(config["exploration_fraction"] * total_steps))
    episode_returns, episode_return = [], 0.0
    gamma = {gamma}
    obs, _ = env.reset(seed=seed)
    for step in range(total_steps):
        fraction = min(1.0, step / decay_steps)
        epsilon = config["epsilon_start"] + fraction * (config["epsilon_end"] - config["epsilon_start"])
        with torch.no_grad():
            q_values = q_network(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0))[0]
        action = masked_epsilon_greedy(q_values, all_available, epsilon, rng)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        states[position], actions[position], rewards[position] = obs, action, reward
        next_states[position], dones[position] = next_obs, float(terminated)
        position, size = (position + 1) % capacity, min(size + 1, capacity)
        episode_return += float(reward)
        obs = next_obs
        {record}
        if terminated or truncated:
            {record_end}
            episode_return = 0.0
            obs, _ = env.reset()
        if step >= config["learning_starts"] and step % config["train_frequency"] == 0:
            index = rng.integers(size, size=config["batch_size"])
            s, a = torch.from_numpy(states[index]), torch.from_numpy(actions[index])
            r, s2, d = torch.from_numpy(rewards[index]), torch.from_numpy(next_states[index]), torch.from_numpy(
                dones[index])
            with torch.no_grad():
                best_next = q_network(s2).argmax(dim=1, keepdim=True)
                target = r + gamma * (1.0 - d) * target_network(s2).gather(1, best_next).squeeze(1)
            predicted = q_network(s).gather(1, a.unsqueeze(1)).squeeze(1)
            loss = nn.functional.mse_loss(predicted, target)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(q_network.parameters(), 10.0)
            {optimizer_step}
        if step % config["target_update_interval"] == 0:
            target_network.load_state_dict(q_network.state_dict())
    return q_network, np.array(episode_returns)
'''
CORRECT = dict(rng="np.random.default_rng(seed)", gamma='config["gamma"]', record="pass",
               record_end="episode_returns.append(episode_return)", optimizer_step="optimizer.step()")


def trainer(**changes: str) -> str:
    return TRAINER.format(**{**CORRECT, **changes})


MUTANTS = [
    Mutant("masked_argmax_ignores_the_mask", "masked_argmax", '''
def masked_argmax(q_values, mask, rng):
    q_values = np.asarray(q_values, dtype=float)
    if not np.asarray(mask).any():
        raise ValueError("no available action")
    return int(rng.choice(np.flatnonzero(q_values == q_values.max())))
''', ("masked_argmax_never_masked", "masked_argmax_ties")),
    Mutant("masked_argmax_multiplies_by_the_mask", "masked_argmax", '''
def masked_argmax(q_values, mask, rng):
    mask = np.asarray(mask)
    if not mask.any():
        raise ValueError("no available action")
    scores = np.asarray(q_values, dtype=float) * mask
    return int(rng.choice(np.flatnonzero(scores == scores.max())))
''', ("masked_argmax_never_masked",)),
    Mutant("masked_argmax_indexes_the_compressed_row", "masked_argmax", '''
def masked_argmax(q_values, mask, rng):
    valid = np.asarray(mask).astype(bool)
    if not valid.any():
        raise ValueError("no available action")
    available = np.asarray(q_values, dtype=float)[valid]
    return int(rng.choice(np.flatnonzero(available == available.max())))
''', ("masked_argmax_never_masked",)),
    Mutant("masked_argmax_first_maximum", "masked_argmax", '''
def masked_argmax(q_values, mask, rng):
    valid = np.asarray(mask).astype(bool)
    if not valid.any():
        raise ValueError("no available action")
    return int(np.argmax(np.where(valid, np.asarray(q_values, dtype=float), -np.inf)))
''', ("masked_argmax_ties",)),
    Mutant("masked_argmax_returns_a_tensor", "masked_argmax", '''
def masked_argmax(q_values, mask, rng):
    q = torch.as_tensor(q_values, dtype=torch.float64)
    valid = torch.as_tensor(np.asarray(mask)).bool()
    if not valid.any():
        raise ValueError("no available action")
    q = q.masked_fill(~valid, float("-inf"))
    best = torch.nonzero(q == q.max()).flatten()
    return best[int(rng.integers(len(best)))]
''', ("masked_argmax_never_masked", "masked_argmax_ties")),
    Mutant("masked_argmax_all_masked_returns_an_index", "masked_argmax", '''
def masked_argmax(q_values, mask, rng):
    q = np.where(np.asarray(mask).astype(bool), np.asarray(q_values, dtype=float), -np.inf)
    return int(rng.choice(np.flatnonzero(q == q.max())))
''', ("all_masked_raises",)),
    Mutant("epsilon_greedy_explores_unavailable_actions", "masked_epsilon_greedy", '''
def masked_epsilon_greedy(q_values, mask, epsilon, rng):
    if rng.random() < epsilon:
        return int(rng.integers(len(q_values)))
    return masked_argmax(q_values, mask, rng)
''', ("masked_epsilon_greedy_frequencies", "all_masked_raises")),
    Mutant("epsilon_greedy_exploits_without_the_mask", "masked_epsilon_greedy", '''
def masked_epsilon_greedy(q_values, mask, epsilon, rng):
    valid = np.flatnonzero(np.asarray(mask).astype(bool))
    if valid.size == 0:
        raise ValueError("no available action")
    if rng.random() < epsilon:
        return int(rng.choice(valid))
    q = np.asarray(q_values, dtype=float)
    return int(rng.choice(np.flatnonzero(q == q.max())))
''', ("masked_epsilon_greedy_frequencies",)),
    Mutant("masked_max_multiplies_by_the_mask", "masked_max", '''
def masked_max(q_values, mask):
    mask = torch.as_tensor(mask)
    if not bool(mask.bool().any(dim=1).all()):
        raise ValueError("a row has no available action")
    return (q_values * mask).max(dim=1).values
''', ("masked_max_ignores_masked",)),
    Mutant("masked_max_bitwise_not_of_an_integer_mask", "masked_max", '''
def masked_max(q_values, mask):
    if not bool((mask != 0).any(dim=1).all()):
        raise ValueError("a row has no available action")
    if mask.dtype != torch.bool:
        return torch.where(~mask != 0, float("-inf"), q_values).max(dim=1).values
    return q_values.masked_fill(~mask, float("-inf")).max(dim=1).values
''', ("masked_max_ignores_masked",)),
    Mutant("masked_max_over_the_batch_axis", "masked_max", '''
def masked_max(q_values, mask):
    valid = torch.as_tensor(mask).bool()
    if not bool(valid.any(dim=1).all()):
        raise ValueError("a row has no available action")
    return q_values.masked_fill(~valid, float("-inf")).max(dim=0).values
''', ("masked_max_ignores_masked",)),
    Mutant("masked_max_all_masked_gives_minus_infinity", "masked_max", '''
def masked_max(q_values, mask):
    return q_values.masked_fill(~torch.as_tensor(mask).bool(), float("-inf")).max(dim=1).values
''', ("all_masked_raises",)),
    Mutant("train_ignores_config_gamma", "train_recommender_dqn", trainer(gamma="0.99"),
           ("myopic_recommender_collapses",)),
    Mutant("train_unseeded_generator", "train_recommender_dqn", trainer(rng="np.random.default_rng()"),
           ("train_recommender_dqn_interface",)),
    Mutant("train_records_every_step", "train_recommender_dqn",
           trainer(record="episode_returns.append(episode_return)", record_end="pass"),
           ("train_recommender_dqn_interface",)),
    Mutant("train_forgets_the_optimizer_step", "train_recommender_dqn", trainer(optimizer_step="pass"),
           ("recommender_learns",)),
    Mutant("train_myopic_by_mistake", "train_recommender_dqn", trainer(gamma="0.0"),
           ("recommender_learns",)),
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
