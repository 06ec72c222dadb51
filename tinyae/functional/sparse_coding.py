r"""Sparse coding ops: the soft-threshold (the proximal map of the L1 norm)
and one ISTA step, the building block of ISTA, FISTA and the inference of
predictive sparse decomposition (conventions in ``tinyae.functional``).

Notation. A signal ``x: (N, d)`` is explained by a code ``z: (N, K)`` over
a dictionary ``D: (K, d)`` whose rows are the $K$ atoms (overcomplete:
$K > d$); the reconstruction is $z D$. The sparse-coding energy of one
example is

$$
F(z) = f(z) + \lambda \|z\|_1, \qquad
f(z) = \tfrac12 \|x - z D\|^2 + \tfrac{\alpha}{2} \|z - p\|^2,
$$

where the second term of $f$ is optional: $\alpha = 0$ is plain sparse
coding (the lasso); $\alpha > 0$ adds predictive sparse decomposition's
pull towards an encoder's prediction ``p: (N, K)``. $f$ is smooth; the
derivative of $\frac12 \|z D - x\|^2$ in the row vector $z$ is
$(z D - x) D^\top$, so

$$
\nabla f(z) = (z D - x) D^\top + \alpha (z - p),
$$

Lipschitz with constant $L = \|D\|_2^2 + \alpha$ (the largest eigenvalue of
$D D^\top$, plus $\alpha$); the L1 term is not smooth but has a cheap
proximal map.
"""

import numpy as np


# --------------------------------------------------------------------------
# Soft-threshold: the proximal map of t |.|
# --------------------------------------------------------------------------

def soft_threshold_forward(v, t):
    r"""$\mathrm{out} = \operatorname{sign}(v) \max(|v| - t, 0)$, element-wise;
    ``v`` any shape, $t \ge 0$.

    It is the proximal map of $t |\cdot|$:

    $$
    \mathrm{out} = \operatorname*{argmin}_z \; \tfrac12 (z - v)^2 + t |z| .
    $$

    Optimality says $0 \in z - v + t \, \partial|z|$, with the subdifferential
    $\partial|z| = \{\operatorname{sign}(z)\}$ for $z \ne 0$ and $[-1, 1]$ at
    $z = 0$. So $z = v - t \operatorname{sign}(v)$ when $|v| > t$, and $z = 0$
    when $|v| \le t$ (then $v / t \in [-1, 1]$, a valid subgradient).

    ``cache`` = the mask $|v| > t$ (bool, shape of ``v``): the derivative.
    """
    mask = np.abs(v) > t
    out = np.where(mask, v - t * np.sign(v), 0).astype(v.dtype, copy=False)
    return out, mask


def soft_threshold_backward(dout, cache):
    r"""Backward of ``soft_threshold_forward``:

    $$
    \frac{\partial L}{\partial v} = \frac{\partial L}{\partial\,\mathrm{out}} \odot [|v| > t] .
    $$

    On $|v| > t$ the map is $v - t \operatorname{sign}(v)$, slope 1; on
    $|v| < t$ it is the constant 0, slope 0. At the two kinks $|v| = t$ it has
    no derivative (the one-sided slopes are 0 and 1); 0 is used there, as for
    ReLU (soft-thresholding is $\operatorname{ReLU}(v - t) - \operatorname{ReLU}(-v - t)$).
    """
    mask = cache
    return dout * mask


# --------------------------------------------------------------------------
# One ISTA step (a proximal-gradient step on F)
# --------------------------------------------------------------------------

