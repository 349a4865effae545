"""LS-IQ (Al-Hafez et al., 2023): IQ-Learn's chi-squared regulariser taken under the expert/policy mixture,
which turns the objective into least-squares regression onto fixed rewards with bounded targets.

Constants from the regulariser coefficient c and gamma: r_max = 1/c, r_min = -1/c, Q_max = r_max / (1 - gamma),
Q_min = -Q_max. Targets y = (1 - d) gamma clip(V_bar(s'), Q_min, Q_max).

`sqil_like` form (the paper's experiments; the LSIQ_H and LSIQ_HC presets):
    expert term   fix: mean_E[(Q(s,a) - Q_max)^2]          bootstrap: mean_E[(Q(s,a) - (r_max + y))^2]
    policy term   value: mean_all[(V(s) - (r_min + y))^2]  value_plcy: the same over agent rows
                  q_old_policy: mean_P[(Q(s,a) - (r_min + y))^2]
`iq_like` form: expert term (-mean_E[r] for bootstrap, the fix regression otherwise) + IQ-Learn's value term
    + c mean_X[(1 - b) r^2 + b (1 - gamma) r^2] with r = Q(s,a) - y and b = d when absorbing states are treated.
    The LSIQ preset's default, the bridging loss, is this form with bootstrap, v0 and X = all rows: IQ-Learn's
    loss on LS-IQ's bounded targets (it learned hopper where the sqil_like form did not; docs/RESULTS.md).

With treat_absorbing_states, terminal rows (d = 1) regress onto r/(1 - gamma): the terminal state pays its
reward forever. Squares become Huber losses with algorithm.loss=huber.

Entropy critics (algorithm.entropy_critic): `H` learns the policy's discounted entropy in a separate critic
H(s, a), so that Q holds only the implicit reward and its bounds are exact; the actor maximises Q + H. `HC` adds
the squared-reward regulariser to H's target, evaluated at s' (not at s, as the reference code does).
"""
from __future__ import annotations

import copy

import torch
from omegaconf import DictConfig
from torch.nn import functional as F

from algorithms.implicit_q import ImplicitQAlgorithm
from algorithms.sac import polyak_update
from data.transitions import Transitions
from errors import UserError, check_choice
from models.critic import EnsembleCritic

FORMS = ("sqil_like", "iq_like")
EXPERT_TERMS = ("fix", "bootstrap")
POLICY_TERMS = {"sqil_like": ("value", "value_plcy", "q_old_policy"),
                "iq_like": ("value", "value_expert", "value_plcy", "q_old_policy", "value_q_old_policy", "v0",
                            "off")}
ENTROPY_CRITICS = ("none", "H", "HC")
LOSSES = ("mse", "huber")
ENTROPY_TRACKING_RATES = (1e-2, 1e-4)  # how fast the expert-entropy floor follows a larger / smaller batch max


def lsiq_bounds(coefficient: float, discount: float) -> tuple[float, float, float, float]:
    """(r_min, r_max, Q_min, Q_max) of LS-IQ's regulariser coefficient c."""
    r_max = 1.0 / coefficient
    q_max = r_max / (1.0 - discount)
    return -r_max, r_max, -q_max, q_max


