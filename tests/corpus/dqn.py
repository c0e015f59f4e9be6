"""Realistic student mistakes (mutants) and differently written correct solutions for assignment 2, DQN.

A mutant replaces one answer cell of the instructor solution by a buggy version and names the graded cells
(checks) that must lose their points. An alternative replaces several answer cells by a correct solution
written another way; it must keep full marks.
"""

import dataclasses

from tests.corpus import EndToEnd, Mutant, Submission, mutant, solution_function

ASSIGNMENT = "dqn"

# The instructor's code that several mutants below change.
BUFFER_ARRAYS = '''        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.position = 0  # the slot the next transition goes to
        self.size = 0
'''
# The instructor's code that several mutants below change.
BUFFER_ADD = '''        slot = self.position
        self.obs[slot], self.actions[slot], self.rewards[slot] = obs, action, reward
        self.next_obs[slot], self.terminated[slot] = next_obs, float(terminated)
        self.position = (slot + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
'''

# The least this corpus holds (it only grows): mutants that run by default, alternatives.
FLOOR = (12, 4)

MUTANTS = [
    mutant(ASSIGNMENT, "targets_without_terminal_mask", "dqn_targets",
           ('''        next_values = target_net(next_obs).max(dim=1).values
        return rewards + gamma * (1.0 - terminated) * next_values
''',
            "        return rewards + gamma * target_net(next_obs).max(dim=1).values\n"),
           ("dqn_targets",)),
    mutant(ASSIGNMENT, "targets_stop_at_truncation_too", "dqn_targets",
           ('''        next_values = target_net(next_obs).max(dim=1).values
        return rewards + gamma * (1.0 - terminated) * next_values
''',
            "        return rewards.clone()\n"),
           ("dqn_targets",)),
    mutant(ASSIGNMENT, "targets_carry_gradient", "dqn_targets",
           ('''    with torch.no_grad():
        next_values = target_net(next_obs).max(dim=1).values
        return rewards + gamma * (1.0 - terminated) * next_values
''',
            '''    next_values = target_net(next_obs).max(dim=1).values
    return rewards + gamma * (1.0 - terminated) * next_values
'''),
           ("dqn_targets", "gradient_reaches_only_online_network")),
    mutant(ASSIGNMENT, "targets_max_over_batch_axis", "dqn_targets",
           ("1).values",
            "0).values.max()"),
           ("dqn_targets",)),
    mutant(ASSIGNMENT, "double_dqn_argmax_from_target_net", "double_dqn_targets",
           ('''        best_actions = online_net(next_obs).argmax(dim=1, keepdim=True)
        next_values = target_net(next_obs).gather(1, best_actions).squeeze(1)
        return rewards + gamma * (1.0 - terminated) * next_values
''',
            '''        best = target_net(next_obs).argmax(dim=1, keepdim=True)
        return rewards + gamma * (1.0 - terminated) * target_net(next_obs).gather(1, best).squeeze(1)
'''),
           ("double_dqn_targets",)),
    mutant(ASSIGNMENT, "double_dqn_value_from_online_net", "double_dqn_targets",
           ('''        best_actions = online_net(next_obs).argmax(dim=1, keepdim=True)
        next_values = target_net(next_obs).gather(1, best_actions).squeeze(1)
        return rewards + gamma * (1.0 - terminated) * next_values
''',
            '''        return rewards + gamma * (1.0 - terminated) * online_net(next_obs).max(dim=1).values
'''),
           ("double_dqn_targets", "double_dqn_never_exceeds_dqn")),
    mutant(ASSIGNMENT, "double_dqn_gradient_through_online_choice", "double_dqn_targets",
           ('''    with torch.no_grad():
        best_actions = online_net(next_obs).argmax(dim=1, keepdim=True)
        next_values = target_net(next_obs).gather(1, best_actions).squeeze(1)
        return rewards + gamma * (1.0 - terminated) * next_values
''',
            '''    best = online_net(next_obs).argmax(dim=1, keepdim=True)
    values = target_net(next_obs).gather(1, best).squeeze(1)
    return rewards + gamma * (1.0 - terminated) * values
'''),
           ("double_dqn_targets", "double_dqn_never_exceeds_dqn", "gradient_reaches_only_online_network")),
    mutant(ASSIGNMENT, "dueling_without_mean_subtraction", "DuelingQNetwork",
           ('''        advantages = self.advantage_head(hidden)
        return self.value_head(hidden) + advantages - advantages.mean(dim=1, keepdim=True)
''',
            "        return self.value_head(hidden) + self.advantage_head(hidden)\n"),
           ("dueling_mean_q_is_value", "dueling_advantage_shift")),
    mutant(ASSIGNMENT, "dueling_subtracts_max", "DuelingQNetwork",
           ("advantages.mean(dim=1, keepdim=True)",
            "advantages.max(dim=1, keepdim=True).values"),
           ("dueling_mean_q_is_value",)),
    mutant(ASSIGNMENT, "dueling_mean_over_batch", "DuelingQNetwork",
           ('''return self.value_head(hidden) + advantages - advantages.mean(dim=1, keepdim=True)''',
            '''return self.value_head(hidden) + advantages - advantages.mean(dim=0, keepdim=True)'''),
           ("dueling_mean_q_is_value",)),
    mutant(ASSIGNMENT, "q_network_ignores_hidden_sizes", "QNetwork",
           ('''        sizes = [obs_dim, *hidden_sizes, n_actions]
        layers = []
        for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if index < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.layers = nn.Sequential(*layers)
''',
            '''        self.layers = nn.Sequential(nn.Linear(obs_dim, 64), nn.ReLU(), nn.Linear(64, n_actions))
'''),
           ("q_network",)),
    mutant(ASSIGNMENT, "q_network_detaches_output", "QNetwork",
           [('''        for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if index < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.layers = nn.Sequential(*layers)
''',
            '''        for i in range(len(sizes) - 1):
            layers += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU()]
        self.layers = nn.Sequential(*layers[:-1])
'''),
            ("        return self.layers(obs)\n",
            '''        with torch.no_grad():
            return self.layers(obs)
''')],
           ("q_network", "gradient_reaches_only_online_network")),
    mutant(ASSIGNMENT, "buffer_samples_unwritten_slots", "ReplayBuffer",
           [("0  # the slot the next transition goes to",
            "0"),
            ("return self.batch(self.rng.integers(0, self.size, size=batch_size))",
            "return self.batch(self.rng.integers(0, self.capacity, size=batch_size))")],
           ("replay_buffer_fifo",)),
    mutant(ASSIGNMENT, "buffer_stops_adding_when_full", "ReplayBuffer",
           [(BUFFER_ARRAYS,
            "        self.data = []\n"),
            (BUFFER_ADD,
            '''        if len(self.data) < self.capacity:
            self.data.append((np.asarray(obs, np.float32), int(action), float(reward),
                              np.asarray(next_obs, np.float32), float(terminated)))
'''),
            ("return self.size",
            "return len(self.data)"),
            ("return self.batch(self.rng.integers(0, self.size, size=batch_size))",
            "return self.batch(self.rng.integers(0, len(self.data), size=batch_size))"),
            ('''        return Batch(torch.as_tensor(self.obs[slots]), torch.as_tensor(self.actions[slots]),
                     torch.as_tensor(self.rewards[slots]), torch.as_tensor(self.next_obs[slots]),
                     torch.as_tensor(self.terminated[slots]))
''',
            '''        rows = [self.data[i] for i in slots]
        return Batch(torch.as_tensor(np.array([r[0] for r in rows])), torch.as_tensor([r[1] for r in rows]),
                     torch.as_tensor([r[2] for r in rows], dtype=torch.float32),
                     torch.as_tensor(np.array([r[3] for r in rows])),
                     torch.as_tensor([r[4] for r in rows], dtype=torch.float32))
''')],
           ("replay_buffer_fifo", "replay_buffer_uniform")),
    mutant(ASSIGNMENT, "buffer_sampling_favours_recent", "ReplayBuffer",
           [(BUFFER_ARRAYS,
            "        self.data = collections.deque(maxlen=capacity)\n"),
            (BUFFER_ADD,
            '''        self.data.append((np.asarray(obs, np.float32), int(action), float(reward),
                          np.asarray(next_obs, np.float32), float(terminated)))
'''),
            ("return self.size",
            "return len(self.data)"),
            ("        return self.batch(self.rng.integers(0, self.size, size=batch_size))\n",
            '''        n = len(self.data)
        slots = np.minimum((n * np.sqrt(self.rng.random(batch_size))).astype(int), n - 1)
        rows = [self.data[i] for i in slots]
        return Batch(torch.as_tensor(np.array([r[0] for r in rows])), torch.as_tensor([r[1] for r in rows]),
                     torch.as_tensor([r[2] for r in rows], dtype=torch.float32),
                     torch.as_tensor(np.array([r[3] for r in rows])),
                     torch.as_tensor([r[4] for r in rows], dtype=torch.float32))
'''),
            ('''        return Batch(torch.as_tensor(self.obs[slots]), torch.as_tensor(self.actions[slots]),
                     torch.as_tensor(self.rewards[slots]), torch.as_tensor(self.next_obs[slots]),
                     torch.as_tensor(self.terminated[slots]))
''',
            "        raise NotImplementedError\n")],
           ("replay_buffer_uniform",)),
    mutant(ASSIGNMENT, "linear_schedule_without_clamp", "linear_schedule",
           ("min(1.0, step / duration)",
            "step / duration"),
           ("linear_schedule",)),
    mutant(ASSIGNMENT, "td_loss_squared_error", "td_loss",
           ('F.smooth_l1_loss(q_taken, targets, reduction="none")',
            "(q_taken - targets) ** 2"),
           ("td_loss",)),
    mutant(ASSIGNMENT, "td_loss_ignores_weights", "td_loss",
           ('''    losses = F.smooth_l1_loss(q_taken, targets, reduction="none")
    if weights is not None:
        losses = weights * losses
    return losses.mean()
''',
            "    return F.smooth_l1_loss(q_taken, targets)\n"),
           ("td_loss",)),
    mutant(ASSIGNMENT, "td_loss_uses_max_instead_of_taken_action", "td_loss",
           ('''    q_taken = online_net(batch.obs).gather(1, batch.actions.long().unsqueeze(1)).squeeze(1)
    losses = F.smooth_l1_loss(q_taken, targets, reduction="none")
''',
            '''    q = online_net(batch.obs).max(dim=1).values
    losses = F.smooth_l1_loss(q, targets, reduction="none")
'''),
           ("td_loss",)),
]

