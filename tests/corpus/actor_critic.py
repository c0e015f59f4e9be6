"""Realistic student mistakes (mutants) and differently written correct solutions for assignment 6.

A mutant replaces one answer cell of the instructor solution by a buggy version and names the graded cells
that must lose their points. An alternative replaces several answer cells by a correct solution written
another way; it must keep full marks.
"""

from tests.corpus import EndToEnd, Mutant, Submission, mutant, substituted

ASSIGNMENT = "actor_critic"


def _train(seed="seed", real="~autoreset", terminated="term") -> str:
    """train_a2c of the instructor solution with one expression changed, for the training mutants: the seed
    of the first reset, the mask of real transitions, or the terminal flags stored for the rollout."""
    return substituted(ASSIGNMENT, "train_a2c", ("envs.reset(seed=seed)", f"envs.reset(seed={seed})"),
                       ("torch.as_tensor(~autoreset)", f"torch.as_tensor({real})"),
                       ("torch.as_tensor(term, dtype", f"torch.as_tensor({terminated}, dtype"))


def _gae(bootstrap_cut="terminated", recursion_cut="terminated + truncated") -> str:
    """gae of the instructor solution with the flags that stop bootstrapping, or the recursion, changed."""
    return substituted(ASSIGNMENT, "gae", ("continues = 1.0 - torch.clamp(terminated + truncated, max=1.0)",
                                           f"continues = 1.0 - torch.clamp({recursion_cut}, max=1.0)"),
                       ("gamma * (1.0 - terminated) * next_values", f"gamma * (1.0 - {bootstrap_cut}) * next_values"))


# The least this corpus holds (it only grows): mutants that run by default, alternatives.
FLOOR = (10, 3)

MUTANTS = [
    mutant(ASSIGNMENT, "actor_advantages_not_detached", "actor_loss",
           ("advantages.detach()",
            "advantages"),
           ("actor_loss_no_critic_gradient",)),
    mutant(ASSIGNMENT, "entropy_bonus_wrong_sign", "actor_loss",
           ("return -(log_probs * advantages.detach()).mean() - entropy_coef * entropy.mean()",
            "return -(log_probs * advantages.detach()).mean() + entropy_coef * entropy.mean()"),
           ("entropy_bonus_sign", "actor_loss_value")),
    mutant(ASSIGNMENT, "actor_loss_gradient_ascent_sign", "actor_loss",
           ("return -(log_probs * advantages.detach()).mean() - entropy_coef * entropy.mean()",
            "return (log_probs * advantages.detach()).mean() - entropy_coef * entropy.mean()"),
           ("actor_loss_value", "baseline_unbiased", "slides_baseline_example")),
    mutant(ASSIGNMENT, "baseline_depends_on_the_action", "mc_advantages",
           ("return (returns - values).detach()",
            "return (returns - torch.minimum(values, returns)).detach()"),
           ("baseline_unbiased", "slides_baseline_example", "mdp_advantages")),
    mutant(ASSIGNMENT, "advantage_wrong_way_round", "mc_advantages",
           ("returns - values",
            "values - returns"),
           ("baseline_unbiased", "slides_baseline_example")),
    mutant(ASSIGNMENT, "td_bootstraps_through_terminal", "td_advantages",
           ("(1.0 - terminated) * next_values",
            "next_values"),
           ("mdp_advantages",)),
    Mutant("gae_bootstraps_through_terminal", "gae", _gae(bootstrap_cut="0.0"),
           ("gae_lambda_limits", "gae_episode_boundaries")),
    Mutant("gae_recursion_not_reset_at_episode_end", "gae", _gae(recursion_cut="0.0 * terminated"),
           ("gae_lambda_limits", "gae_episode_boundaries")),
    Mutant("gae_truncation_treated_as_termination", "gae",
           _gae(bootstrap_cut="torch.clamp(terminated + truncated, max=1.0)"),
           ("gae_lambda_limits", "gae_episode_boundaries")),
    Mutant("gae_recursion_runs_through_truncation", "gae", _gae(recursion_cut="terminated"),
           ("gae_lambda_limits", "gae_episode_boundaries")),
    mutant(ASSIGNMENT, "critic_targets_not_detached", "critic_loss",
           ("targets.detach()",
            "targets"),
           ("critic_loss",)),
    mutant(ASSIGNMENT, "critic_loss_not_squared", "critic_loss",
           ("(values - targets.detach()) ** 2",
            "values - targets.detach()).abs("),
           ("critic_loss",)),
    mutant(ASSIGNMENT, "q_values_not_detached", "q_actor_critic_loss",
           ("q_values.detach()",
            "q_values"),
           ("q_actor_critic_loss",)),
    mutant(ASSIGNMENT, "value_network_keeps_last_axis", "ValueNetwork",
           ("torch.float32)).squeeze(-1",
            "torch.float32)"),
           ("value_network",)),
    mutant(ASSIGNMENT, "value_network_ignores_hidden_sizes", "ValueNetwork",
           ('''        layers, last = [], obs_dim
        for size in hidden_sizes:
            layers += [nn.Linear(last, size), nn.Tanh()]
            last = size
        layers.append(nn.Linear(last, 1))
        self.net = nn.Sequential(*layers)
''',
            '''        self.net = nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, 1))
'''),
           ("value_network",)),
    Mutant("autoreset_step_treated_as_transition", "train_a2c", _train(real="np.ones(n_envs, dtype=bool)"),
           ("critic_probe_values",)),
    Mutant("training_bootstraps_through_terminal", "train_a2c", _train(terminated="np.zeros(n_envs)"),
           ("critic_probe_values",)),
    Mutant("environments_reset_without_seed", "train_a2c", _train(seed="None"), ("train_a2c_interface",)),
    # GAE computed without the critic (values taken as 0): the advantages are 8-step reward sums, almost
    # constant on CartPole, so the actor gets no signal (what a2c_learns_cartpole targets)
    Mutant("gae_without_the_critic_values", "train_a2c", substituted(
        ASSIGNMENT, "train_a2c", ("gae(rewards, values.detach(), value_net(obs),",
                                  "gae(rewards, torch.zeros_like(values), torch.zeros(n_envs),")),
        ("a2c_learns_cartpole",), slow=True),
]

