"""scintiseg.seeds: a seed is a whole number from 0 to 2**32 - 1, checked in one line naming it."""

import numpy as np
import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.seeds import MAX_SEED, check_seed


@pytest.mark.parametrize("seed", [0, 7, MAX_SEED])
def test_every_seed_in_range_is_one_numpy_and_torch_take(seed):
    assert check_seed(seed) == seed
    np.random.default_rng(seed), np.random.RandomState(seed), torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, True, 1.0, "3"])
def test_a_seed_out_of_range_or_not_a_whole_number_is_one_line_naming_it(seed):
    with pytest.raises(ScintisegError, match=r"^--test-seed must be a whole number from 0 to 4294967295, got "):
        check_seed(seed, "--test-seed")
