"""``python -m tinyae.bench``: the training-step benchmark (``--tsne``: the
t-SNE one), and the children of both."""

from . import run

run()
