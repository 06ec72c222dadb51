"""Detection metrics: the ROC curve and the area under it (AUC).

An outlier detector gives every input a score (lesson 08: the autoencoder's
reconstruction error) and flags it when the score exceeds a threshold t.
With "negatives" the normal inputs and "positives" the outliers,

    TPR(t) = P(s_pos >= t),   FPR(t) = P(s_neg >= t),

and the ROC curve traces (FPR, TPR) as t sweeps from +inf down to -inf.
Its area has a probabilistic reading (Hanley and McNeil, 1982): the
Mann-Whitney statistic

    AUC = P(s_pos > s_neg) + 1/2 P(s_pos = s_neg)

for a random positive and a random negative, which ranks give exactly: with
R_pos the sum of the (tie-averaged, 1-based) ranks of the positives in the
pooled sample,

    AUC = (R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg).

0.5 is chance, 1 a perfect separation, and the trapezoidal area under
``roc_curve`` equals ``roc_auc`` (ties become diagonal segments, worth 1/2).
"""

import numpy as np
from scipy.stats import rankdata


def _check_scores(s, name):
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of scores, got shape {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError(f"{name} contains non-finite scores")
    return s


def roc_auc(scores_neg, scores_pos):
    """Area under the ROC curve by the rank (Mann-Whitney) formula.

    scores_neg: (n_neg,) scores of normal inputs; scores_pos: (n_pos,) of
    outliers (higher = more anomalous). Returns a float in [0, 1].
    """
    neg = _check_scores(scores_neg, "scores_neg")
    pos = _check_scores(scores_pos, "scores_pos")
    ranks = rankdata(np.concatenate([neg, pos]))            # (n_neg + n_pos,), ties averaged
    r_pos = float(ranks[neg.size:].sum())
    return (r_pos - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size)


def roc_curve(scores_neg, scores_pos):
    """ROC curve: ``(fpr, tpr, thresholds)``, each (m + 1,), m = number of
    distinct scores.

    thresholds run from +inf (nothing flagged: fpr = tpr = 0) down through
    every distinct score; at threshold t an input is flagged if its score is
    >= t, so the last point is (1, 1).
    """
    neg = _check_scores(scores_neg, "scores_neg")
    pos = _check_scores(scores_pos, "scores_pos")
    thresholds = np.unique(np.concatenate([neg, pos]))[::-1]   # (m,), descending
    # number of scores >= t, via sorted arrays: n - (count of scores < t)
    neg_sorted, pos_sorted = np.sort(neg), np.sort(pos)
    fp = neg.size - np.searchsorted(neg_sorted, thresholds, side="left")
    tp = pos.size - np.searchsorted(pos_sorted, thresholds, side="left")
    fpr = np.concatenate([[0.0], fp / neg.size])
    tpr = np.concatenate([[0.0], tp / pos.size])
    return fpr, tpr, np.concatenate([[np.inf], thresholds])
