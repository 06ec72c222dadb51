"""``python -m tinyae.gradcheck``: run the registered cases, one row each."""

import argparse
import sys
import zlib

import numpy as np

from .._validation import arg_nonneg_int, arg_positive_float, check_positive_float
from .cases import CASES
from .core import DEFAULT_TOL


def run(pattern=None, *, seed=0, tol=DEFAULT_TOL, stream=sys.stdout):
    """Run every registered case (whose name contains ``pattern``).

    Prints a table and returns ``(all_passed, reports)``.
    """
    tol = check_positive_float(tol, "tol")
    reports = []
    names = [n for n in CASES if pattern is None or pattern.lower() in n.lower()]
    if not names:
        raise ValueError(f"no gradcheck case matches pattern {pattern!r}")
    width = max(len(n) for n in names)
    print(f"{'case':<{width}s}  {'worst rel. error':>16s}  {'where':<16s}  result",
          file=stream)
    for name in names:
        # each case's draws depend on its name only: the same numbers whether
        # it runs alone (-k) or among all, and whatever else is registered
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        report = CASES[name](rng)
        report.name = name
        reports.append(report)
        status = "ok" if report.passed(tol) else "FAIL"
        print(f"{name:<{width}s}  {report.worst:16.2e}  {report.worst_key:<16s}  {status}",
              file=stream)
    ok = all(r.passed(tol) for r in reports)
    worst = max(reports, key=lambda r: r.worst)
    print(f"\n{len(reports)} checks, worst {worst.worst:.2e} ({worst.name}); "
          f"tolerance {tol:g}: {'all passed' if ok else 'FAILED'}", file=stream)
    return ok, reports


def main(argv=None, prog="python -m tinyae.gradcheck"):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check every registered layer, loss, penalty and model "
                    "against central finite differences in float64.")
    parser.add_argument("-k", dest="pattern", default=None,
                        help="only cases whose name contains this text")
    parser.add_argument("--backend", choices=["numpy", "numba"], default=None,
                        help="backend to check (default: the current one)")
    parser.add_argument("--tol", type=arg_positive_float, default=DEFAULT_TOL,
                        help=f"fail a case whose worst relative error reaches this "
                             f"(default {DEFAULT_TOL:g})")
    parser.add_argument("--seed", type=arg_nonneg_int, default=0,
                        help="seed of the random inputs (default 0)")
    args = parser.parse_args(argv)
    if args.backend:
        from .. import backend
        backend.set_backend(args.backend)
    try:
        ok, _ = run(args.pattern, seed=args.seed, tol=args.tol)
    except ValueError as e:                            # no case matches -k
        parser.error(str(e))
    return 0 if ok else 1