def per_mutant(name: str, old: str, new: str, must_fail: tuple[str, ...]) -> Mutant:
    return mutant(ASSIGNMENT, name, "PrioritizedReplayBuffer", (old, new), must_fail)


MUTANTS += [
    per_mutant("per_ignores_alpha", "self.tree[node] = priority ** self.alpha", "self.tree[node] = priority",
               ("per_sampling_probabilities", "per_importance_weights", "per_priority_updates")),
    per_mutant("per_weights_not_normalised", "weights / weights.max()", "weights",
               ("per_importance_weights",)),
    per_mutant("per_weights_without_beta", "** (-self.beta)", "** (-1.0)", ("per_importance_weights",)),
    per_mutant("per_sum_tree_off_by_one", "if value < self.tree[left]:", "if value <= self.tree[left]:",
               ("per_sum_tree",)),
    per_mutant("per_new_transition_priority_one", "self.set_priority(slot, self.max_priority)",
               "self.set_priority(slot, 1.0)", ("per_priority_updates",)),
    per_mutant("per_priorities_without_abs", "np.abs(np.asarray(td_errors, dtype=np.float64))",
               "np.maximum(np.asarray(td_errors, dtype=np.float64), 0.0)",
               ("per_sampling_probabilities", "per_priority_updates")),
    per_mutant("per_priorities_without_eps", "+ self.eps\n", "\n", ("per_priority_updates",)),
    per_mutant("per_sum_tree_not_propagated", "node //= 2\n        while node >= 1:",
               "node //= 2\n        while node > 1:", ("per_sum_tree", "per_priority_updates")),
]


