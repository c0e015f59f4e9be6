"""Realistic student mistakes (mutants) and differently written correct solutions for assignment 7 (learning
from logs).

A mutant replaces one answer cell of the instructor solution by a buggy version and names the graded cells
(checks) that must lose their points; most are derived from the solution by substituting one expression, so
they stay in step with it. An alternative replaces several answer cells by a correct solution written another
way; it must keep full marks.
"""

from tests.corpus import EndToEnd, Mutant, Submission, mutant, substituted

ASSIGNMENT = "learning_from_logs"


def _swap(name: str, *replacements: tuple[str, str]) -> str:
    """The instructor's answer cell for ``name`` with each ``old`` expression (present once) replaced."""
    return substituted(ASSIGNMENT, name, *replacements)


# The least this corpus holds (it only grows): mutants that run by default, alternatives.
FLOOR = (12, 5)

MUTANTS = [
    # --- importance weights and IPS ---------------------------------------------------------------------------
    Mutant("weights_flat_take_picks_the_wrong_action", "importance_weights", _swap(
        "importance_weights", ("np.asarray(target_probs)[np.arange(len(actions)), actions]",
                               "np.take(np.asarray(target_probs), actions)")),
        ("importance_weights", "ips_unbiased")),
    Mutant("weights_target_of_its_favourite_action", "importance_weights", _swap(
        "importance_weights", ("np.asarray(target_probs)[np.arange(len(actions)), actions]",
                               "np.asarray(target_probs).max(axis=1)")),
        ("importance_weights", "ips_unbiased")),
    Mutant("weights_divide_by_the_target_probability", "importance_weights", _swap(
        "importance_weights", ("return chosen / np.asarray(log[\"propensity\"])",
                               "return np.asarray(log[\"propensity\"]) / np.maximum(chosen, 1e-12)")),
        ("importance_weights", "ips_unbiased")),
    # rows picked by the user's id instead of by the round (row i of target_probs is round i's user)
    Mutant("weights_rows_by_user_id", "importance_weights", _swap(
        "importance_weights", ("np.asarray(target_probs)[np.arange(len(actions)), actions]",
                               "np.asarray(target_probs)[np.asarray(log[\"context\"]), actions]")),
        ("importance_weights",)),
    Mutant("ips_sums_instead_of_averaging", "ips_estimate", _swap(
        "ips_estimate", ("np.mean(weights * ", "np.sum(weights * ")), ("ips_unbiased",)),
    Mutant("ips_forgets_the_weights", "ips_estimate", _swap(
        "ips_estimate", ("np.mean(weights * np.asarray(log[\"reward\"]))", "np.mean(np.asarray(log[\"reward\"]))")),
        ("ips_unbiased",)),
    # --- SNIPS and clipping -------------------------------------------------------------------------------
    Mutant("snips_forgets_to_self_normalise", "snips_estimate", _swap(
        "snips_estimate", ("/ np.sum(weights))", "/ len(weights))")), ("snips_properties",)),
    mutant(ASSIGNMENT, "snips_normalises_by_the_target_probabilities", "snips_estimate",
           [("    weights = importance_weights(log, target_probs)\n",
             "    actions = np.asarray(log[\"action\"])\n"
             "    chosen = np.asarray(target_probs)[np.arange(len(actions)), actions]\n"
             "    weights = importance_weights(log, target_probs)\n"),
            ("/ np.sum(weights))", "/ np.sum(chosen))")],
           ("snips_properties",)),
    mutant(ASSIGNMENT, "clipping_the_product_not_the_weight", "clipped_ips_estimate",
           ('''    weights = np.minimum(importance_weights(log, target_probs), max_weight)
    return float(np.mean(weights * np.asarray(log["reward"])))
''',
            '''    weights = importance_weights(log, target_probs)
    return float(np.mean(np.minimum(weights * np.asarray(log["reward"]), max_weight)))
'''),
           ("clipped_ips",)),
    Mutant("clipping_from_below", "clipped_ips_estimate", _swap(
        "clipped_ips_estimate", ("np.minimum(importance_weights", "np.maximum(importance_weights")),
        ("clipped_ips",)),
    # --- direct method and doubly robust -------------------------------------------------------------------
    mutant(ASSIGNMENT, "dm_only_the_logged_action", "dm_estimate",
           ('''    return float(np.mean(np.sum(np.asarray(target_probs) * np.asarray(reward_model), axis=1)))
''',
            '''    actions = np.asarray(log["action"])
    return float(np.mean(np.asarray(reward_model)[np.arange(len(actions)), actions]))
'''),
           ("direct_method",)),
    mutant(ASSIGNMENT, "dm_rows_by_user_id", "dm_estimate",
           ("np.sum(np.asarray(target_probs) * np.asarray(reward_model), axis=1)",
            "np.sum((np.asarray(target_probs) * np.asarray(reward_model))[np.asarray(log[\"context\"])], axis=1)"),
           ("direct_method",)),
    Mutant("dm_averages_the_items_uniformly", "dm_estimate", _swap(
        "dm_estimate", ("np.mean(np.sum(np.asarray(target_probs) * np.asarray(reward_model), axis=1))",
                        "np.mean(np.asarray(reward_model))")), ("direct_method",)),
    Mutant("dr_correction_sign_flipped", "dr_estimate", _swap(
        "dr_estimate", ("reward_model) + float(np.mean(correction))", "reward_model) - float(np.mean(correction))")),
        ("doubly_robust_unbiased",)),
    Mutant("dr_reward_model_term_sign_flipped", "dr_estimate", _swap(
        "dr_estimate", ("(np.asarray(log[\"reward\"]) - predicted)", "(np.asarray(log[\"reward\"]) + predicted)")),
        ("doubly_robust_unbiased", "doubly_robust_variance")),
    Mutant("dr_residual_not_importance_weighted", "dr_estimate", _swap(
        "dr_estimate", ("importance_weights(log, target_probs) * (", "(")), ("doubly_robust_unbiased",)),
    Mutant("dr_adds_ips_of_the_reward_not_of_the_residual", "dr_estimate", _swap(
        "dr_estimate", ("(np.asarray(log[\"reward\"]) - predicted)", "np.asarray(log[\"reward\"])")),
        ("doubly_robust_unbiased", "doubly_robust_variance")),
    Mutant("dr_model_at_its_best_item_not_the_logged_one", "dr_estimate", _swap(
        "dr_estimate", ("reward_model[np.arange(len(actions)), actions]", "reward_model.max(axis=1)")),
        ("doubly_robust_unbiased",)),
    Mutant("dr_model_rows_by_user_id", "dr_estimate", _swap(
        "dr_estimate", ("reward_model[np.arange(len(actions)), actions]",
                        "reward_model[np.asarray(log[\"context\"]), actions]")),
        ("doubly_robust_unbiased",)),
    # --- clicks ---------------------------------------------------------------------------------------------
    Mutant("clicks_weighted_by_rank_not_by_examination", "debiased_relevance", _swap(
        "debiased_relevance", ("clicks / examination[: len(ranking)]", "clicks * np.arange(1, len(ranking) + 1)")),
        ("debiased_relevance_unbiased",)),
    Mutant("clicks_naive_click_through_rate", "debiased_relevance", _swap(
        "debiased_relevance", ("clicks / examination[: len(ranking)]", "clicks")),
        ("debiased_relevance_unbiased", "click_ranker_learns")),
    Mutant("clicks_propensity_of_the_document_not_its_position", "debiased_relevance", _swap(
        "debiased_relevance", ("clicks / examination[: len(ranking)]", "clicks / examination[ranking]")),
        ("debiased_relevance_unbiased",)),
    Mutant("clicks_averaged_over_all_sessions", "debiased_relevance", _swap(
        "debiased_relevance", ("np.maximum(sessions, 1)[:, None]", "len(click_log[\"query\"])")),
        ("debiased_relevance_unbiased",)),
    Mutant("ranker_ascends_the_loss", "train_click_ranker", _swap(
        "train_click_ranker", ("loss = ((scorer(x) - y) ** 2).mean()", "loss = -((scorer(x) - y) ** 2).mean()")),
        ("click_ranker_learns",)),
    # --- behaviour cloning ----------------------------------------------------------------------------------
    Mutant("cloning_only_the_rewarded_rounds", "behaviour_cloning", _swap(
        "behaviour_cloning",
        ("    x = torch.as_tensor(np.asarray(log[\"features\"]), dtype=torch.float32)\n",
         "    clicked = np.asarray(log[\"reward\"]) > 0\n"
         "    log = {key: np.asarray(value)[clicked] for key, value in log.items()}\n"
         "    x = torch.as_tensor(np.asarray(log[\"features\"]), dtype=torch.float32)\n")),
        ("behaviour_cloning",)),
    Mutant("cloning_the_greedy_action_of_the_policy", "behaviour_cloning", _swap(
        "behaviour_cloning", ("nn.functional.cross_entropy(policy(x), actions)",
                              "nn.functional.cross_entropy(100.0 * policy(x), actions)")),
        ("behaviour_cloning",)),
    # --- LinUCB ---------------------------------------------------------------------------------------------
    Mutant("ucb_width_without_the_inverse", "linucb_select", _swap(
        "linucb_select", ("np.sqrt(x @ A_inv @ x)", "np.sqrt(x @ A[arm] @ x)")), ("linucb_select",)),
    Mutant("ucb_estimate_without_the_inverse", "linucb_select", _swap(
        "linucb_select", ("theta = A_inv @ b[arm]", "theta = b[arm]")), ("linucb_select",)),
    Mutant("ucb_width_not_square_rooted", "linucb_select", _swap(
        "linucb_select", ("np.sqrt(x @ A_inv @ x)", "(x @ A_inv @ x)")), ("linucb_select",)),
    Mutant("ucb_argmin", "linucb_select", _swap(
        "linucb_select", ("int(np.argmax(ucb))", "int(np.argmin(ucb))")), ("linucb_select", "linucb_regret")),
    Mutant("ucb_alpha_under_the_square_root", "linucb_select", _swap(
        "linucb_select", ("alpha * np.sqrt(x @ A_inv @ x)", "np.sqrt(alpha * x @ A_inv @ x)")), ("linucb_select",)),
    Mutant("ucb_alpha_on_the_estimate", "linucb_select", _swap(
        "linucb_select", ("x @ theta + alpha * np.sqrt(x @ A_inv @ x)", "alpha * x @ theta + np.sqrt(x @ A_inv @ x)")),
        ("linucb_select",)),
    Mutant("update_every_arm", "linucb_update", _swap(
        "linucb_update", ("A[action] += np.outer(x, x)", "A += np.outer(x, x)")), ("linucb_update",)),
    Mutant("update_b_without_the_reward", "linucb_update", _swap(
        "linucb_update", ("b[action] += reward * x", "b[action] += x")), ("linucb_update",)),
    Mutant("training_discards_the_update", "train_linucb", _swap(
        "train_linucb", ("A, b = linucb_update(A, b, x, action, reward)", "linucb_update(A, b, x, action, reward)")),
        ("linucb_regret",)),
    Mutant("training_reseeds_every_round", "train_linucb", _swap(
        "train_linucb", ("env.reset(seed=seed if t == 0 else None)", "env.reset(seed=seed)")), ("linucb_regret",)),
]

