"""The digit judge of the lessons' figure claims: it names real digits,
refuses wrong labels and grey blobs, and says what is wrong with bad input."""

import numpy as np
import pytest

from tinyae.course.judge import digit_judge, recognised_share
from tinyae.data import load_mnist


@pytest.fixture(scope="module")
def test_digits():
    x, y = load_mnist("test", dtype=np.float32)
    return x[:2000], y[:2000]


def test_judge_names_real_digits_and_refuses_wrong_labels(test_digits):
    x, y = test_digits
    assert recognised_share(x, y) > 0.95
    assert recognised_share(x, (y + 1) % 10) < 0.03
    # the same grey blob for every input (lesson 11's failure) is not recognised
    blob = np.broadcast_to(x.mean(axis=0), x.shape)
    assert recognised_share(blob, y) < 0.25
    # NCHW images are accepted as well as rows
    assert recognised_share(x.reshape(-1, 1, 28, 28), y) == recognised_share(x, y)


def test_judge_is_cached_and_reproducible():
    assert digit_judge(0) is digit_judge(0)


@pytest.mark.parametrize("bad, match", [
    (dict(images=np.zeros((3, 100))), r"images: expected \(N, 784\)"),
    (dict(labels=np.zeros(4, dtype=int)), r"labels: expected shape \(3,\)"),
    (dict(seed=-1), r"seed: expected an integer >= 0, got -1"),
])
def test_judge_bad_input_is_named(bad, match):
    args = dict(images=np.zeros((3, 784)), labels=np.zeros(3, dtype=int), seed=0) | bad
    with pytest.raises(ValueError, match=match):
        recognised_share(args["images"], args["labels"], seed=args["seed"])
