r"""Gradient checking: the course's central tool.

A hand-written backward pass is trusted only after it agrees with central
finite differences,

$$
\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},
$$

whose error is $O(h^2)$ from truncation plus about
$\epsilon_{\mathrm{mach}} |f| / h$ from rounding. In float64
($\epsilon_{\mathrm{mach}} \approx 10^{-16}$) with $h = 10^{-6}$ both are
around $10^{-10}$; in float32 ($\epsilon_{\mathrm{mach}} \approx 6 \cdot 10^{-8}$)
the rounding term alone is about 0.1, which is why every check here refuses
anything but float64.

The agreement is measured by a relative error with a floor,

$$
\mathrm{err} = \frac{\max_i |a_i - n_i|}{\max\bigl(\max_i (|a_i| + |n_i|),\ \mathrm{floor}\bigr)},
$$

($a$ analytic, $n$ numerical): scale-free, and the floor keeps an all-zero
gradient from dividing by zero. A correct float64 gradient gives 1e-8 or
less; a wrong one gives 1e-2 or more. Check away from kinks (ReLU at 0):
there the two one-sided slopes differ and finite differences mean nothing.

Run ``python -m tinyae.gradcheck`` to check every registered layer, loss,
penalty and model; it prints one row each and exits non-zero if any worst
relative error reaches the tolerance (1e-7).

The package: ``core`` is the tool (finite differences, relative error,
``check_layer`` / ``check_loss`` / ``check_model`` / ``directional_check``),
``cases`` the registry of every layer, loss, penalty and model, ``runner``
the command line.
"""

from .core import *  # noqa: F401,F403
from .core import DEFAULT_FLOOR, DEFAULT_H, DEFAULT_TOL  # noqa: F401
from .cases import CASES, away_from_zero, register  # noqa: F401
from .runner import main, run  # noqa: F401