def ista_step_forward(z, x, D, lam, step, alpha=0.0, p=None):
    r"""One proximal-gradient step on $F$, as a function of the code: with
    $\eta$ = ``step``,

    $$
    u &= z - \eta \, \nabla f(z) = z - \eta \big((z D - x) D^\top + \alpha (z - p)\big), \\
    \mathrm{out} &= \operatorname{soft}(u, \eta \lambda) .
    $$

    ``z: (N, K)``, ``x: (N, d)``, ``D: (K, d)``, ``p: (N, K)`` or None (no
    prediction term: ``alpha`` is then not read); $\lambda$ = ``lam`` $\ge 0$,
    $\eta > 0$ ($1/L$ for the guarantees). ``out: (N, K)``. With $\eta = 1/L$,
    $F(\mathrm{out}) \le F(z)$ (ISTA is a descent method).
    ``cache = (z, D, R, mask, step, alpha, has_p)`` with
    $R = z D - x$, ``(N, d)``, and ``mask`` $= [|u| > \eta \lambda]$.
    """
    step = z.dtype.type(step)
    alpha = z.dtype.type(alpha if p is not None else 0)
    R = z @ D - x                                    # (N, d) residual
    u = z - step * (R @ D.T)                         # (N, K)
    if p is not None:
        u = u - (step * alpha) * (z - p)
    out, mask = soft_threshold_forward(u, step * z.dtype.type(lam))
    return out, (z, D, R, mask, step, alpha, p is not None)


def ista_step_backward(dout, cache):
    r"""Gradients of one ISTA step.

    Let $g = \partial L / \partial\,\mathrm{out} \odot \mathrm{mask}$, the
    gradient reaching $u$ through the soft-threshold
    (``soft_threshold_backward``). With $\eta$ = ``step`` and
    $R = z D - x$, the forward pass expands to

    $$
    u &= (1 - \eta \alpha) \, z - \eta \, R D^\top + \eta \alpha \, p \\
    &= (1 - \eta \alpha) \, z - \eta \, z D D^\top + \eta \, x D^\top + \eta \alpha \, p,
    $$

    linear in $z$, $x$ and $p$. The gradients are read off term by term
    (for a term $z M$, the gradient is $g M^\top$):

    $$
    \frac{\partial L}{\partial z} = (1 - \eta \alpha) \, g - \eta \, (g D) D^\top \quad \text{(N, K)},
    $$

    $$
    \frac{\partial L}{\partial x} = \eta \, g D \quad \text{(N, d)}, \qquad
    \frac{\partial L}{\partial p} = \eta \alpha \, g \quad \text{(N, K)}.
    $$

    $D$ appears twice in $-\eta \, R D^\top$: in $R = z D - x$ and in the
    factor $D^\top$; each use gives one product. Holding $R$ fixed, the
    gradient of $-\eta \, R D^\top$ in $D$ is $-\eta \, g^\top R$. Through
    $R$: the gradient reaching $R$ is $-\eta \, g D$, and $R = z D - x$
    passes $z^\top (-\eta \, g D)$ on to $D$. So

    $$
    \frac{\partial L}{\partial D} = -\eta \big(g^\top R + z^\top (g D)\big) \;\; \text{(K, d)}.
    $$

    ``dp`` is None without ``p``. Returns ``(dz, dx, dD, dp)``.
    """
    z, D, R, mask, step, alpha, has_p = cache
    g = soft_threshold_backward(dout, mask)
    gD = g @ D                                       # (N, d)
    dz = (1 - step * alpha) * g - step * (gD @ D.T)
    dx = step * gD
    dD = -step * (g.T @ R + z.T @ gD)
    dp = (step * alpha) * g if has_p else None
    return dz, dx, dD, dp


def sparse_coding_energy(z, x, D, lam, alpha=0.0, p=None):
    r"""Per-example energy
    $F(z) = \frac12 \|x - z D\|^2 + \lambda \|z\|_1 \; (+ \frac{\alpha}{2} \|z - p\|^2)$:
    ``(N,)`` float64. Shapes as in ``ista_step_forward``.
    """
    R = (z @ D - x).astype(np.float64)
    F = 0.5 * np.sum(R * R, axis=1) + lam * np.sum(np.abs(z), axis=1, dtype=np.float64)
    if p is not None:
        diff = (z - p).astype(np.float64)
        F = F + 0.5 * alpha * np.sum(diff * diff, axis=1)
    return F