TRAIN_BASE_MARKER = "buffer.add(obs, action, reward, next_obs, terminated)"

ALTERNATIVES = {
    # A list-based sum tree with explicit left/right arithmetic, a deque-free ring buffer, einsum-free
    # targets written with explicit masks, Huber written by hand, a dueling net with separate streams.
    "hand_written": {
        "QNetwork": '''
class QNetwork(nn.Module):
    def __init__(self, obs_dim, n_actions, hidden_sizes=(128, 128)):
        super().__init__()
        sizes = [obs_dim, *hidden_sizes, n_actions]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, obs):
        x = obs
        for i, layer in enumerate(self.linears):
            x = layer(x)
            if i < len(self.linears) - 1:
                x = torch.relu(x)
        return x
''',
        "DuelingQNetwork": '''
class DuelingQNetwork(nn.Module):
    def __init__(self, obs_dim, n_actions, hidden_sizes=(128, 128)):
        super().__init__()
        modules = []
        previous = obs_dim
        for size in hidden_sizes:
            modules.append(nn.Linear(previous, size))
            modules.append(nn.ReLU())
            previous = size
        self.features = nn.Sequential(*modules)
        self.value_head = nn.Linear(previous, 1)
        self.advantage_head = nn.Linear(previous, n_actions)

    def forward(self, obs):
        h = self.features(obs)
        v, a = self.value_head(h), self.advantage_head(h)
        centred = a - a.sum(dim=-1, keepdim=True) / a.shape[-1]
        return v.expand_as(a) + centred
''',
        "ReplayBuffer": '''
class ReplayBuffer:
    def __init__(self, capacity, obs_dim, seed=0):
        self.capacity = capacity
        self.storage = [None] * capacity
        self.count = 0
        self.rng = np.random.default_rng(seed)

    def add(self, obs, action, reward, next_obs, terminated):
        self.storage[self.count % self.capacity] = (np.array(obs, dtype=np.float32), int(action), float(reward),
                                                    np.array(next_obs, dtype=np.float32), float(bool(terminated)))
        self.count += 1

    def __len__(self):
        return min(self.count, self.capacity)

    def sample(self, batch_size):
        return self.batch(self.rng.choice(len(self), size=batch_size, replace=True))

    def batch(self, slots):
        rows = [self.storage[int(i)] for i in slots]
        obs, actions, rewards, next_obs, terminated = zip(*rows)
        return Batch(torch.tensor(np.stack(obs)), torch.tensor(actions, dtype=torch.int64),
                     torch.tensor(rewards, dtype=torch.float32), torch.tensor(np.stack(next_obs)),
                     torch.tensor(terminated, dtype=torch.float32))
''',
        "PrioritizedReplayBuffer": '''
class SumTree:
    def __init__(self, capacity):
        self.capacity = capacity
        self.nodes = [0.0] * (2 * capacity - 1)   # a complete tree with `capacity` leaves, root at 0

    def update(self, leaf, value):
        index = leaf + self.capacity - 1
        change = value - self.nodes[index]
        while True:
            self.nodes[index] += change
            if index == 0:
                break
            index = (index - 1) // 2

    def set(self, leaf, value):
        index = leaf + self.capacity - 1
        self.nodes[index] = value
        while index > 0:
            index = (index - 1) // 2
            self.nodes[index] = self.nodes[2 * index + 1] + self.nodes[2 * index + 2]

    def retrieve(self, value):
        index = 0
        while 2 * index + 1 < len(self.nodes):
            left = 2 * index + 1
            if value < self.nodes[left]:
                index = left
            else:
                value -= self.nodes[left]
                index = left + 1
        return index - (self.capacity - 1)


class PrioritizedReplayBuffer(ReplayBuffer):
    def __init__(self, capacity, obs_dim, alpha, beta, eps=1e-6, seed=0):
        super().__init__(capacity, obs_dim, seed)
        self.alpha, self.beta, self.eps = alpha, beta, eps
        size = 1
        while size < capacity:
            size *= 2
        self.tree = SumTree(size)
        self.biggest = 1.0

    def total(self):
        return self.tree.nodes[0]

    def find(self, value):
        return self.tree.retrieve(value)

    def add(self, obs, action, reward, next_obs, terminated):
        slot = self.count % self.capacity
        super().add(obs, action, reward, next_obs, terminated)
        self.tree.set(slot, self.biggest ** self.alpha)

    def sample(self, batch_size):
        total = self.total()
        slots = []
        for _ in range(batch_size):
            slot = self.find(self.rng.uniform(0.0, total))
            slots.append(min(slot, len(self) - 1))
        slots = np.array(slots)
        p = np.array([self.tree.nodes[s + self.tree.capacity - 1] for s in slots]) / total
        w = np.power(len(self) * p, -self.beta)
        return self.batch(slots), slots, torch.tensor(w / np.max(w), dtype=torch.float32)

    def update_priorities(self, indices, td_errors):
        for slot, error in zip(indices, td_errors):
            priority = abs(float(error)) + self.eps
            self.biggest = max(self.biggest, priority)
            self.tree.set(int(slot), priority ** self.alpha)
''',
        "linear_schedule": '''
def linear_schedule(step, start, end, duration):
    if step >= duration:
        return float(end)
    fraction = step / duration
    return (1 - fraction) * start + fraction * end
''',
        "dqn_targets": '''
def dqn_targets(rewards, next_obs, terminated, target_net, gamma):
    next_q = target_net(next_obs).detach()
    best, _ = torch.max(next_q, dim=-1)
    alive = terminated == 0
    return torch.where(alive, rewards + gamma * best, rewards)
''',
        "double_dqn_targets": '''
def double_dqn_targets(rewards, next_obs, terminated, online_net, target_net, gamma):
    with torch.no_grad():
        chosen = torch.argmax(online_net(next_obs), dim=-1)
        values = target_net(next_obs)[torch.arange(len(chosen)), chosen]
    return (rewards + gamma * values * (1 - terminated)).detach()
''',
        "td_loss": '''
def td_loss(online_net, batch, targets, weights=None):
    q = online_net(batch.obs)[torch.arange(batch.obs.shape[0]), batch.actions]
    error = q - targets
    small = error.abs() <= 1.0
    losses = torch.where(small, 0.5 * error ** 2, error.abs() - 0.5)
    if weights is None:
        weights = torch.ones_like(losses)
    return (weights * losses).sum() / losses.shape[0]
''',
    },
}


