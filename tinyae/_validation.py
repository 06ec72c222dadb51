"""Checks at the public boundary. Each error names the parameter, the value
received and what was expected. Kernels and ``functional`` never validate."""

import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype, name="dtype"):
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in FLOAT_DTYPES:
        raise ValueError(f"{name} must be float32 or float64, got {dtype!r}")
    return dt


def check_array(x, name, *, ndim=2, dtype=None, shape=None, finite=True,
                allow_empty=False):
    """Validate an input array and return it.

    x must be a NumPy float32/float64 array with ``ndim`` dimensions (and
    ``dtype`` if given). ``shape`` may hold ints or None (any size), e.g.
    ``(None, 784)``. With ``finite=True`` NaN or inf is an error. An array
    with 0 rows (first axis empty) is an error unless ``allow_empty``.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must have dtype float32 or float64, got {x.dtype}")
    if dtype is not None and x.dtype != np.dtype(dtype):
        raise TypeError(
            f"{name} must have dtype {np.dtype(dtype)} (the model's dtype), "
            f"got {x.dtype}; convert with {name}.astype(np.{np.dtype(dtype)})")
    if x.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D, got shape {x.shape}")
    if not allow_empty and x.ndim and x.shape[0] == 0:
        raise ValueError(
            f"{name} has 0 rows (shape {x.shape}): empty data has no loss, "
            f"code or gradient")
    if shape is not None:
        for axis, (got, want) in enumerate(zip(x.shape, shape)):
            if want is not None and got != want:
                expected = ", ".join("*" if s is None else str(s) for s in shape)
                raise ValueError(
                    f"{name} must have shape ({expected}), got {x.shape} "
                    f"(axis {axis} is {got}, expected {want})")
    if finite and not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")
    return x


def check_out_buffer(out, name, shape, dtype):
    """Validate an array an op is asked to write its result into, and return
    it: exactly ``shape`` and ``dtype``, C-contiguous and writeable (a
    kernel writes it through a flat view, so anything else is refused)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy array or None, got {type(out).__name__}")
    if out.dtype != np.dtype(dtype) or out.shape != tuple(shape):
        raise ValueError(
            f"{name} must be a {np.dtype(dtype)} array of shape {tuple(shape)}, "
            f"got {out.dtype} {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{name} must be a C-contiguous, writeable array")
    return out


def check_same_shape(a, a_name, b, b_name):
    if a.shape != b.shape:
        raise ValueError(
            f"{a_name} and {b_name} must have the same shape, "
            f"got {a.shape} and {b.shape}")


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_nonneg_float(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_positive_float(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_fraction(value, name):
    """A probability in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_open_fraction(value, name):
    """A number strictly between 0 and 1 (a target rate, a mixing weight)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    return float(value)


def check_decay(value, name):
    """A rate in [0, 1): a decay (momentum, Adam's betas, an average's decay)
    or any other fraction that must stay below 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_rng(rng, name="rng"):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator "
            f"(e.g. np.random.default_rng(0)), got {type(rng).__name__}")
    return rng


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_bool(value, name):
    """A flag: True or False (a NumPy bool too), not a truthy stand-in such
    as 0 or "no", which would quietly pick a branch."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_sizes(sizes, name="sizes", min_len=2):
    """A tuple of >= ``min_len`` positive layer widths, e.g. (784, 256, 30)."""
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of layer widths such as "
                        f"(784, 256, 30), got {sizes!r}") from None
    if len(sizes) < min_len:
        raise ValueError(f"{name} must have at least {min_len} entries, got {sizes!r}")
    return tuple(check_positive_int(n, f"{name}[{i}]") for i, n in enumerate(sizes))


# --------------------------------------------------------------------------
# Command-line flags: argparse ``type=`` functions, one per kind of value.
# argparse prefixes the message with the flag ("argument --epochs: ..."), so
# every command line names the flag, the value and what was expected.
# --------------------------------------------------------------------------

def _arg_number(kind, text, ok, expected):
    import argparse
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {expected}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def arg_positive_int(text):
    """argparse type: an integer >= 1 (epochs, threads, steps)."""
    return _arg_number(int, text, lambda v: v >= 1, "an integer >= 1")


def arg_nonneg_int(text):
    """argparse type: an integer >= 0 (seeds, warm-up steps)."""
    return _arg_number(int, text, lambda v: v >= 0, "an integer >= 0")


def arg_positive_float(text):
    """argparse type: a finite number > 0 (tolerances, learning rates)."""
    return _arg_number(float, text, lambda v: np.isfinite(v) and v > 0,
                       "a finite number > 0")
