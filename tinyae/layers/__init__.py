"""Thin stateful layers over the backend ops.

The layer protocol (every layer, every model built from them):

* ``params`` and ``grads`` are dicts with the same keys and shapes;
* ``forward(x)`` returns ``out`` and keeps one cache, overwritten each call.
  The first axis is the batch; a layer takes any number of further axes it
  can work with: element-wise layers any shape, ``Linear`` ``(..., n_in)``,
  image layers ``(N, C, H, W)``. Only a layer that needs a rank checks it.
  The one exception is asked for by name: the token layers built with
  ``batch_first=False`` (PyTorch's keyword) take token-major ``(T, N, D)``,
  the layout the MAE runs its blocks in;
* ``backward(dout, need_dx=True)`` returns ``dx`` (None when ``need_dx`` is
  False and the layer can skip it) and **adds** into ``grads`` (so a weight
  used twice, as in a tied autoencoder, collects both contributions);
* ``zero_grad()`` is the only place gradients are cleared.

Clearing without a pass over memory. A ``Linear`` layer's ``zero_grad``
only marks its weight gradient as zero; its next ``backward`` then *writes*
``x^T dout`` straight into the gradient array (BLAS's output) instead of
filling the array with zeros and adding a product into it: two passes over
the largest arrays of an MLP step saved (about 4-6% of a float64 step,
``docs/performance.md``). Reading ``grads`` (of the layer, of any container
holding it, of a model) settles first: an array still marked is filled with
zeros then. So every reader sees exactly the values the eager version
gives; only code that kept a gradient array from *before* a ``zero_grad``
and reads it without going through ``grads`` again could see an old value.

Parameter arrays are updated in place by the optimisers and by checkpoint
loading, so a dict that points at them stays valid for the life of the layer.

One module per family, the same families as ``tinyae.functional`` and
``tinyae.kernels``, re-exported here so ``layers.<Name>`` is every layer:

* ``base`` -- ``Layer`` (this protocol, once) and the weight initialisers
  (``INITS``, ``init_weight``);
* ``dense`` -- ``Linear``, ``TiedLinear``, the activations (``ACTIVATIONS``,
  ``activation``), ``TopK``, ``Flatten``, ``Reshape``, ``Sequential``,
  ``dense_stack``;
* ``image`` -- ``Conv2d``, ``ConvTranspose2d``, ``MaxPool2d``,
  ``AvgPool2d``, ``Upsample`` (ops in ``functional.conv``);
* ``transformer`` -- ``LayerNorm``, ``GELU``, ``MultiHeadSelfAttention``,
  ``TransformerBlock``, ``PatchEmbed``, ``PositionalEmbedding``;
* ``coding`` -- the latent-code layers of the later lessons:
  ``AngleEmbedding`` (energy models), ``Gain`` and ``UnitNormDictionary``
  (sparse coding), ``VectorQuantizer`` (VQ).
"""

from .base import INITS, Layer, glorot_uniform, he_normal, init_weight, small_normal
from .dense import (ACTIVATIONS, Flatten, Identity, Linear, ReLU, Reshape, Sequential,
                    Sigmoid, Softplus, Tanh, TiedLinear, TopK, activation, dense_stack)
from .image import UPSAMPLE_MODES, AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d, Upsample
from .transformer import (GELU, POS_EMBEDS, LayerNorm, MultiHeadSelfAttention, PatchEmbed,
                          PositionalEmbedding, TransformerBlock)
from .coding import CODEBOOK_INITS, AngleEmbedding, Gain, UnitNormDictionary, VectorQuantizer