def _train_source() -> str:
    return solution_function(ASSIGNMENT, "train_dqn")


def train_mutant(name: str, changes: list[tuple[str, str]] | tuple[str, str], must_fail: tuple[str, ...]) -> Mutant:
    return mutant(ASSIGNMENT, name, "train_dqn", changes, must_fail)


# Mistakes in the training loop. Those judged only by the (slow) learning check are in SLOW_MUTANTS.
MUTANTS += [
    train_mutant("train_unseeded_generator", ("rng = np.random.default_rng(seed)", "rng = np.random.default_rng()"),
                 ("train_dqn_interface",)),
    # the training episodes' returns recorded instead of the greedy evaluations, as in assignment 1
    train_mutant("train_returns_training_episode_returns", [
        ("eval_returns.append(evaluate_greedy(online_net, eval_env, cfg[\"eval_episodes\"], seed + 10_000))", "pass"),
        ("eval_returns = []", "eval_returns, episode_return = [], 0.0"),
        ("        obs = next_obs\n", "        obs = next_obs\n        episode_return += reward\n"),
        ("            obs, _ = env.reset()\n",
         "            obs, _ = env.reset()\n            eval_returns.append(episode_return)\n"
         "            episode_return = 0.0\n"),
    ], ("train_dqn_interface",)),
]
SLOW_MUTANTS = [
    train_mutant("train_never_syncs_target_network", ("target_net.load_state_dict(online_net.state_dict())", "pass"),
                 ("dqn_learns_cartpole",)),
    train_mutant("train_never_learns_from_replay", ("optimizer.step()", "pass"), ("dqn_learns_cartpole",)),
]

