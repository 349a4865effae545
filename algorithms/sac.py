"""Soft actor-critic (Haarnoja et al., 2018): the learner every method of the suite trains.

Twin (or N) critics evaluated as one batched network, a Polyak-averaged target, a tanh-Gaussian actor and a
learned or fixed temperature. With absorbing states on, `absorbing_bootstrap` says how they are treated
(docs/ALGORITHMS.md §2.3, §20.1):

    exact      (DAC) the next state's indicator masks the bootstrap action and its entropy, so Q(s_abs, 0) is
               bootstrapped exactly, and rows whose current state is absorbing are left out of the actor and
               temperature losses (normalised by the weight of the rows that count);
    reference  (the Pragmatic Look suite) the current state's indicator masks the bootstrap action and its
               entropy, and only the entropy terms of the actor and temperature losses are weighted and masked;
               the actor's -Q term counts on every row and the losses are means over the whole batch.
"""
from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from algorithms.bc import bc_loss
from data.transitions import Transitions
from models.actor import SquashedGaussianActor
from models.critic import EnsembleCritic
from models.precision import precision_context

# How SAC treats absorbing states: exact = DAC (the next state's flag masks the bootstrap; the actor is left out
# at absorbing states) | reference = the Pragmatic Look suite (the current state's flag; only entropy terms masked)
ABSORBING_BOOTSTRAPS = ("exact", "reference")
CriticLoss = Callable[[Transitions], tuple[torch.Tensor, dict[str, torch.Tensor]]]
ActorValue = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (s, a) -> the value the actor maximises