ALTERNATIVES = {
    "float32_everywhere": {
        # every estimate in single precision (about 7 significant digits), sizes taken from log["context"]
        "importance_weights": """
def importance_weights(log, target_probs):
    rounds = np.arange(len(log["context"]))
    chosen = np.asarray(target_probs, dtype=np.float32)[rounds, np.asarray(log["action"])]
    return chosen / np.asarray(log["propensity"], dtype=np.float32)
""",
        "ips_estimate": """
def ips_estimate(log, target_probs):
    weights = importance_weights(log, target_probs).astype(np.float32)
    return float(np.mean(weights * np.asarray(log["reward"], dtype=np.float32), dtype=np.float32))
""",
        "snips_estimate": """
def snips_estimate(log, target_probs):
    weights = importance_weights(log, target_probs).astype(np.float32)
    rewards = np.asarray(log["reward"], dtype=np.float32)
    return float(np.float32((weights * rewards).sum(dtype=np.float32)) / weights.sum(dtype=np.float32))
""",
        "clipped_ips_estimate": """
def clipped_ips_estimate(log, target_probs, max_weight):
    weights = np.minimum(importance_weights(log, target_probs).astype(np.float32), np.float32(max_weight))
    return float(np.mean(weights * np.asarray(log["reward"], dtype=np.float32), dtype=np.float32))
""",
        "dm_estimate": """
def dm_estimate(log, target_probs, reward_model):
    per_round = (np.asarray(target_probs, dtype=np.float32) * np.asarray(reward_model, dtype=np.float32)).sum(axis=1)
    return float(per_round.mean(dtype=np.float32))
""",
        "dr_estimate": """
def dr_estimate(log, target_probs, reward_model):
    model = np.asarray(reward_model, dtype=np.float32)
    rounds = np.arange(len(log["context"]))
    residual = np.asarray(log["reward"], dtype=np.float32) - model[rounds, np.asarray(log["action"])]
    correction = (importance_weights(log, target_probs).astype(np.float32) * residual).mean(dtype=np.float32)
    return float(np.float32(dm_estimate(log, target_probs, reward_model)) + correction)
""",
        "debiased_relevance": """
def debiased_relevance(click_log, examination, n_queries, n_docs):
    totals = np.zeros((n_queries, n_docs), dtype=np.float32)
    weighted = np.asarray(click_log["clicks"], dtype=np.float32) / np.asarray(examination, dtype=np.float32)
    rows = np.repeat(np.asarray(click_log["query"]), np.shape(click_log["ranking"])[1])
    np.add.at(totals, (rows, np.asarray(click_log["ranking"]).ravel()), weighted.ravel())
    sessions = np.bincount(click_log["query"], minlength=n_queries).astype(np.float32)
    return totals / np.maximum(sessions, 1)[:, None]
""",
        "linucb_select": """
def linucb_select(A, b, x, alpha):
    A32, b32, x32 = (np.asarray(v, dtype=np.float32) for v in (A, b, x))
    inverses = np.linalg.inv(A32)
    theta = np.einsum("kij,kj->ki", inverses, b32)
    widths = np.sqrt(np.maximum(np.einsum("i,kij,j->k", x32, inverses, x32), 0))
    return int(np.argmax(theta @ x32 + np.float32(alpha) * widths))
""",
        "linucb_update": """
def linucb_update(A, b, x, action, reward):
    A, b = np.array(A, dtype=np.float32), np.array(b, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32)
    A[action] += np.outer(x, x)
    b[action] += np.float32(reward) * x
    return A, b
""",
        "train_linucb": """
def train_linucb(env, n_rounds, alpha, seed):
    n_items, d = env.action_space.n, env.observation_space.shape[0]
    A, b = np.stack([np.eye(d, dtype=np.float32)] * n_items), np.zeros((n_items, d), dtype=np.float32)
    actions, rewards = np.zeros(n_rounds, dtype=np.int64), np.zeros(n_rounds)
    for t in range(n_rounds):
        x, _ = env.reset(seed=seed if t == 0 else None)  # float32 observations, kept as they are
        actions[t] = linucb_select(A, b, x, alpha)
        rewards[t] = env.step(int(actions[t]))[1]
        A, b = linucb_update(A, b, x, actions[t], rewards[t])
    return {"actions": actions, "rewards": rewards}
""",
    },
    "another_formula": {
        # DR as IPS plus the model's own correction, sums in another order, least squares instead of inverses
        "importance_weights": """
def importance_weights(log, target_probs):
    n = np.shape(log["features"])[0]
    mask = np.arange(np.shape(target_probs)[1])[None, :] == np.asarray(log["action"])[:n, None]
    return np.where(mask, target_probs, 0.0).sum(axis=1) / log["propensity"]
""",
        "ips_estimate": """
def ips_estimate(log, target_probs):
    import math

    return math.fsum(importance_weights(log, target_probs)[::-1] * log["reward"][::-1]) / len(log["reward"])
""",
        "snips_estimate": """
def snips_estimate(log, target_probs):
    weights = importance_weights(log, target_probs)
    shares = weights / weights.max()  # the common scale cancels
    return float(shares @ log["reward"] / shares.sum())
""",
        "clipped_ips_estimate": """
def clipped_ips_estimate(log, target_probs, max_weight):
    weights = importance_weights(log, target_probs)
    return float(np.mean(np.where(weights > max_weight, max_weight, weights) * log["reward"]))
""",
        "dm_estimate": """
def dm_estimate(log, target_probs, reward_model):
    return float(np.trace(np.asarray(target_probs) @ np.asarray(reward_model).T) / len(log["action"]))
""",
        "dr_estimate": """
def dr_estimate(log, target_probs, reward_model):
    # DR = IPS + DM - (the IPS estimate of the model's own prediction)
    rounds = np.arange(len(log["action"]))
    weights = importance_weights(log, target_probs)
    predicted = np.asarray(reward_model)[rounds, log["action"]]
    return (ips_estimate(log, target_probs) + dm_estimate(log, target_probs, reward_model)
            - float(np.mean(weights * predicted)))
""",
        "linucb_select": """
def linucb_select(A, b, x, alpha):
    ucb = []
    for A_a, b_a in zip(A, b):
        theta = np.linalg.lstsq(A_a, b_a, rcond=None)[0]
        chol = np.linalg.cholesky(A_a)
        z = np.linalg.solve(chol, x)  # x^T A^-1 x = |L^-1 x|^2
        ucb.append(theta @ x + alpha * np.linalg.norm(z))
    return int(np.argmax(ucb))
""",
    },
    "vectorised": {
        "importance_weights": '''
def importance_weights(log, target_probs):
    actions = np.asarray(log["action"])[:, None]
    return np.take_along_axis(np.asarray(target_probs), actions, axis=1)[:, 0] / log["propensity"]
''',
        "snips_estimate": '''
def snips_estimate(log, target_probs):
    return float(np.average(log["reward"], weights=importance_weights(log, target_probs)))
''',
        "clipped_ips_estimate": '''
def clipped_ips_estimate(log, target_probs, max_weight):
    return float(np.clip(importance_weights(log, target_probs), None, max_weight) @ log["reward"] / len(log["reward"]))
''',
        "dm_estimate": '''
def dm_estimate(log, target_probs, reward_model):
    return float(np.einsum("ia,ia->i", target_probs, reward_model).mean())
''',
        "dr_estimate": '''
def dr_estimate(log, target_probs, reward_model):
    one_hot = np.eye(np.shape(target_probs)[1])[log["action"]]
    weights = (one_hot * target_probs).sum(axis=1) / log["propensity"]
    residual = log["reward"] - (one_hot * reward_model).sum(axis=1)
    return float(((target_probs * reward_model).sum(axis=1) + weights * residual).mean())
''',
        "debiased_relevance": '''
def debiased_relevance(click_log, examination, n_queries, n_docs):
    queries = np.repeat(click_log["query"], click_log["ranking"].shape[1])
    weighted = (click_log["clicks"] / np.asarray(examination)[None, :]).ravel()
    totals = np.zeros((n_queries, n_docs))
    np.add.at(totals, (queries, click_log["ranking"].ravel()), weighted)
    counts = np.bincount(click_log["query"], minlength=n_queries)
    return np.divide(totals, counts[:, None], out=np.zeros_like(totals), where=counts[:, None] > 0)
''',
        "linucb_select": '''
def linucb_select(A, b, x, alpha):
    theta = np.linalg.solve(A, b[:, :, None])[:, :, 0]
    widths = np.sqrt(np.einsum("i,kij,j->k", x, np.linalg.inv(A), x))
    ucb = theta @ x + alpha * widths
    return int(np.flatnonzero(ucb == ucb.max())[-1])  # ties: the last best item
''',
        "linucb_update": '''
def linucb_update(A, b, x, action, reward):
    A[action] = A[action] + x[:, None] * x[None, :]
    b[action] = b[action] + reward * x
    return A, b
''',
    },
    "loops_and_closed_forms": {
        "importance_weights": '''
def importance_weights(log, target_probs):
    weights = []
    for i, action in enumerate(log["action"]):
        weights.append(target_probs[i][action] / log["propensity"][i])
    return np.array(weights)
''',
        "ips_estimate": '''
def ips_estimate(log, target_probs):
    total = 0.0
    for w, r in zip(importance_weights(log, target_probs), log["reward"]):
        total += w * r
    return total / len(log["reward"])
''',
        "clipped_ips_estimate": '''
def clipped_ips_estimate(log, target_probs, max_weight):
    total = 0.0
    for w, r in zip(importance_weights(log, target_probs), log["reward"]):
        total += (max_weight if w > max_weight else w) * r
    return total / len(log["reward"])
''',
        "debiased_relevance": '''
def debiased_relevance(click_log, examination, n_queries, n_docs):
    estimates = np.zeros((n_queries, n_docs))
    for q in range(n_queries):
        sessions = np.flatnonzero(click_log["query"] == q)
        for s in sessions:
            for position, doc in enumerate(click_log["ranking"][s]):
                estimates[q, doc] += click_log["clicks"][s][position] / examination[position] / len(sessions)
    return estimates
''',
        "train_click_ranker": '''
class ClosedFormScorer(nn.Module):
    def __init__(self, weights, bias):
        super().__init__()
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))
        self.bias = float(bias)

    def forward(self, documents):
        return documents @ self.weights + self.bias


def train_click_ranker(features, targets, config, seed):
    # ordinary least squares in closed form: the minimiser of the same mean squared error
    x = np.asarray(features, dtype=np.float64).reshape(-1, features.shape[-1])
    design = np.hstack([x, np.ones((len(x), 1))])
    solution, *_ = np.linalg.lstsq(design, np.asarray(targets, dtype=np.float64).ravel(), rcond=None)
    return ClosedFormScorer(solution[:-1], solution[-1])
''',
        "behaviour_cloning": '''
def behaviour_cloning(log, n_items, config, seed):
    # minibatch SGD with momentum instead of full-batch Adam
    torch.manual_seed(seed)
    x = torch.as_tensor(np.asarray(log["features"]), dtype=torch.float32)
    actions = torch.as_tensor(np.asarray(log["action"]), dtype=torch.long)
    policy = nn.Sequential(nn.Linear(x.shape[1], n_items))
    optimizer = torch.optim.SGD(policy.parameters(), lr=1.0, momentum=0.9)
    for _ in range(40):
        for batch in torch.randperm(len(x)).split(500):
            optimizer.zero_grad()
            nn.functional.cross_entropy(policy(x[batch]), actions[batch]).backward()
            optimizer.step()
    return policy
''',
        "train_linucb": '''
def train_linucb(env, n_rounds, alpha, seed):
    # keeps the inverses up to date with the Sherman-Morrison formula instead of inverting every round
    n_items, d = env.action_space.n, env.observation_space.shape[0]
    A_inv = np.stack([np.eye(d)] * n_items)
    b = np.zeros((n_items, d))
    history = {"actions": np.zeros(n_rounds, dtype=int), "rewards": np.zeros(n_rounds)}
    for t in range(n_rounds):
        x = env.reset(seed=seed if t == 0 else None)[0].astype(float)
        ucb = [x @ A_inv[k] @ b[k] + alpha * np.sqrt(x @ A_inv[k] @ x) for k in range(n_items)]
        action = int(np.argmax(ucb))
        reward = env.step(action)[1]
        u = A_inv[action] @ x
        A_inv[action] -= np.outer(u, u) / (1.0 + x @ u)
        b[action] += reward * x
        history["actions"][t], history["rewards"][t] = action, reward
    return history
''',
    },
    "torch_estimators": {
        "importance_weights": '''
def importance_weights(log, target_probs):
    probs = torch.as_tensor(target_probs, dtype=torch.float64)
    actions = torch.as_tensor(log["action"]).long()
    return (probs.gather(1, actions[:, None])[:, 0] / torch.as_tensor(log["propensity"])).numpy()
''',
        "snips_estimate": '''
def snips_estimate(log, target_probs):
    w = torch.as_tensor(importance_weights(log, target_probs))
    return (w * torch.as_tensor(log["reward"])).sum().item() / w.sum().item()
''',
        "dm_estimate": '''
def dm_estimate(log, target_probs, reward_model):
    return torch.as_tensor(target_probs).mul(torch.as_tensor(reward_model)).sum(dim=1).mean().item()
''',
        "train_click_ranker": '''
class Scorer(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(n_features))
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, documents):
        return documents @ self.weights + self.bias


def train_click_ranker(features, targets, config, seed):
    torch.manual_seed(seed)
    x = torch.as_tensor(features, dtype=torch.float32).flatten(0, 1)
    y = torch.as_tensor(targets, dtype=torch.float32).flatten()
    scorer = Scorer(x.shape[1])
    optimizer = torch.optim.Adam(scorer.parameters(), lr=config["lr"])
    for _ in range(config["epochs"]):
        optimizer.zero_grad()
        nn.functional.mse_loss(scorer(x), y).backward()
        optimizer.step()
    return scorer
''',
        "linucb_select": '''
def linucb_select(A, b, x, alpha):
    best, best_value = 0, -np.inf
    for arm in range(len(A)):
        theta = np.linalg.solve(A[arm], b[arm])
        value = x @ theta + alpha * np.sqrt(x @ np.linalg.solve(A[arm], x))
        if value > best_value + 1e-12:
            best, best_value = arm, value
    return best
''',
    },
}

EXPENSIVE = ("click_ranker_learns", "behaviour_cloning", "linucb_regret")

# A partly wrong submission (the DR correction's sign flipped, clicks weighted by rank) graded twice
# (tests/test_checks.py), on five cells.
TWICE = Submission(base="solution", mutants=("dr_correction_sign_flipped",
                                             "clicks_weighted_by_rank_not_by_examination"),
                   only=frozenset({"doubly_robust_unbiased", "doubly_robust_variance", "debiased_relevance_unbiased",
                                   "ips_unbiased", "linucb_regret"}),
                   lost={"doubly_robust_unbiased": 5.0, "debiased_relevance_unbiased": 5.0})

E2E = EndToEnd(
    submissions={
        # three answers filled in from the solution, the rest left as released
        "partial": Submission(solved=("importance_weights", "ips_estimate", "linucb_select"),
                              earned={"importance_weights": 2.0, "ips_unbiased": 4.0, "linucb_select": 4.0}),
    },
    failing_property="IPS is unbiased: its expectation over the logging policy",
    not_in_release=("np.sqrt(x @ A_inv @ x)",),
)
