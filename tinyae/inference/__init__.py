"""Inferring a code by optimisation instead of by an encoder.

* ``sparse_coding`` — ISTA and FISTA with the Beck-Teboulle bounds (lesson
  16; ``models.PSD`` trains an encoder to predict their codes);
* ``energy`` — energy-based latent-variable models: inference by descent on
  z and the free energy (lesson 15; ``models.LatentEnergyAutoencoder``).
"""
