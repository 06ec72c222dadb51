"""What codes are for: the analysis tools of the later lessons.

Each module works on codes or samples that a trained model produced; none of
them is needed to build or train a model.

* ``metrics`` — ROC curves and AUC for outlier detection (lesson 08);
* ``scores`` — the score a denoising autoencoder estimates (lesson 03);
* ``tsne``, ``embedding_metrics`` — exact t-SNE, trustworthiness and k-NN
  accuracy of an embedding (lesson 12);
* ``retrieval``, ``compression`` — search on codes and hashing, a Huffman
  coder with quantisation, deep compression (lesson 13);
* ``generative`` — autoencoders as samplers (a Gaussian fitted to codes, the
  GSN chain) and the MMD between sample sets (lessons 14, 15);
* ``imputation`` — exact baselines for hidden pixels (lesson 18).
"""
