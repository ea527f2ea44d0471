"""``indrnn``: Independently Recurrent Neural Network (Li et al., CVPR 2018).

    h_t = σ(W x_t + u ⊙ h_{t-1} + b)       u: one recurrent weight per unit

Each unit only feeds itself, so the gradient through T steps of unit j is a product of
u_j and σ' terms. With σ = relu (σ' ∈ {0, 1}) it neither explodes nor vanishes when
|u_j| ≤ γ^(1/T): the recurrent weights are clipped to that bound (γ = ``max_gradient``,
T = ``horizon``), as the paper does, and initialised uniformly in [0, bound].
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.errors import ConfigError
from core.nn.cells import CellSpec, register_cell
from core.nn.cells.common import check_init, init_gate_weights, last_state, zeros_state


class IndRNN(nn.Module):
    def __init__(
        self,
        *,
        input_size: int,
        hidden_size: int,
        nonlinearity: str = "relu",
        horizon: int = 100,
        max_gradient: float = 2.0,
        init: str = "auto",
    ):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"nonlinearity: must be 'tanh' or 'relu', got {nonlinearity!r}")
        if horizon < 1 or max_gradient <= 1.0:
            raise ConfigError(
                f"horizon/max_gradient: need horizon >= 1 and max_gradient > 1, got {horizon}, {max_gradient}"
            )
        self.hidden_size = hidden_size
        self.relu = nonlinearity == "relu"
        self.recurrent_bound = float(max_gradient) ** (1.0 / horizon)
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # (H, F)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size))  # u (H,)
        self.bias = nn.Parameter(torch.zeros(hidden_size))
        init = check_init(init, gated=False)
        nn.init.uniform_(self.weight_ih, -(hidden_size**-0.5), hidden_size**-0.5)
        if init != "torch":
            init_gate_weights(self.weight_ih, None, 1, init)
        nn.init.uniform_(self.weight_hh, 0.0, self.recurrent_bound)

    def forward(self, x: Tensor, lengths: Tensor | None, state: Tensor | None = None):
        h0 = zeros_state(x, self.hidden_size) if state is None else state  # (B, H)
        u = self.weight_hh.clamp(-self.recurrent_bound, self.recurrent_bound)  # (H,)
        wx = x @ self.weight_ih.T + self.bias  # (B, T, H), all steps at once
        out = IndRecurrence.apply(wx.transpose(0, 1).contiguous(), u, h0, self.relu).transpose(0, 1)
        return out, last_state(out, lengths, h0)  # out (B, T, H)


class IndRecurrence(torch.autograd.Function):
    """h_t = σ(p_t + u ⊙ h_{t-1}) over time-major p (T, B, H), with a written-out backward:
    one autograd node instead of 2T, and 2 elementwise ops per step each way."""

    @staticmethod
    def forward(ctx, p: Tensor, u: Tensor, h0: Tensor, relu: bool) -> Tensor:
        h = torch.empty_like(p)  # (T, B, H)
        prev = h0
        for t in range(p.shape[0]):
            prev = torch.addcmul(p[t], u, prev, out=h[t])
            if relu:
                prev.relu_()
            else:
                prev.tanh_()
        ctx.save_for_backward(u, h0, h)
        ctx.relu = relu
        return h

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_h: Tensor):
        u, h0, h = ctx.saved_tensors
        slope = (h > 0).to(h.dtype) if ctx.relu else 1 - h * h  # σ'(pre_t) from σ(pre_t)
        grad_pre = torch.empty_like(h)
        carry = torch.zeros_like(h0)  # dL/dh_t arriving from step t+1
        for t in range(h.shape[0] - 1, -1, -1):
            torch.mul(grad_h[t] + carry, slope[t], out=grad_pre[t])
            carry = grad_pre[t] * u
        previous = torch.cat([h0.unsqueeze(0), h[:-1]])  # h_{t-1}
        return grad_pre, (grad_pre * previous).sum((0, 1)), carry, None


register_cell(
    CellSpec(
        "indrnn",
        IndRNN,
        ("nonlinearity", "horizon", "max_gradient", "init"),
        description="IndRNN (Li et al. 2018), recurrent weights bounded",
    )
)