ALTERNATIVES = {
    "vectorised_and_functional": {
        "ValueNetwork": '''
class ValueNetwork(torch.nn.Module):
    def __init__(self, obs_dim, hidden_sizes=(64,)):
        super().__init__()
        sizes = [obs_dim, *hidden_sizes]
        self.hidden = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.head = torch.nn.Linear(sizes[-1], 1)

    def forward(self, obs):
        x = torch.as_tensor(obs).float()
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.head(x)[..., 0]
''',
        "q_actor_critic_loss": '''
def q_actor_critic_loss(log_probs, q_values):
    with torch.no_grad():
        weights = q_values.clone()
    return torch.mean(-weights * log_probs)
''',
        "mc_advantages": '''
def mc_advantages(returns, values):
    return torch.sub(torch.as_tensor(returns), torch.as_tensor(values).detach())
''',
        "td_advantages": '''
def td_advantages(rewards, values, next_values, terminated, gamma):
    bootstrap = torch.where(terminated.bool(), torch.zeros_like(next_values), next_values)
    return (rewards + gamma * bootstrap - values).detach()
''',
        "actor_loss": '''
def actor_loss(log_probs, advantages, entropy, entropy_coef):
    weighted = log_probs.flatten() * advantages.flatten().detach()
    return -weighted.sum() / weighted.numel() - entropy_coef * entropy.flatten().mean()
''',
        "critic_loss": '''
import torch.nn.functional as F

def critic_loss(values, targets):
    return F.mse_loss(values, targets.detach())
''',
        "gae": '''
def gae(rewards, values, last_values, terminated, truncated, gamma, lam):
    # explicit sum of discounted TD errors up to the episode's end (no backward recursion)
    values = values.detach().double()
    rewards, terminated, truncated = rewards.double(), terminated.double(), truncated.double()
    steps = rewards.shape[0]
    next_values = torch.cat([values[1:], last_values.detach().double()[None]], dim=0)
    deltas = rewards + gamma * (1 - terminated) * next_values - values
    ended = ((terminated + truncated) > 0).double()
    advantages = torch.zeros_like(deltas)
    for t in range(steps):
        alive = torch.ones_like(deltas[0])
        for k in range(t, steps):
            advantages[t] += alive * (gamma * lam) ** (k - t) * deltas[k]
            alive = alive * (1 - ended[k])
    return advantages.float(), (advantages + values).float()
''',
        "train_a2c": '''
class Policy(torch.nn.Module):
    def __init__(self, obs_dim, n_actions, hidden_sizes):
        super().__init__()
        sizes = [obs_dim, *hidden_sizes]
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]
        self.body = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], n_actions))

    def forward(self, obs):
        return self.body(torch.as_tensor(obs, dtype=torch.float32))


def train_a2c(n_envs, total_steps, config, seed):
    torch.manual_seed(seed)
    envs = gym.vector.SyncVectorEnv([lambda: gym.make(config.get("env_id", "CartPole-v1"))
                                     for _ in range(n_envs)])
    obs_dim = envs.single_observation_space.shape[0]
    policy = Policy(obs_dim, envs.single_action_space.n, config["hidden_sizes"])
    value_net = ValueNetwork(obs_dim, config["hidden_sizes"])
    actor_opt = torch.optim.Adam(policy.parameters(), lr=config["learning_rate"])
    critic_opt = torch.optim.Adam(value_net.parameters(), lr=config["learning_rate"])
    obs, _ = envs.reset(seed=seed)
    previous_done = np.zeros(n_envs, dtype=bool)
    totals = np.zeros(n_envs)
    finished = []
    n_updates = int(np.ceil(total_steps / (n_envs * config["n_steps"])))
    for update in range(n_updates):
        batch = {"obs": [], "act": [], "rew": [], "term": [], "trunc": [], "mask": []}
        for _ in range(config["n_steps"]):
            with torch.no_grad():
                act = torch.distributions.Categorical(logits=policy(obs)).sample().numpy()
            new_obs, rew, term, trunc, _ = envs.step(act)
            mask = ~previous_done
            for key, value in (("obs", obs), ("act", act), ("rew", rew), ("term", term), ("trunc", trunc),
                               ("mask", mask)):
                batch[key].append(np.asarray(value))
            totals += np.where(mask, rew, 0.0)
            done_now = (term | trunc) & mask
            for i in range(n_envs):
                if done_now[i]:
                    finished.append(totals[i])
                    totals[i] = 0.0
            previous_done = done_now
            obs = new_obs
        obs_b = torch.as_tensor(np.stack(batch["obs"]), dtype=torch.float32)
        act_b = torch.as_tensor(np.stack(batch["act"]))
        mask_b = torch.as_tensor(np.stack(batch["mask"]))
        values = value_net(obs_b)
        advantages, targets = gae(torch.as_tensor(np.stack(batch["rew"]), dtype=torch.float32), values.detach(),
                                  value_net(obs).detach(),
                                  torch.as_tensor(np.stack(batch["term"]), dtype=torch.float32),
                                  torch.as_tensor(np.stack(batch["trunc"]), dtype=torch.float32),
                                  config["gamma"], config["gae_lambda"])
        dist = torch.distributions.Categorical(logits=policy(obs_b))
        a_loss = actor_loss(dist.log_prob(act_b)[mask_b], advantages[mask_b], dist.entropy()[mask_b],
                            config["entropy_coef"])
        c_loss = config["value_coef"] * critic_loss(values[mask_b], targets[mask_b])
        fraction = 1.0 - (update + 1) / n_updates
        for opt in (actor_opt, critic_opt):
            for group in opt.param_groups:
                group["lr"] = config["learning_rate"] * fraction
            opt.zero_grad()
        (a_loss + c_loss).backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), config["max_grad_norm"])
        torch.nn.utils.clip_grad_norm_(value_net.parameters(), config["max_grad_norm"])
        actor_opt.step()
        critic_opt.step()
    return policy, value_net, np.array(finished)
''',
    },
}

