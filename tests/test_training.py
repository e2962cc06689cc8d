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


def test_a_ctrl_c_lost_outside_fit_stops_the_next_fit_at_its_start_and_is_not_printed(capsys):
    """Between train_i3d's two phases a SIGINT's KeyboardInterrupt can be raised inside a weakref callback, where
    Python prints and drops it (seen in test_train_finish's Ctrl-C test under load): the request is remembered, the
    next fit() stops at once, and the dropped interrupt is not printed."""
    import signal
    import sys
    from types import SimpleNamespace

    import numpy as np

    import train_i3d

    before = signal.getsignal(signal.SIGINT), sys.unraisablehook
    try:
        stopper = train_i3d.stop_on_ctrl_c()
        with pytest.raises(KeyboardInterrupt):  # outside fit(): raised at once, as usual ...
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
        # ... and suppose it was lost (a weakref callback): Python hands it to the unraisable hook
        sys.unraisablehook(SimpleNamespace(exc_type=KeyboardInterrupt, exc_value=KeyboardInterrupt(),
                                           exc_traceback=None, err_msg=None, object=None))
        assert "KeyboardInterrupt" not in capsys.readouterr().err
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        with pytest.raises(KeyboardInterrupt):
            model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0, callbacks=[stopper])
        assert model.optimizer.iterations.numpy() == 0  # not one step
    finally:
        signal.signal(signal.SIGINT, before[0])
        sys.unraisablehook = before[1]
