"""``mingru`` and ``minlstm`` (Feng et al. 2024, "Were RNNs All We Needed?").

Gates depend on x_t only, so the recurrence is linear in h:

    minGRU:  z = σ(W_z x),  h̃ = g(W_h x),  h_t = (1 - z) ⊙ h_{t-1} + z ⊙ h̃
    minLSTM: f = σ(W_f x), i = σ(W_i x), h̃ = g(W_h x), f' = f/(f+i), i' = i/(f+i),
             h_t = f' ⊙ h_{t-1} + i' ⊙ h̃
    g(v) = v + 0.5 (v ≥ 0), σ(v) (v < 0)   — positive, so the log-space scan is defined.

Two paths compute h_t = a_t ⊙ h_{t-1} + b_t:
- ``sequential``: one fused multiply-add per step, with a hand-written backward (the
  gradient is the same recurrence run backwards), so autograd records 1 node, not T.
- ``parallel``: the log-space scan of the paper (logcumsumexp), O(log T) depth; the
  paper's choice on GPUs, slower on this CPU. ``mode="auto"``: sequential on CPU,
  parallel on CUDA.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.errors import ConfigError
from core.nn.cells import CellSpec, register_cell
from core.nn.cells.common import check_init, chrono_bias, init_gate_weights, last_state, zeros_state

MODES = ("auto", "sequential", "parallel")


class LinearRecurrence(torch.autograd.Function):
    """h_t = a_t * h_{t-1} + b_t over time-major (T, B, H) tensors; h0 (B, H)."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
        h = torch.empty_like(b)  # (T, B, H)
        prev = h0
        for t in range(b.shape[0]):
            prev = torch.addcmul(b[t], a[t], prev, out=h[t])
        ctx.save_for_backward(a, h, h0)
        return h

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_h: Tensor):
        a, h, h0 = ctx.saved_tensors
        grad_h = grad_h.contiguous()
        grad_b = torch.empty_like(grad_h)  # dL/db_t: dL/dh_t plus what flows back from t+1
        steps = grad_h.shape[0]
        carry = grad_b[steps - 1].copy_(grad_h[steps - 1])
        for t in range(steps - 2, -1, -1):
            carry = torch.addcmul(grad_h[t], a[t + 1], carry, out=grad_b[t])
        previous = torch.cat([h0.unsqueeze(0), h[:-1]])  # h_{t-1}
        return grad_b * previous, grad_b, a[0] * grad_b[0]


def scan_sequential(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """(B, T, H) coefficients and inputs, (B, H) start -> (B, T, H) states."""
    h = LinearRecurrence.apply(a.transpose(0, 1).contiguous(), b.transpose(0, 1).contiguous(), h0)
    return h.transpose(0, 1)


def scan_log_space(log_a: Tensor, log_b: Tensor, h0: Tensor) -> Tensor:
    """Same recurrence from log a_t and log b_t (b_t > 0), as in Feng et al.'s parallel mode.

    h_t = A_t h0 + Σ_{k≤t} (A_t / A_k) b_k with A_t = Π_{j≤t} a_j; the sum is a
    logcumsumexp. h0 is kept outside the logs so it may have any sign.
    """
    log_prefix = torch.cumsum(log_a, dim=1)  # (B, T, H): log A_t
    summed = torch.logcumsumexp(log_b - log_prefix, dim=1)  # (B, T, H)
    return torch.exp(log_prefix + summed) + torch.exp(log_prefix) * h0.unsqueeze(1)


def log_g(v: Tensor) -> Tensor:
    """log of g(v) = v + 0.5 (v ≥ 0) else σ(v), computed stably."""
    return torch.where(v >= 0, torch.log(F.relu(v) + 0.5), -F.softplus(-v))


class MinRNN(nn.Module):
    """One layer, one direction of minGRU (``kind="gru"``) or minLSTM (``kind="lstm"``)."""

    def __init__(
        self,
        *,
        kind: str,
        input_size: int,
        hidden_size: int,
        mode: str = "auto",
        init: str = "auto",
        horizon: int = 100,
    ):
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
        self.kind, self.mode, self.hidden_size = kind, mode, hidden_size
        gates = 2 if kind == "gru" else 3
        self.proj = nn.Linear(input_size, gates * hidden_size)  # all gates from x_t only
        if check_init(init) == "torch":
            return
        init_gate_weights(self.proj.weight, None, gates, init)
        with torch.no_grad():
            self.proj.bias.zero_()
            if init == "chrono":  # retain coefficient a_t = τ/(1+τ): gru z = 1-a, lstm f vs i
                retain = chrono_bias(hidden_size, horizon)
                self.proj.bias[:hidden_size].copy_(-retain if kind == "gru" else retain)
                if kind == "lstm":
                    self.proj.bias[hidden_size : 2 * hidden_size].copy_(-retain)

    def _path(self, x: Tensor) -> str:
        if self.mode != "auto":
            return self.mode
        # CPU: the loop measured faster (benchmarks/backbone.py, pixel_mnist). CUDA: the scan,
        # as Feng et al. report (kernel launches make a T-step loop slow there); not measured here.
        return "parallel" if x.is_cuda else "sequential"

    def coefficients(self, x: Tensor, *, log_space: bool) -> tuple[Tensor, Tensor]:
        """a_t and b_t of h_t = a_t h_{t-1} + b_t (or their logs), each (B, T, H)."""
        parts = self.proj(x).chunk(2 if self.kind == "gru" else 3, dim=-1)
        if self.kind == "gru":
            k, v = parts
            gate = k  # z = σ(k); a = 1 - z = σ(-k)
        else:
            f, i, v = parts
            gate = F.softplus(-f) - F.softplus(-i)  # log i - log f; i' = σ(gate), f' = σ(-gate)
        if log_space:
            return -F.softplus(gate), -F.softplus(-gate) + log_g(v)
        g = torch.where(v >= 0, v + 0.5, torch.sigmoid(v))  # g(v), straight (no exp/log round trip)
        return torch.sigmoid(-gate), torch.sigmoid(gate) * g

    def forward(self, x: Tensor, lengths: Tensor | None, state: Tensor | None = None):
        h0 = zeros_state(x, self.hidden_size) if state is None else state  # (B, H)
        if self._path(x) == "parallel":
            out = scan_log_space(*self.coefficients(x, log_space=True), h0)
        else:
            out = scan_sequential(*self.coefficients(x, log_space=False), h0)  # (B, T, H)
        return out, last_state(out, lengths, h0)


def _mingru(**options) -> MinRNN:
    return MinRNN(kind="gru", **options)


def _minlstm(**options) -> MinRNN:
    return MinRNN(kind="lstm", **options)


register_cell(
    CellSpec("mingru", _mingru, ("mode", "init", "horizon"), description="minGRU (Feng et al. 2024)")
)
register_cell(
    CellSpec("minlstm", _minlstm, ("mode", "init", "horizon"), description="minLSTM (Feng et al. 2024)")
)
