"""Shared training helpers: the precision policy does not leak out of training; a non-finite loss stops it."""
import keras
import pytest

from signlang.training import precision_policy


def test_precision_policy_is_restored_after_the_block_even_on_error():
    before = keras.mixed_precision.global_policy().name
    with pytest.raises(RuntimeError):
        with precision_policy("mixed_float16"):
            assert keras.mixed_precision.global_policy().name == "mixed_float16"
            raise RuntimeError("training failed")
    assert keras.mixed_precision.global_policy().name == before
    with precision_policy(None):
        assert keras.mixed_precision.global_policy().name == before


def test_a_non_finite_loss_stops_training_with_a_message_that_says_what_to_do():
    from signlang.training import StopOnNonFiniteLoss

    stop = StopOnNonFiniteLoss("20261202-run", "Start a new run with --fresh --precision float32.")
    stop.on_epoch_begin(3)
    stop.on_train_batch_end(0, {"loss": 2.3})  # finite: nothing happens
    with pytest.raises(ValueError, match=r"20261202-run diverged: loss nan at batch 7 of epoch 4; .* --fresh"):
        stop.on_train_batch_end(6, {"loss": float("nan")})