# A correct training loop made twenty times slower: each gradient computed twenty times, nineteen of them thrown
# away (zero_grad clears them), so it learns exactly as the solution does but needs about 20 x 37 CPU seconds,
# past the learning check's budget, whatever the machine's load (tests/test_dqn.py). Not among MUTANTS: run in
# process, without the sandbox, nothing bounds its time.
TOO_SLOW = train_mutant("train_twenty_times_slower", (
    "                optimizer.zero_grad()\n",
    "                for _ in range(19):\n"
    "                    td_loss(online_net, batch, targets, weights).backward()\n"
    "                optimizer.zero_grad()\n"), ("dqn_learns_cartpole",))

# A correct training loop that uses randomness differently: exploration from the action space's own seeded
# generator, the buffer seeded with seed + 1, and the target network built separately and loaded.
ALTERNATIVES["other_random_streams"] = {
    "train_dqn": _train_source()
    .replace("target_net = copy.deepcopy(online_net)",
             "target_net = network(obs_dim, n_actions, tuple(cfg[\"hidden_sizes\"]))\n"
             "    target_net.load_state_dict(online_net.state_dict())\n"
             "    env.action_space.seed(seed)")
    .replace("action = int(rng.integers(n_actions))", "action = int(env.action_space.sample())")
    .replace("cfg[\"per_eps\"], seed)", "cfg[\"per_eps\"], seed + 1)")
    .replace("buffer = ReplayBuffer(cfg[\"buffer_size\"], obs_dim, seed)",
             "buffer = ReplayBuffer(cfg[\"buffer_size\"], obs_dim, seed + 1)"),
}

