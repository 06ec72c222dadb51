"""Data for tinyae: MNIST from the shipped IDX files, synthetic sets with known
densities, binarisation and minibatches.

Nothing here downloads anything. MNIST ships with the repository in
``data/mnist/`` (four gzip-compressed IDX files, CC BY-SA 3.0, see the README
there); every file is checked against the SHA-256 of its decompressed bytes
before it is used.

Randomness only ever comes from a ``numpy.random.Generator`` passed in as
``rng``; nothing in this module touches a global seed.

One module per kind: ``mnist`` (MNIST, binarisation, patches),
``synthetic`` (sets with known answers), ``batching`` (minibatches).

Public API
----------
- ``load_mnist(split="train", *, dtype=np.float32, data_dir=None, flatten=True)``
- ``binarize_static(x, threshold=0.5)``, ``binarize_dynamic(x, rng)``
- ``GaussianMixture(weights, means, covs)`` with ``sample``, ``log_density``,
  ``density``, ``score``, ``responsibilities``, ``smoothed``, ``mean``, ``cov``;
  factories ``mixture_1d()`` and ``mixture_2d()``
- ``ring``, ``swiss_roll_2d``, ``swiss_roll_3d``, ``two_moons``
- ``rectangle_outlines`` (non-digit 28 x 28 images, for outlier tests),
  ``random_patches`` (square patches of images)
- ``minibatches(*arrays, batch_size, rng=None, shuffle=True, drop_last=False)``
- ``DataError`` (corrupted data) and ``DataNotFoundError`` (missing data)
"""

from .batching import minibatches
from .mnist import (MNIST_SHA256, DataError, DataNotFoundError, binarize_dynamic,
                    binarize_static, load_mnist, random_patches)
from .synthetic import (GaussianMixture, mixture_1d, mixture_2d, rectangle_outlines, ring,
                        swiss_roll_2d, swiss_roll_3d, two_moons)

__all__ = ['DataError', 'DataNotFoundError', 'MNIST_SHA256', 'load_mnist', 'binarize_static', 'binarize_dynamic', 'GaussianMixture', 'mixture_1d', 'mixture_2d', 'ring', 'swiss_roll_2d', 'swiss_roll_3d', 'two_moons', 'rectangle_outlines', 'minibatches', 'random_patches']