class SoftActorCritic(nn.Module):
    def __init__(self, obs_size: int, action_size: int, *, hidden_size: int = 256, depth: int = 2,
                 activation: str = "relu", critics: int = 2, log_std_min: float = -20.0, log_std_max: float = 2.0,
                 discount: float = 0.99, polyak_factor: float = 0.995, target_temperature: float = -1.0,
                 learn_temperature: bool = True, initial_temperature: float = 1.0, critic_learning_rate: float = 3e-4,
                 actor_learning_rate: float = 3e-4, temperature_learning_rate: float = 3e-4,
                 absorbing: bool = False, absorbing_bootstrap: str = "exact", bc_aux_loss: bool = False,
                 precision: str = "fp32", compile_losses: bool = False):
        super().__init__()
        if absorbing_bootstrap not in ABSORBING_BOOTSTRAPS:
            raise ValueError(f"absorbing_bootstrap={absorbing_bootstrap!r}; use one of {ABSORBING_BOOTSTRAPS}")
        self.obs_size, self.action_size = obs_size, action_size
        self.actor = SquashedGaussianActor(obs_size, action_size, hidden_size, depth, activation, log_std_min,
                                           log_std_max)
        self.critic = EnsembleCritic(obs_size, action_size, critics, hidden_size, depth, activation)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(initial_temperature)), requires_grad=learn_temperature)
        self.discount, self.polyak_factor = discount, polyak_factor
        self.target_entropy = target_temperature * action_size
        self.learn_temperature, self.absorbing, self.bc_aux_loss = learn_temperature, absorbing, bc_aux_loss
        self.absorbing_bootstrap, self.precision = absorbing_bootstrap, precision
        self.actor_optimiser = torch.optim.AdamW(self.actor.parameters(), lr=actor_learning_rate, weight_decay=0.0,
                                                 fused=True)
        self.critic_optimiser = torch.optim.AdamW(self.critic.parameters(), lr=critic_learning_rate,
                                                  weight_decay=0.0, fused=True)
        self.temperature_optimiser = torch.optim.Adam([self.log_alpha], lr=temperature_learning_rate, fused=True)
        self._actor_step_parameters = list(self.actor.parameters()) + ([self.log_alpha] if learn_temperature else [])
        # torch.compile fuses each loss's many small ops (and their backward) into a few kernels: the per-op cost
        # is a third of an eager update on a CPU. Methods' own critic losses stay eager.
        self.critic_step_loss = torch.compile(self.soft_bellman_loss) if compile_losses else self.soft_bellman_loss
        self.actor_step_losses = torch.compile(self.actor_and_temperature_losses) if compile_losses \
            else self.actor_and_temperature_losses

    @classmethod
    def from_config(cls, cfg: DictConfig, obs_size: int, action_size: int) -> SoftActorCritic:
        model, rl = cfg.model, cfg.reinforcement
        return cls(obs_size, action_size, hidden_size=model.hidden_size, depth=model.depth,
                   activation=model.activation, critics=model.critics, log_std_min=model.log_std_min,
                   log_std_max=model.log_std_max, discount=rl.discount, polyak_factor=rl.polyak_factor,
                   target_temperature=rl.target_temperature, learn_temperature=rl.learn_temperature,
                   initial_temperature=rl.initial_temperature, critic_learning_rate=cfg.training.learning_rate,
                   actor_learning_rate=rl.actor_learning_rate, temperature_learning_rate=rl.temperature_learning_rate,
                   absorbing=cfg.imitation.absorbing, absorbing_bootstrap=cfg.imitation.absorbing_bootstrap,
                   bc_aux_loss=cfg.imitation.bc_aux_loss, precision=cfg.precision,
                   compile_losses=cfg.training.compile)

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp()

    def autocast(self) -> contextlib.AbstractContextManager:
        """The region in which this learner, or the method it serves, computes a loss (models/precision.py)."""
        return precision_context(self.precision, self.log_alpha.device)

    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Actions in [-1, 1] for one observation or a (N, obs) array of them."""
        obs_tensor = torch.as_tensor(obs, dtype=torch.float32, device=self.log_alpha.device)
        action = self.actor.deterministic(obs_tensor) if deterministic else self.actor.sample(obs_tensor)[0]
        return action.cpu().numpy()

    def absorbing_flag(self, obs: torch.Tensor) -> torch.Tensor:
        """1 where the state is the absorbing state (indicator coordinate), else 0."""
        return obs[:, -1] if self.absorbing else torch.zeros_like(obs[:, 0])

    def bootstrap_mask(self, batch: Transitions) -> torch.Tensor:
        """True on rows whose bootstrap takes the absorbing action 0 without an entropy bonus: where the next state
        is absorbing (exact) or, as the reference has it, where the current state is."""
        flagged = batch.obs if self.absorbing_bootstrap == "reference" else batch.next_obs
        return self.absorbing_flag(flagged).bool()

    @torch.no_grad()
    def soft_value(self, next_obs: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
        """Target soft value V(s') = min_j Qbar_j(s', a') - alpha log pi(a'|s'), a' ~ pi(.|s'); on `masked` rows
        a' = 0 and there is no entropy bonus.

        The log-probability is taken of the sampled action before it is replaced, and masking uses `where`, so a
        NaN in a masked entry cannot leak into the target.
        """
        next_action, next_log_prob = self.actor.sample(next_obs)
        next_action = torch.where(masked[:, None], torch.zeros_like(next_action), next_action)
        entropy_term = torch.where(masked, torch.zeros_like(next_log_prob), self.alpha * next_log_prob)
        return self.target_critic.min(next_obs, next_action) - entropy_term

    @torch.no_grad()
    def critic_target(self, batch: Transitions) -> torch.Tensor:
        """y = r + (1 - d) gamma V(s'): time-limit cuts (d = 0) bootstrap."""
        next_value = self.soft_value(batch.next_obs, self.bootstrap_mask(batch))
        return batch.reward + (1 - batch.terminal) * self.discount * next_value

    def soft_bellman_loss(self, batch: Transitions) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Sum over critics of the importance-weighted squared error to the shared target."""
        target = self.critic_target(batch)
        q_values = self.critic(batch.obs, batch.action)
        loss = (batch.weight * (q_values - target) ** 2).mean(dim=1).sum()
        return loss, {"critic_loss": loss.detach(), "q_value": q_values.detach().mean()}

    def actor_and_temperature_losses(self, batch: Transitions, actor_value: ActorValue | None = None
                                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Actor loss alpha log pi - Q (min over critics unless a method supplies `actor_value`) and temperature
        loss, weighted and masked on absorbing states as `absorbing_bootstrap` says."""
        action, log_prob = self.actor.sample(batch.obs)
        mask = batch.weight * (1 - self.absorbing_flag(batch.obs))
        alpha = self.alpha
        value = (actor_value or self.critic.min)(batch.obs, action)
        temperature_terms = -masked_product(mask, alpha * (log_prob.detach() + self.target_entropy))
        if self.absorbing_bootstrap == "reference":
            actor_loss = (masked_product(mask, alpha.detach() * log_prob) - value).mean()
            return actor_loss, temperature_terms.mean(), log_prob.detach()
        normaliser = mask.sum().clamp_min(1e-8)
        actor_loss = masked_product(mask, alpha.detach() * log_prob - value).sum() / normaliser
        return actor_loss, temperature_terms.sum() / normaliser, log_prob.detach()

    def update(self, batch: Transitions, critic_loss: CriticLoss | None = None, update_actor: bool = True,
               actor_value: ActorValue | None = None, bc_batch: Transitions | None = None
               ) -> dict[str, torch.Tensor]:
        """With the BC auxiliary loss on, one BC step of the actor on `bc_batch` (expert rows); then one critic
        step (SAC's soft Bellman loss unless a method supplies its own), one actor step and one temperature step
        (if learned; both skipped when not `update_actor`), then the Polyak update.
        Returns detached metrics (no host sync). Losses are computed under `autocast`, backward passes after it."""
        metrics = {}
        if self.bc_aux_loss:
            if bc_batch is None:
                raise ValueError("the BC auxiliary loss (imitation.bc_aux_loss) needs an expert batch: pass bc_batch")
            metrics = self.behaviour_cloning_step(bc_batch)
        with self.autocast():
            loss, critic_metrics = (critic_loss or self.critic_step_loss)(batch)
        metrics |= critic_metrics
        self.critic_optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimiser.step()
        if not update_actor:
            self.update_target()
            return metrics

        with self.autocast():
            actor_loss, temperature_loss, log_prob = self.actor_step_losses(batch, actor_value)
        self.actor_optimiser.zero_grad(set_to_none=True)
        self.temperature_optimiser.zero_grad(set_to_none=True)
        # One backward for both: the actor loss holds alpha fixed and the temperature loss holds log pi fixed,
        # and restricting the inputs keeps gradients out of the critic.
        (actor_loss + temperature_loss).backward(inputs=self._actor_step_parameters)
        self.actor_optimiser.step()
        if self.learn_temperature:
            self.temperature_optimiser.step()
        self.update_target()
        return {**metrics, "actor_loss": actor_loss.detach(), "alpha": self.alpha.detach(),
                "entropy": -log_prob.mean()}

    def behaviour_cloning_step(self, expert: Transitions) -> dict[str, torch.Tensor]:
        """One BC step on the expert batch with the main actor optimiser (imitation.bc_aux_loss)."""
        with self.autocast():
            loss = bc_loss(self.actor, expert)
        self.actor_optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimiser.step()
        return {"bc_loss": loss.detach()}

    def update_target(self) -> None:
        polyak_update(self.target_critic, self.critic, self.polyak_factor)

    def optimiser_state(self) -> dict:
        return {name: getattr(self, name).state_dict()
                for name in ("actor_optimiser", "critic_optimiser", "temperature_optimiser")}

    def load_optimiser_state(self, state: dict) -> None:
        for name, optimiser_state in state.items():
            getattr(self, name).load_state_dict(optimiser_state)


def masked_product(mask: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """mask * values, and exactly 0 where the mask is 0 even if the value there is not finite."""
    return torch.where(mask > 0, mask * values, 0)


@torch.no_grad()
def polyak_update(target: nn.Module, online: nn.Module, polyak_factor: float) -> None:
    """theta_bar <- rho theta_bar + (1 - rho) theta."""
    for target_parameter, online_parameter in zip(target.parameters(), online.parameters()):
        target_parameter.lerp_(online_parameter, 1 - polyak_factor)
