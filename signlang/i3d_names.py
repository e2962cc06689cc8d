"""The I3D's layer names: DeepMind's scopes, their Keras spelling, and the blocks of the network.

Layer names are DeepMind's variable scopes with '/' written as '__' (Keras 3 forbids '/'): the scope
`Mixed_4f/Branch_2/Conv3d_0b_3x3` is the ReLU layer `Mixed_4f__Branch_2__Conv3d_0b_3x3`, its convolution
`<name>__conv_3d` and its BatchNorm `<name>__batch_norm`. The network (signlang/i3d.py) and the readers of
foreign weight formats (i3d_formats.py) both build on these names.
"""

# Inception blocks: Branch_0 1x1, Branch_1 1x1 -> 3x3, Branch_2 1x1 -> 3x3, Branch_3 3x3 max-pool -> 1x1.
INCEPTION_BLOCKS = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
# DeepMind's i3d.py names the second conv of Mixed_5b/Branch_2 "Conv3d_0a_3x3" (everywhere else "0b").
MIXED_5B_BRANCH_2 = "Mixed_5b/Branch_2/Conv3d_0a_3x3"
LOGITS_SCOPE = "Logits/Conv3d_0c_1x1"
SEP = "__"  # stands for '/' in layer names
TOP_PREFIX = "Top" + SEP  # layers that add_i3d_top adds; everything else is the backbone


class WeightsError(ValueError):
    """A weights file that is missing, corrupt, or does not fit the model; the message says what to do."""


def layer_name(scope: str) -> str:
    """DeepMind scope -> Keras layer name: 'Mixed_4f/Branch_2/Conv3d_0b_3x3' -> 'Mixed_4f__Branch_2__Conv3d_0b_3x3'."""
    return scope.replace("/", SEP)


def scope_name(name: str) -> str:
    """Keras layer name -> DeepMind scope (the inverse of `layer_name`; DeepMind's names contain no '__')."""
    return name.replace(SEP, "/")


def unit_scopes() -> list[str]:
    """DeepMind scopes of every Conv3D + BatchNorm unit, in network order (the Logits conv not included)."""
    scopes = ["Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"]
    for block in INCEPTION_BLOCKS:
        scopes += [f"{block}/Branch_0/Conv3d_0a_1x1",
                   f"{block}/Branch_1/Conv3d_0a_1x1", f"{block}/Branch_1/Conv3d_0b_3x3",
                   f"{block}/Branch_2/Conv3d_0a_1x1", branch_2_second(block),
                   f"{block}/Branch_3/Conv3d_0b_1x1"]
    return scopes


def branch_2_second(block: str) -> str:
    scope = f"{block}/Branch_2/Conv3d_0b_3x3"
    return MIXED_5B_BRANCH_2 if block == "Mixed_5b" else scope
