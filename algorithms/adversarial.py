"""Adversarial imitation on the SAC learner (off-policy, DAC-style): GAIL, AIRL and FAIRL are presets of this one
class, which differ in the reward taken from the discriminator D = sigmoid(f) (docs/ALGORITHMS.md §4-§6):

    GAIL   r = -log(1 - D)               (Ho & Ermon, 2016; off-policy: Kostrikov et al., 2018)
    AIRL   r = log D - log(1 - D) ~ f    (Fu et al., 2017), with reward shaping and log-policy subtraction
    FAIRL  r = -h exp(h), h the AIRL reward  (Ghasemipour et al., 2019)
    FKL    r = exp(h) = D / (1 - D): the reward whose policy gradient is the forward KL's (the FAIRL preset's)

Each update trains the discriminator once (expert = 1, agent = 0) on the unmixed batches, with a BCE, Mixup
(Chen et al., 2020) or non-negative PU (Xu & Denil, 2019) loss, an optional gradient penalty, an optional
entropy bonus (Orsini et al., 2021) and optional spectral normalisation (Blondé et al., 2020); the SAC batch is
then relabelled with the current discriminator's rewards.
"""
from __future__ import annotations

import torch
from omegaconf import DictConfig
from torch.nn import functional as F

from algorithms.base import Algorithm
from data.transitions import Transitions
from errors import UserError, check_choice
from models.actor import ACTION_CLIP
from models.discriminator import Discriminator
from models.precision import input_gradients

REWARD_FUNCTIONS = ("GAIL", "AIRL", "FAIRL", "FKL")
LOSS_FUNCTIONS = ("BCE", "Mixup", "PUGAIL")
EPSILON = 1e-6


def reward_from_logit(logit: torch.Tensor, reward_function: str) -> torch.Tensor:
    """The SAC reward of a discriminator logit f, with D = sigmoid(f).

    At the optimal discriminator h = log(rho_E / rho_pi) =: log u, and the forward KL is E_pi[u log u]. FAIRL pays
    minus that integrand, -h exp(h), which peaks at h = -1 and falls for every h above it; the policy gradient of
    the forward KL, with the dependence of u on the policy taken into account, is that of E_pi[u]: FKL's exp(h).
    """
    d = torch.sigmoid(logit)
    airl = torch.log(d + EPSILON) - torch.log(1 - d + EPSILON)
    if reward_function == "GAIL":
        return -torch.log(1 - d + EPSILON)
    if reward_function == "AIRL":
        return airl
    if reward_function == "FKL":
        return torch.exp(airl)
    return -airl * torch.exp(airl)


def bce_loss(expert_logit, agent_logit, expert_weight, agent_weight) -> torch.Tensor:
    """mean_E[w softplus(-f)] + mean_P[w softplus(f)]: log-loss with expert label 1 and agent label 0."""
    return (expert_weight * F.softplus(-expert_logit)).mean() + (agent_weight * F.softplus(agent_logit)).mean()


def mixup_loss(mixed_logit, mix, mixed_weight) -> torch.Tensor:
    """Log-loss of rows interpolated with coefficient `mix` towards the expert, labelled `mix`."""
    return (mixed_weight * (mix * F.softplus(-mixed_logit) + (1 - mix) * F.softplus(mixed_logit))).mean()


def pu_loss(expert_logit, agent_logit, expert_weight, agent_weight, prior: float, margin: float) -> torch.Tensor:
    """Non-negative PU risk: agent data is unlabelled, a `prior` fraction of it expert-like.

    prior * mean_E[w softplus(-f)] + max(-margin, mean_P[w softplus(f)] - prior * mean_E[w softplus(f)])
    """
    positive = prior * (expert_weight * F.softplus(-expert_logit)).mean()
    negative = (agent_weight * F.softplus(agent_logit)).mean() - prior * (expert_weight * F.softplus(expert_logit)).mean()
    return positive + torch.clamp(negative, min=-margin)


def bernoulli_entropy(logit: torch.Tensor) -> torch.Tensor:
    """H(sigmoid(f)) = -p log p - (1 - p) log(1 - p), computed stably from the logit."""
    p = torch.sigmoid(logit)
    return p * F.softplus(-logit) + (1 - p) * F.softplus(logit)


