r"""The NumPy reference: pure functions, the ground truth a student reads.

Every op comes as a pair. ``*_forward(...) -> (out, cache)`` computes the
value and keeps exactly what the backward pass needs; ``*_backward(dout,
cache)`` turns the upstream gradient ``dout`` $= \partial L / \partial\,\mathrm{out}$
into gradients with respect to the inputs. Losses return their value and
their gradient together.

Conventions used everywhere in tinyae:

* the first axis is the batch: ``x: (batch, features)`` for dense ops,
  ``(batch, channels, height, width)`` (NCHW, as PyTorch) for images;
* ``dname`` is $\partial L / \partial\,\mathrm{name}$ and has the shape of
  ``name``;
* losses are **summed over the dimensions of an example and averaged over
  the batch**:

  $$
  L = \frac{1}{N} \sum_n \sum_d \ell(\mathrm{pred}_{nd}, \mathrm{target}_{nd}) .
  $$

  A loss of 13.87 on MNIST is a squared error of 13.87 per image, not per
  pixel;
* the output dtype follows the input dtype (float32 in, float32 out).

No validation happens here (that is the job of the public classes in
``layers``, ``losses`` and ``models``), and ``tinyae.kernels`` holds a Numba
twin of every function with the same name, signature and cache.

One module per family of ops, re-exported here, so ``functional.<op>`` is the
whole reference:

* ``dense`` -- affine map, activations, losses, penalties, corruptions, Adam
  and the fused ops of the MLP training step;
* ``conv`` -- images (NCHW): convolution (im2col and a naive loop),
  transposed convolution, max and average pooling, nearest and bilinear
  upsampling, and ``conv_geometry`` (their output shapes); the
  convolutions' channel-major (C, N, H, W) twins (``*_cnhw``);
* ``transformer`` -- patches, LayerNorm, GELU, softmax attention, token
  masking, positional embeddings and the masked-patch loss (the MAE);
* ``tsne`` -- t-SNE's perplexity-calibrated affinities (over all points,
  or each point's nearest neighbours) and its cost and gradient (the
  $O(n^2)$ part of ``tinyae.analysis.tsne``);
* ``tsne_bh`` -- Barnes-Hut t-SNE: the quadtree over a 2-D embedding and
  the cost and gradient with the repulsion summarised by its cells;
* ``neighbours`` -- exact nearest neighbours from rows of distances: the k
  smallest of a row and the rank of a column in its row;
* ``hashing`` -- binary codes packed into uint64 words, Hamming distances
  and Hamming ranking (semantic hashing);
* ``sparse_coding`` -- the soft-threshold (prox of the L1 norm) and one
  ISTA step, with the sparse-coding energy;
* ``vq`` -- vector quantisation: nearest code, per-code statistics, the
  straight-through estimator, codebook/commitment losses, the EMA update.
"""

from .dense import *  # noqa: F401,F403
from .dense import LOG_2PI, SPARSITY_EPS  # noqa: F401
from .conv import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .tsne import *  # noqa: F401,F403
from .tsne_bh import *  # noqa: F401,F403
from .neighbours import *  # noqa: F401,F403
from .hashing import *  # noqa: F401,F403
from .sparse_coding import *  # noqa: F401,F403
from .vq import *  # noqa: F401,F403
