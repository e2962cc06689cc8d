"""Shared training helpers: the precision policy does not leak out of training."""
import keras
import pytest

from training import precision_policy


def test_precision_policy_is_restored_after_the_block_even_on_error():
    before = keras.mixed_precision.global_policy().name
    with pytest.raises(RuntimeError):
        with precision_policy("mixed_float16"):
            assert keras.mixed_precision.global_policy().name == "mixed_float16"
            raise RuntimeError("training failed")
    assert keras.mixed_precision.global_policy().name == before
    with precision_policy(None):
        assert keras.mixed_precision.global_policy().name == before