class LSIQ(ImplicitQAlgorithm):
    def __init__(self, cfg: DictConfig, sac, expert):
        super().__init__(cfg, sac, expert)
        self.r_min, self.r_max, self.q_min, self.q_max = lsiq_bounds(self.options.regulariser_coefficient,
                                                                     sac.discount)
        self.entropy_critic = None
        if self.options.entropy_critic != "none":
            model = cfg.model
            self.entropy_critic = EnsembleCritic(sac.obs_size, sac.action_size, 1, model.hidden_size, model.depth,
                                                 model.activation).to(sac.log_alpha.device)
            self.target_entropy_critic = copy.deepcopy(self.entropy_critic).requires_grad_(False)
            self.entropy_optimiser = torch.optim.AdamW(self.entropy_critic.parameters(),
                                                       lr=cfg.training.learning_rate, weight_decay=0.0)
            self.expert_entropy_floor: torch.Tensor | None = None

    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        super().check_config(cfg)
        options = cfg.algorithm
        checks = (("form", FORMS), ("expert_term", EXPERT_TERMS), ("entropy_critic", ENTROPY_CRITICS),
                  ("loss", LOSSES), ("entropy_critic_loss", LOSSES))
        for key, allowed in checks:
            check_choice(options, key, allowed)
        allowed = POLICY_TERMS[options.form]
        if options.policy_term not in allowed:
            raise UserError(f"algorithm.policy_term={options.policy_term} is not available with "
                            f"algorithm.form={options.form}; use one of {', '.join(allowed)}")
        if cfg.imitation.offline and options.policy_term in ("value_plcy", "q_old_policy", "value_q_old_policy"):
            raise UserError(f"offline LS-IQ has no agent rows for algorithm.policy_term={options.policy_term}; "
                            f"use value (or v0 with algorithm.form=iq_like)")
        if options.regulariser_coefficient <= 0:
            raise UserError("algorithm.regulariser_coefficient must be > 0 (r_max = 1 / coefficient)")
        check_choice(options, "regulariser_rows", ("all", "expert", "agent"))

    # -- values ------------------------------------------------------------------------------------------------

    def soft_value(self, obs: torch.Tensor, target: bool) -> torch.Tensor:
        """With an entropy critic, Q holds only the implicit reward: V(s) = Q(s, a~) without the entropy term."""
        if self.entropy_critic is None:
            return super().soft_value(obs, target)
        with torch.no_grad():
            action, _ = self.sac.actor.sample(obs)
        return (self.sac.target_critic if target else self.sac.critic).min(obs, action)

    def bootstrap_target(self, batch: Transitions) -> torch.Tensor:
        """y = (1 - d) gamma V_bar(s'), V_bar clipped to [Q_min, Q_max] when algorithm.target_clipping."""
        with torch.no_grad():
            next_value = self.soft_value(batch.next_obs, target=True)
        if self.options.target_clipping:
            next_value = next_value.clamp(self.q_min, self.q_max)
        return (1 - batch.terminal) * self.sac.discount * next_value

    def actor_value(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        value = self.sac.critic.min(obs, action)
        return value if self.entropy_critic is None else value + self.entropy_critic.min(obs, action)

    def learned_reward(self, transitions: Transitions) -> torch.Tensor:
        return self.sac.critic.min(transitions.obs, transitions.action) - self.bootstrap_target(transitions)

    # -- losses ------------------------------------------------------------------------------------------------

    def regression(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean squared (or Huber) error over the last dimension, per critic."""
        target = target.expand_as(prediction)
        if self.options.loss == "huber":
            return F.huber_loss(prediction, target, reduction="none").mean(dim=-1)
        return ((prediction - target) ** 2).mean(dim=-1)

    def fixed_rewards(self, batch: Transitions, is_expert: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-row expert and mixture rewards: r_max and r_min, or their infinite sums on treated terminal rows;
        as in the reference, the mixture reward of expert rows stays r_min even on their terminal rows."""
        terminal = batch.terminal.bool() & bool(self.options.treat_absorbing_states)
        expert = torch.where(terminal, self.q_max, self.r_max)
        mixture = torch.where(terminal & ~is_expert, self.q_min, self.r_min)
        return expert, mixture

    def critic_loss(self, batch: Transitions, is_expert: torch.Tensor) -> tuple[torch.Tensor, dict]:
        target = self.bootstrap_target(batch)
        q = self.sac.critic(batch.obs, batch.action)
        if self.options.form == "sqil_like":
            loss, terms = self.sqil_like_loss(batch, is_expert, q, target)
        else:
            loss, terms = self.iq_like_loss(batch, is_expert, q, target)
        reward = (q - target).detach()
        metrics = {"lsiq_loss": loss.detach(), "q_value": q.detach().mean(),
                   "reward_expert": reward[:, is_expert].mean(), **terms}
        if not is_expert.all():
            metrics["reward_agent"] = reward[:, ~is_expert].mean()
        return loss, metrics

    def sqil_like_loss(self, batch, is_expert, q, target) -> tuple[torch.Tensor, dict]:
        expert_reward, mixture_reward = self.fixed_rewards(batch, is_expert)
        if self.options.expert_term == "fix":
            expert_term = self.regression(q[:, is_expert], torch.tensor(self.q_max, device=q.device))
        else:
            expert_term = self.regression(q[:, is_expert], (expert_reward + target)[is_expert])
        policy_term = self.option_policy_term(batch, is_expert, q, mixture_reward + target)
        loss = (expert_term + policy_term).mean()
        return loss, {"expert_term": expert_term.detach().mean(), "policy_term": policy_term.detach().mean()}

    def option_policy_term(self, batch, is_expert, q, mixture_target) -> torch.Tensor:
        term = self.options.policy_term
        if term == "q_old_policy":
            return self.regression(q[:, ~is_expert], mixture_target[~is_expert])
        value = self.soft_value(batch.obs, target=False)[None]
        rows = torch.ones_like(is_expert) if term == "value" else ~is_expert
        return self.regression(value[:, rows], mixture_target[rows])

    def iq_like_loss(self, batch, is_expert, q, target) -> tuple[torch.Tensor, dict]:
        reward = q - target
        gamma, options = self.sac.discount, self.options
        if options.expert_term == "fix":
            expert_term = self.regression(q[:, is_expert], torch.tensor(self.q_max, device=q.device))
        else:
            expert_term = -reward[:, is_expert].mean(dim=-1)
        value_term = self.iq_like_value_term(options.policy_term, batch, is_expert, reward, target)
        absorbing = batch.terminal * float(options.treat_absorbing_states)
        squared = ((1 - absorbing) + absorbing * (1 - gamma)) * reward ** 2
        rows = {"all": torch.ones_like(is_expert), "expert": is_expert, "agent": ~is_expert}[options.regulariser_rows]
        regulariser = options.regulariser_coefficient * squared[:, rows].mean(dim=-1)
        loss = (expert_term + value_term + regulariser).mean()
        return loss, {"expert_term": expert_term.detach().mean(), "value_term": value_term.detach().mean(),
                      "regulariser": regulariser.detach().mean()}

    def iq_like_value_term(self, term: str, batch, is_expert, reward, target) -> torch.Tensor:
        """The second term of the iq_like loss (docs/ALGORITHMS.md 14.4), per critic where it depends on Q."""
        if term == "off":
            return torch.zeros(1, device=reward.device)
        if term == "q_old_policy":
            return reward[:, ~is_expert].mean(dim=-1)
        if term == "value_q_old_policy":
            return (self.iq_like_value_term("value", batch, is_expert, reward, target)
                    + self.iq_like_value_term("q_old_policy", batch, is_expert, reward, target))
        if term == "v0":
            return (1 - self.sac.discount) * self.soft_value(batch.obs, target=False)[is_expert].mean()
        rows = {"value": torch.ones_like(is_expert), "value_expert": is_expert, "value_plcy": ~is_expert}[term]
        return (self.soft_value(batch.obs, target=False) - target)[rows].mean()

    # -- entropy critic (H / HC) -------------------------------------------------------------------------------

    @torch.no_grad()
    def entropy_target(self, batch: Transitions, is_expert: torch.Tensor) -> torch.Tensor:
        """(1 - d) gamma [H_bar(s', a') + alpha h'] (+ the squared-reward regulariser for HC), clipped.

        h' = -log pi(a'|s'); on expert rows it is floored at a running maximum of the agent rows' h'.
        """
        gamma, alpha = self.sac.discount, self.sac.alpha
        next_action, next_log_prob = self.sac.actor.sample(batch.next_obs)
        next_entropy = -next_log_prob
        if not is_expert.all():
            next_entropy = torch.where(is_expert, next_entropy.clamp_min(self.track_entropy_floor(
                next_entropy[~is_expert].max())), next_entropy)
        continuing = 1 - batch.terminal
        target = continuing * gamma * (self.target_entropy_critic.min(batch.next_obs, next_action) + alpha * next_entropy)
        if self.options.entropy_critic == "H":
            return target.clamp(-1e4, 1e3)
        c = self.options.regulariser_coefficient
        next_value = self.sac.target_critic.min(batch.next_obs, next_action).clamp(self.q_min, self.q_max)
        implicit_reward = self.sac.target_critic.min(batch.obs, batch.action) - continuing * gamma * next_value
        regulariser = c * (continuing * implicit_reward.clamp(-1 / c, 1 / c) ** 2
                           + batch.terminal * (1 - gamma) * implicit_reward.clamp(self.q_min, self.q_max) ** 2)
        return (regulariser + target).clamp(-1000.0, (1 / c) ** 2 / (1 - gamma) + 100.0)

    def track_entropy_floor(self, batch_max: torch.Tensor) -> torch.Tensor:
        if self.expert_entropy_floor is None:
            self.expert_entropy_floor = batch_max
        else:
            up, down = ENTROPY_TRACKING_RATES
            rate = up if batch_max > self.expert_entropy_floor else down
            self.expert_entropy_floor = self.expert_entropy_floor + rate * (batch_max - self.expert_entropy_floor)
        return self.expert_entropy_floor

    def auxiliary_update(self, batch: Transitions, is_expert: torch.Tensor) -> dict[str, torch.Tensor]:
        """One step of the entropy critic (if any) on the batch, then its Polyak update. It does not read the
        online Q, so running it before the Q step is the same as running it after, as the reference does."""
        if self.entropy_critic is None:
            return {}
        with self.sac.autocast():
            target = self.entropy_target(batch, is_expert)
            prediction = self.entropy_critic(batch.obs, batch.action)
            if self.options.entropy_critic_loss == "huber":
                loss = F.huber_loss(prediction, target.expand_as(prediction))
            else:
                loss = ((prediction - target) ** 2).mean()
        self.entropy_optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.entropy_optimiser.step()
        polyak_update(self.target_entropy_critic, self.entropy_critic, self.options.entropy_critic_polyak_factor)
        return {"entropy_critic_loss": loss.detach(), "entropy_critic_value": prediction.detach().mean()}

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.entropy_critic is not None:
            state |= {"entropy_critic": self.entropy_critic.state_dict(),
                      "target_entropy_critic": self.target_entropy_critic.state_dict(),
                      "entropy_optimiser": self.entropy_optimiser.state_dict(),
                      "expert_entropy_floor": self.expert_entropy_floor}
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if self.entropy_critic is not None:
            self.entropy_critic.load_state_dict(state["entropy_critic"])
            self.target_entropy_critic.load_state_dict(state["target_entropy_critic"])
            self.entropy_optimiser.load_state_dict(state["entropy_optimiser"])
            self.expert_entropy_floor = state["expert_entropy_floor"]