class AdversarialImitation(Algorithm):
    expert_mixing = ("mixed_batch",)

    def __init__(self, cfg: DictConfig, sac, expert):
        super().__init__(cfg, sac, expert)
        self.options = options = cfg.algorithm
        network = options.discriminator
        self.discriminator = Discriminator(
            sac.obs_size, sac.action_size, hidden_size=network.hidden_size, depth=network.depth,
            activation=network.activation, input_dropout=network.input_dropout, dropout=network.dropout,
            spectral=options.spectral_norm, state_only=cfg.imitation.state_only,
            reward_shaping=options.reward_shaping, discount=sac.discount).to(sac.log_alpha.device).eval()
        self.optimiser = torch.optim.AdamW(self.discriminator.parameters(), lr=network.learning_rate,
                                           weight_decay=network.weight_decay)

    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        super().check_config(cfg)
        options = cfg.algorithm
        check_choice(options, "reward_function", REWARD_FUNCTIONS)
        check_choice(options, "loss_function", LOSS_FUNCTIONS)
        if options.loss_function == "Mixup" and not options.mixup_alpha > 0:
            raise UserError(f"algorithm.mixup_alpha={options.mixup_alpha} must be > 0 (the Beta distribution's "
                            f"parameter)")
        if not 0 <= options.pos_class_prior <= 1:
            raise UserError(f"algorithm.pos_class_prior={options.pos_class_prior} must lie in [0, 1]")
        if options.nonnegative_margin < 0:
            raise UserError(f"algorithm.nonnegative_margin={options.nonnegative_margin} must be >= 0")
        if options.grad_penalty < 0 or options.entropy_bonus < 0:
            raise UserError("algorithm.grad_penalty and algorithm.entropy_bonus must be >= 0")
        if options.grad_penalty_centre not in (0, 1):
            raise UserError(f"algorithm.grad_penalty_centre={options.grad_penalty_centre} must be 0 (zero-centred, "
                            f"as the Pragmatic Look suite) or 1 (one-centred, as DAC / WGAN-GP)")
        network = options.discriminator
        if not (0 <= network.input_dropout < 1 and 0 <= network.dropout < 1):
            raise UserError("algorithm.discriminator.input_dropout and dropout must lie in [0, 1)")
        if cfg.imitation.state_only and options.subtract_log_policy:
            raise UserError("algorithm.subtract_log_policy needs the expert's actions; state-only imitation "
                            "withholds them")

    # -- discriminator -----------------------------------------------------------------------------------------

    def logit(self, batch: Transitions) -> torch.Tensor:
        """f(s, a, s', d), minus log pi(a|s) of the current policy (no gradient) when subtract_log_policy.

        The absorbing state's only action is 0, taken with probability 1 (log pi = 0, as in SAC's value there):
        the actor is never trained at that state, and its density there would otherwise become a reward paid
        forever on termination. Interpolated (Mixup) rows weight log pi by their non-absorbing share.
        """
        logit = self.discriminator(batch.obs, batch.action, batch.next_obs, batch.terminal)
        if self.options.subtract_log_policy:
            with torch.no_grad():
                log_policy = self.sac.actor.log_prob(batch.obs, batch.action.clamp(-ACTION_CLIP, ACTION_CLIP))
            logit = logit - (1 - self.sac.absorbing_flag(batch.obs)) * log_policy
        return logit

    def update_reward_model(self, agent: Transitions, expert: Transitions) -> dict[str, torch.Tensor]:
        """One discriminator step on the unmixed agent and expert batches."""
        options = self.options
        self.discriminator.train()
        with self.sac.autocast():
            loss, entropy = self.discriminator_loss(agent, expert)
            total = loss - options.entropy_bonus * entropy
            if options.grad_penalty > 0:
                total = total + options.grad_penalty * self.gradient_penalty(expert, agent)
        self.optimiser.zero_grad(set_to_none=True)
        total.backward()
        self.optimiser.step()
        self.discriminator.eval()
        return {"discriminator_loss": loss.detach(), "discriminator_entropy": entropy.detach()}

    def discriminator_loss(self, agent: Transitions, expert: Transitions) -> tuple[torch.Tensor, torch.Tensor]:
        """The classification loss (expert = 1, agent = 0) and the weighted mean entropy of the outputs."""
        options = self.options
        if options.loss_function == "Mixup":
            mix = torch.distributions.Beta(options.mixup_alpha, options.mixup_alpha).sample((len(agent),))
            mixed = interpolate(expert, agent, mix.to(agent.obs.device))
            mixed_logit = self.logit(mixed)
            loss = mixup_loss(mixed_logit, mix.to(agent.obs.device), mixed.weight)
            return loss, (mixed.weight * bernoulli_entropy(mixed_logit)).mean()
        expert_logit, agent_logit = self.logit(expert), self.logit(agent)
        if options.loss_function == "BCE":
            loss = bce_loss(expert_logit, agent_logit, expert.weight, agent.weight)
        else:
            loss = pu_loss(expert_logit, agent_logit, expert.weight, agent.weight, options.pos_class_prior,
                           options.nonnegative_margin)
        entropy = (expert.weight * bernoulli_entropy(expert_logit)
                   + agent.weight * bernoulli_entropy(agent_logit)).mean()
        return loss, entropy

    def gradient_penalty(self, expert: Transitions, agent: Transitions) -> torch.Tensor:
        """mean[w (|grad_{s,a} f|^2)] (zero-centred) or mean[w (|grad_{s,a} f| - 1)^2] (one-centred) at random
        interpolates of expert and agent rows; s' and the log-policy term are not penalised."""
        mixed = interpolate(expert, agent, torch.rand(len(agent), device=agent.obs.device))
        obs, action = mixed.obs.detach().requires_grad_(True), mixed.action.detach().requires_grad_(True)
        logit = self.discriminator(obs, action, mixed.next_obs, mixed.terminal)
        inputs = [obs] if self.discriminator.state_only else [obs, action]
        gradients = input_gradients(logit, inputs)
        norm = torch.cat(gradients, dim=1).norm(dim=1)
        centre = self.options.grad_penalty_centre
        return (mixed.weight * (norm - centre) ** 2).mean()

    # -- rewards -----------------------------------------------------------------------------------------------

    @torch.no_grad()
    def relabel(self, batch: Transitions, expert: Transitions | None = None) -> Transitions:
        return batch.replace(reward=reward_from_logit(self.logit(batch), self.options.reward_function))

    def learned_reward(self, transitions: Transitions) -> torch.Tensor:
        return self.relabel(transitions).reward

    def state_dict(self) -> dict:
        return {"discriminator": self.discriminator.state_dict(), "optimiser": self.optimiser.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.optimiser.load_state_dict(state["optimiser"])


def interpolate(expert: Transitions, agent: Transitions, mix: torch.Tensor) -> Transitions:
    """Row-wise mix * expert + (1 - mix) * agent of every field (s, a, s', d and the weights)."""
    def blend(e: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        m = mix.view(-1, *([1] * (e.dim() - 1)))
        return m * e + (1 - m) * a
    return expert.map(blend, agent)

