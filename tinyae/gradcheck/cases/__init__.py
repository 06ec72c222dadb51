"""The registry of checks run by ``python -m tinyae.gradcheck``.

Each case is a function of an rng returning a ``GradReport``, in float64,
with inputs sampled away from kinks. One module per family registers its
cases when imported; a new family is one module and one import line below.
"""

from ..core import check_layer

CASES = {}


def register(name):
    """Decorator: add a check ``fn(rng) -> GradReport`` to the command line."""
    def deco(fn):
        if name in CASES:
            raise ValueError(f"gradcheck case {name!r} registered twice")
        CASES[name] = fn
        return fn
    return deco


def away_from_zero(rng, shape, low=0.1, high=2.0):
    """Random values with |v| in [low, high]: no input sits at a kink."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def layer_case(make_layer, shape=(4, 5)):
    """A case that checks ``make_layer(rng)`` on an input of ``shape``."""
    def case(rng):
        layer = make_layer(rng)
        return check_layer(layer, away_from_zero(rng, shape), rng=rng)
    return case


# One line per family (each module registers its cases on import).
from . import dense  # noqa: E402,F401
from . import autoencoders  # noqa: E402,F401
from . import vae  # noqa: E402,F401
from . import conv  # noqa: E402,F401
from . import transformer  # noqa: E402,F401
from . import tsne  # noqa: E402,F401
from . import hashing  # noqa: E402,F401
from . import energy  # noqa: E402,F401
from . import sparse_coding  # noqa: E402,F401
from . import vq  # noqa: E402,F401
from . import diffusion  # noqa: E402,F401
