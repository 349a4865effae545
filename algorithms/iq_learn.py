"""IQ-Learn (Garg et al., 2021): inverse soft-Q learning with a chi-squared regularised implicit reward.

The critic loss, for implicit rewards r = Q(s, a) - gamma (1 - d) V'(s') (V' from the target critic, or the
online critic with gradient when algorithm.use_target is false):

    L = -mean_E[phi(r) r]                                  expert term (phi = 1 unless a divergence is chosen)
      + value term: mean_all[V(s) - y] | mean_E[V(s) - y] | (1 - gamma) mean_E[V(s)]     (value/value_expert/v0)
      + chi2_coefficient * mean_X[r^2]                      X = all rows or expert rows
      + grad_penalty * mean[(|grad Q(x~)| - 1)^2]           x~ between expert and agent (s, a), optional

With several critics the expert and regulariser terms are averaged over them and V uses their minimum.
"""
from __future__ import annotations

import torch
from omegaconf import DictConfig

from algorithms.implicit_q import ImplicitQAlgorithm
from data.transitions import Transitions
from errors import UserError, check_choice
from models.precision import input_gradients

VALUE_LOSSES = ("value", "value_expert", "v0")
REGULARISER_ROWS = ("all", "expert")
DIVERGENCES = ("none", "hellinger", "kl", "kl2", "kl_fix", "js")


def divergence_weight(name: str, reward: torch.Tensor) -> torch.Tensor:
    """phi(r) of the expert term (stop-gradient), for the f-divergences IQ-Learn offers; `reward` is (M, B_E)."""
    reward = reward.detach()
    if name == "none":
        return torch.ones_like(reward)
    if name == "hellinger":
        return 1 / (1 + reward) ** 2
    if name == "kl":
        return torch.exp(-reward - 1)
    if name == "kl2":
        return reward.shape[-1] * torch.softmax(-reward, dim=-1)
    if name == "kl_fix":
        return torch.exp(-reward)
    if name == "js":
        return torch.exp(-reward) / (2 - torch.exp(-reward))
    raise ValueError(name)


class IQLearn(ImplicitQAlgorithm):
    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        super().check_config(cfg)
        options = cfg.algorithm
        for key, allowed in (("value_loss", VALUE_LOSSES), ("regulariser_rows", REGULARISER_ROWS),
                             ("divergence", DIVERGENCES)):
            check_choice(options, key, allowed)
        if cfg.imitation.offline and options.value_loss == "value":
            raise UserError("offline IQ-Learn has no agent rows for algorithm.value_loss=value; use value_expert or v0")
        if options.chi2_coefficient < 0 or options.grad_penalty < 0:
            raise UserError("algorithm.chi2_coefficient and algorithm.grad_penalty must be >= 0")

    def critic_loss(self, batch: Transitions, is_expert: torch.Tensor) -> tuple[torch.Tensor, dict]:
        options, gamma = self.options, self.sac.discount
        q = self.sac.critic(batch.obs, batch.action)  # (M, N)
        value = self.soft_value(batch.obs, target=False)
        next_value = self.soft_value(batch.next_obs, target=options.use_target)
        target = (1 - batch.terminal) * gamma * next_value
        reward = q - target  # implicit reward of every row, per critic
        expert_reward = reward[:, is_expert]
        expert_term = -(divergence_weight(options.divergence, expert_reward) * expert_reward).mean(dim=1)
        if options.value_loss == "value":
            value_term = (value - target).mean()
        elif options.value_loss == "value_expert":
            value_term = (value - target)[is_expert].mean()
        else:
            value_term = (1 - gamma) * value[is_expert].mean()
        regularised = reward if options.regulariser_rows == "all" else expert_reward
        chi2_term = options.chi2_coefficient * (regularised ** 2).mean(dim=1)
        loss = (expert_term + chi2_term).mean() + value_term
        if options.grad_penalty > 0 and not is_expert.all():
            loss = loss + options.grad_penalty * self.gradient_penalty(batch, is_expert)
        metrics = {"iq_loss": loss.detach(), "q_value": q.detach().mean(),
                   "reward_expert": expert_reward.detach().mean(), "value_term": value_term.detach()}
        if not is_expert.all():
            metrics["reward_agent"] = reward[:, ~is_expert].detach().mean()
        return loss, metrics

    def learned_reward(self, transitions: Transitions) -> torch.Tensor:
        """r = Q(s, a) - gamma (1 - d) V(s'), V from the critic the loss bootstraps from (Q: the pessimistic one)."""
        next_value = self.soft_value(transitions.next_obs, target=self.options.use_target)
        discount = self.sac.discount * (1 - transitions.terminal)
        return self.sac.critic.min(transitions.obs, transitions.action) - discount * next_value

    def gradient_penalty(self, batch: Transitions, is_expert: torch.Tensor) -> torch.Tensor:
        """One-centred penalty (|grad_x Q(x~)| - 1)^2 at random interpolates of expert and agent (s, a)."""
        expert = torch.cat([batch.obs[is_expert], batch.action[is_expert]], dim=1)
        agent = torch.cat([batch.obs[~is_expert], batch.action[~is_expert]], dim=1)
        mix = torch.rand(len(expert), 1, device=expert.device)
        # one copy of the interpolates per critic, so that each critic's own input gradient is penalised
        inputs = (mix * expert + (1 - mix) * agent).expand(self.sac.critic.count, -1, -1).clone().requires_grad_(True)
        obs_size = batch.obs.shape[1]
        q = self.sac.critic(inputs[..., :obs_size], inputs[..., obs_size:])
        gradient, = input_gradients(q, [inputs])
        return ((gradient.norm(dim=-1) - 1) ** 2).mean()