EXPENSIVE = ("dqn_learns_cartpole",)
MUTANTS += [dataclasses.replace(m, slow=True) for m in SLOW_MUTANTS]

# A partly wrong submission graded twice (tests/test_checks.py); training determinism: tests/test_dqn.py.
TWICE = Submission(base="solution", mutants=("dueling_subtracts_max", "per_weights_not_normalised"),
                   deleted=(*EXPENSIVE, "train_dqn_interface"),
                   lost={"dueling_mean_q_is_value": 3.0, "per_importance_weights": 3.0})

E2E = EndToEnd(
    submissions={
        # one realistic mistake (the dueling head subtracts the max advantage), train_dqn left as released
        "buggy": Submission(base="solution", mutants=("dueling_subtracts_max",), unsolved=("train_dqn",),
                            lost={"dueling_mean_q_is_value": 3.0, "train_dqn_interface": 2.0,
                                  "dqn_learns_cartpole": 8.0}),
    },
    failing_property="the mean over actions of Q(s, .) equals V(s)",
    feedback_of="buggy",
    not_in_release=("smooth_l1_loss(q_taken", "self.tree[2 * node]"),
)

# Correct solutions in another numeric style (issue 23): they must keep full marks.
_PER_SOURCE = solution_function(ASSIGNMENT, "PrioritizedReplayBuffer")
ALTERNATIVES["float32"] = {
    # the schedule computed in float32 (7 significant digits; the check once compared with atol 1e-9)
    "linear_schedule": '''
def linear_schedule(step, start, end, duration):
    fraction = np.float32(min(step, duration)) / np.float32(duration)
    return np.float32(start) + (np.float32(end) - np.float32(start)) * fraction
''',
    # a float32 sum tree: its rounded sums can send a value just below the total past the last stored
    # transition, which the sampling clamps
    "PrioritizedReplayBuffer": _PER_SOURCE
    .replace("self.tree = np.zeros(2 * self.leaves)", "self.tree = np.zeros(2 * self.leaves, dtype=np.float32)")
    .replace("slots = np.array([self.find(min(value, below_total)) for value in values], dtype=np.int64)",
             "slots = np.array([min(self.find(min(value, below_total)), len(self) - 1) for value in values],\n"
             "                         dtype=np.int64)"),
}
ALTERNATIVES["loops_and_interp"] = {
    # np.interp (which clamps at both ends), targets and the loss one transition at a time
    "linear_schedule": '''
def linear_schedule(step, start, end, duration):
    return float(np.interp(step, [0, duration], [start, end]))
''',
    "dqn_targets": '''
def dqn_targets(rewards, next_obs, terminated, target_net, gamma):
    targets = []
    with torch.no_grad():
        q_next = target_net(next_obs)
        for i in range(len(rewards)):
            target = rewards[i]
            if terminated[i] == 0:
                target = target + gamma * q_next[i].max()
            targets.append(target)
    return torch.stack(targets)
''',
    "double_dqn_targets": '''
def double_dqn_targets(rewards, next_obs, terminated, online_net, target_net, gamma):
    targets = []
    with torch.no_grad():
        q_online, q_target = online_net(next_obs), target_net(next_obs)
        for i in range(len(rewards)):
            best = int(torch.argmax(q_online[i]))
            targets.append(rewards[i] + gamma * (1 - terminated[i]) * q_target[i, best])
    return torch.stack(targets)
''',
    "td_loss": '''
def td_loss(online_net, batch, targets, weights=None):
    q = online_net(batch.obs)
    total = 0.0
    for i in range(len(targets)):
        error = q[i, int(batch.actions[i])] - targets[i]
        loss = 0.5 * error ** 2 if abs(float(error.detach())) <= 1 else abs(error) - 0.5
        total = total + (loss if weights is None else weights[i] * loss)
    return total / len(targets)
''',
}
