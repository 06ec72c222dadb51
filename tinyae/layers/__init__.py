"""Thin stateful layers over the backend ops (for now all in ``dense``,
the first step of one module per family)."""

from .dense import *  # noqa: F401,F403
