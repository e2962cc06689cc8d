"""The I3D stem's strided 3-D convolution, computed as a stride-1 convolution on a space-to-depth input.

`load_model` loads a saved I3D with this stem swapped in.

TensorFlow's CPU kernel for the filter gradient of a *strided* Conv3D is pathologically slow: for I3D's
7x7x7 stride-2 stem on 2 clips of 8x64x64 flow it took 12.3 s against 0.23 s for this form (55x), and it
made one training step of the whole network cost ~14 s where the forward pass costs 0.1 s.
`python -m bench.i3d --stem` (2026-12-02, 2 cores, numpy matmul 129 GFLOP/s, load ~1): a batch-4
training step at 8x64x64 took 27.1 s stock against 1.23 s (22x); at the demo's 16x128x128 both took
7.1 s (TensorFlow picks a good kernel there), so the gain is at small inputs.

Rearranging every 2x2x2 block of input voxels into channels turns the stride-2 7x7x7 convolution
into an exactly equal stride-1 4x4x4 one (the kernel is zero-padded to 8x8x8 and rearranged the same
way), whose kernels are fast both ways; the forward pass is also ~2x faster. Only the layer's computation changes (`use_space_to_depth` swaps a stock Conv3D's convolution_op),
so its weights and config stay the stock ones: Kinetics weights, the foreign-format readers and saved
.keras files (which load in plain Keras, just without the speed-up) see the same (7, 7, 7, C, 64) kernel.
"""
import functools


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding (the extra pixel goes after) for one dimension."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def use_space_to_depth(model) -> int:
    """Runs every strided 'same' Conv3D of `model` (channels last, no dilation) as space-to-depth; returns
    how many. Call it again on a model loaded from a file: the swap is not saved."""
    import keras

    layers = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Conv3D)
              and layer.padding == "same" and layer.data_format == "channels_last"
              and set(layer.dilation_rate) == {1} and set(layer.strides) != {1}]
    for layer in layers:
        layer.convolution_op = functools.partial(space_to_depth_convolution, layer)
    return len(layers)


def space_to_depth_convolution(layer, inputs, kernel):
    """What `layer` (a strided 'same' Conv3D) computes, as a stride-1 VALID conv on blocks of voxels."""
    from keras import ops

    sizes = tuple(inputs.shape[1:4])
    if None in sizes:
        return ops.conv(inputs, kernel, strides=list(layer.strides), padding="same")
    strides, kernel_size = tuple(layer.strides), tuple(kernel.shape[:3])
    channels, filters = kernel.shape[3], kernel.shape[4]
    # pad the input the way 'same' does, then on to a whole number of blocks that the stride-1 VALID
    # convolution of the rearranged kernel (ceil(k/s) taps per dimension) reads exactly `out` outputs from
    taps = [-(-k // s) for k, s in zip(kernel_size, strides)]
    pads, blocks = [[0, 0]], []
    for size, k, s, t in zip(sizes, kernel_size, strides, taps):
        before, _ = _same_padding(size, k, s)
        length = s * (-(-size // s) + t - 1)
        pads.append([before, length - size - before])
        blocks.append(length // s)
    pads.append([0, 0])
    x = ops.pad(inputs, pads)
    (bt, bh, bw), (st, sh, sw) = blocks, strides
    x = ops.reshape(x, (-1, bt, st, bh, sh, bw, sw, channels))
    x = ops.transpose(x, (0, 1, 3, 5, 2, 4, 6, 7))
    x = ops.reshape(x, (-1, bt, bh, bw, st * sh * sw * channels))
    w = ops.pad(kernel, [[0, t * s - k] for k, s, t in zip(kernel_size, strides, taps)] + [[0, 0], [0, 0]])
    w = ops.reshape(w, (taps[0], st, taps[1], sh, taps[2], sw, channels, filters))
    w = ops.transpose(w, (0, 2, 4, 1, 3, 5, 6, 7))
    w = ops.reshape(w, (*taps, st * sh * sw * channels, filters))
    return ops.conv(x, w, strides=1, padding="valid", data_format="channels_last")


def use_stock_convolution(model) -> int:
    """Undoes `use_space_to_depth`: every swapped Conv3D computes with Keras' own strided convolution again;
    returns how many. For a LiteRT export (modelexport.py): TFLite's built-in ops have no 8-D transpose."""
    layers = [layer for layer in model._flatten_layers() if "convolution_op" in vars(layer)]
    for layer in layers:
        del layer.convolution_op
    return len(layers)


def load_model(path, compile: bool = True):
    """keras.models.load_model for a saved I3D, with the fast stem convolution swapped in."""
    import keras

    model = keras.models.load_model(path, compile=compile)
    use_space_to_depth(model)
    return model