EXPENSIVE = ("a2c_learns_cartpole",)

# A partly wrong submission (GAE runs through truncations, autoreset steps trained on) graded twice
# (tests/test_checks.py).
TWICE = Submission(base="solution", mutants=("gae_recursion_runs_through_truncation",
                                             "autoreset_step_treated_as_transition"), deleted=EXPENSIVE,
                   lost={"gae_lambda_limits": 4.0, "gae_episode_boundaries": 4.0, "critic_probe_values": 5.0})

E2E = EndToEnd(
    submissions={
        # answers that alone earn these cells (the other answers stay unsolved)
        "partial": Submission(solved=("q_actor_critic_loss", "mc_advantages", "actor_loss", "td_advantages"),
                              earned={"actor_loss_value": 3.0, "baseline_unbiased": 4.0,
                                      "slides_baseline_example": 2.0, "mdp_advantages": 4.0}),
    },
    failing_property="GAE with lambda=0 equals the TD errors",
)

# Correct solutions in another numeric style (issue 23): they must keep full marks.
ALTERNATIVES["float32"] = {
    # every loss and advantage computed in float32 (the checks pass float64 tensors)
    "q_actor_critic_loss": '''
def q_actor_critic_loss(log_probs, q_values):
    return -(log_probs.float() * q_values.detach().float()).mean()
''',
    "mc_advantages": '''
def mc_advantages(returns, values):
    return (returns.float() - values.float()).detach()
''',
    "td_advantages": '''
def td_advantages(rewards, values, next_values, terminated, gamma):
    r, v, nv, d = (x.float() for x in (rewards, values, next_values, terminated))
    return (r + np.float32(gamma) * (1.0 - d) * nv - v).detach()
''',
    "actor_loss": '''
def actor_loss(log_probs, advantages, entropy, entropy_coef):
    return -(log_probs.float() * advantages.detach().float()).mean() - np.float32(entropy_coef) * entropy.float().mean()
''',
    "critic_loss": '''
def critic_loss(values, targets):
    return torch.nn.functional.mse_loss(values.float(), targets.detach().float())
''',
    "gae": '''
def gae(rewards, values, last_values, terminated, truncated, gamma, lam):
    rewards, terminated, truncated = rewards.float(), terminated.float(), truncated.float()
    values, last_values = values.detach().float(), last_values.detach().float()
    next_values = torch.cat([values[1:], last_values.reshape(1, -1)])
    deltas = rewards + gamma * (1.0 - terminated) * next_values - values
    advantages = torch.zeros_like(deltas)
    running = torch.zeros_like(deltas[0])
    for t in range(deltas.shape[0] - 1, -1, -1):
        running = deltas[t] + gamma * lam * (1.0 - torch.maximum(terminated[t], truncated[t])) * running
        advantages[t] = running
    return advantages, advantages + values
''',
}
ALTERNATIVES["loops"] = {
    # GAE as the explicit sum of discounted TD errors within each episode, one environment and one step at a
    # time in Python floats; the losses as Python sums
    "gae": '''
def gae(rewards, values, last_values, terminated, truncated, gamma, lam):
    steps, n_envs = rewards.shape
    v = values.detach().double().tolist()
    last = last_values.detach().double().reshape(-1).tolist()
    advantages = [[0.0] * n_envs for _ in range(steps)]
    for e in range(n_envs):
        for t in range(steps):
            total, weight = 0.0, 1.0
            for j in range(t, steps):
                next_value = v[j + 1][e] if j + 1 < steps else last[e]
                delta = float(rewards[j, e]) + gamma * (1.0 - float(terminated[j, e])) * next_value - v[j][e]
                total += weight * delta
                if terminated[j, e] or truncated[j, e]:
                    break
                weight *= gamma * lam
            advantages[t][e] = total
    advantages = torch.tensor(advantages, dtype=torch.float64)
    return advantages, advantages + values.detach().double()
''',
    "critic_loss": '''
def critic_loss(values, targets):
    flat_v, flat_t = values.reshape(-1), targets.detach().reshape(-1)
    total = 0.0
    for i in range(flat_v.shape[0]):
        total = total + (flat_v[i] - flat_t[i]) ** 2
    return total / flat_v.shape[0]
''',
    "actor_loss": '''
def actor_loss(log_probs, advantages, entropy, entropy_coef):
    lp, adv, ent = log_probs.reshape(-1), advantages.detach().reshape(-1), entropy.reshape(-1)
    total = 0.0
    for i in range(lp.shape[0]):
        total = total - lp[i] * adv[i] - entropy_coef * ent[i]
    return total / lp.shape[0]
''',
}
