import numpy as np
import pytest

from tinyae import backend as _backend


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=sorted(_backend.BACKENDS))
def each_backend(request):
    """Run the test once per backend (numpy reference, numba twin)."""
    with _backend.use(request.param):
        yield request.param
