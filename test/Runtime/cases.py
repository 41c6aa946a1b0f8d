"""The case table of golden.py.

A layer-list case is a dict: `name`, `inputs` (input name -> shape, a
dimension name is the batch, bound to `batch`, default 2), `layers` (netc
layer dicts; golden.py runs the same list with torch.nn modules) and
`outputs`. Most cases are one model per op family whose variants are
independent branches reading the input, each its own output, so that one
JIT compile covers many variants; a failure names the branch (output).
Layer names avoid dots here: `dotted_names` tests those on their own.

A network case has `network`: a function returning (YAML text, a torch
module mapping {input: tensor} to the output); the module exposes
`named_state()`, its state_dict with the netc layer names.

`kind: sched` cases also compare the tuned schedule with the reference
schedule (`--compare-reference`).
"""

import os

import torch
import torch.nn as nn
import torchvision
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.models.resnet import BasicBlock
from torchvision.models.squeezenet import Fire
from torchvision.ops.misc import Conv2dNormActivation

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "..", "examples")


def L(name, op, src="x", **kw):
    """One branch layer: `name`, `op`, reading `src`, with torch kwargs."""
    layer = {"name": name, "op": op, "from": src}
    layer.update(kw)
    return layer


def conv(name, cin, cout, k, src="x", **kw):
    return L(name, "Conv2d", src, in_channels=cin, out_channels=cout,
             kernel_size=k, **kw)


def names(layers):
    return [l["name"] for l in layers]


def branches(name, inputs, layers, **extra):
    """A case whose every layer is an output."""
    case = {"name": name, "inputs": inputs, "layers": layers,
            "outputs": names(layers)}
    case.update(extra)
    return case


CASES = []

# --- Conv2d -------------------------------------------------------------------

CASES.append(branches("conv_basic", {"x": ["N", 4, 11, 13]}, [
    conv("pad_int", 4, 6, 3, padding=1, padding_mode="zeros"),
    conv("pad_pair", 4, 5, [3, 5], padding=[1, 2]),
    conv("pad_pair_uneven", 4, 5, 3, padding=[2, 0]),
    conv("stride2", 4, 6, 3, stride=2),
    conv("stride_pair", 4, 6, [3, 5], stride=[2, 1], padding=[1, 2]),
    conv("dil2", 4, 6, 3, dilation=2, padding=2),
    conv("dil_pair", 4, 6, 3, dilation=[1, 3], padding=[0, 3]),
    conv("dil_stride", 4, 5, 3, dilation=2, stride=2),
    conv("groups2", 4, 6, 3, groups=2, padding=1),
    conv("groups4_x2", 4, 8, 3, groups=4, padding=1),
    conv("depthwise", 4, 4, 3, groups=4, padding=1),
    conv("no_bias_k1", 4, 7, 1, bias=False),
    conv("k_full", 4, 2, [11, 13]),
], batch=3))

CASES.append(branches("conv_same_valid", {"x": [2, 3, 9, 10]}, [
    conv("same_k3", 3, 4, 3, padding="same"),
    conv("same_k4", 3, 4, 4, padding="same", bias=False),  # 1 | 2
    conv("same_k2x5", 3, 4, [2, 5], padding="same"),
    conv("same_k6x3", 3, 4, [6, 3], padding="same"),
    conv("same_k2_dil2", 3, 4, 2, padding="same", dilation=2),
    conv("same_k4_dil3", 3, 4, 4, padding="same", dilation=3),  # 4 / 5
    conv("same_groups", 3, 6, 4, padding="same", groups=3),
    conv("valid_k3", 3, 4, 3, padding="valid"),
    conv("valid_s2", 3, 4, [4, 3], padding="valid", stride=2),
]))

CASES.append(branches("conv_padding_modes", {"x": [2, 3, 7, 8]}, [
    conv("replicate1", 3, 4, 3, padding=1, padding_mode="replicate"),
    conv("replicate_pair", 3, 4, 3, padding=[1, 3],
         padding_mode="replicate"),
    conv("replicate_big", 3, 4, 3, padding=5, padding_mode="replicate"),
    conv("circular1", 3, 4, 3, padding=1, padding_mode="circular",
         bias=False),
    conv("circular_pair", 3, 4, 3, padding=[2, 3],
         padding_mode="circular"),
    conv("circular_full", 3, 4, 3, padding=[7, 8],
         padding_mode="circular"),
    conv("circular_same_2x3", 3, 4, [2, 3], padding="same",
         padding_mode="circular"),
]))

# Reflect padding, batched and unbatched; also checked against the
# reference schedule.
CASES.append({
    "name": "conv_reflect", "kind": "sched",
    "inputs": {"x": [2, 3, 7, 8], "u": [3, 9, 11], "w": [1, 7, 13, 17]},
    "layers": [
        conv("reflect1", 3, 4, 3, padding=1, padding_mode="reflect"),
        conv("reflect_pair", 3, 4, 3, padding=[2, 3],
             padding_mode="reflect"),
        conv("reflect_same_k4", 3, 4, 4, padding="same",
             padding_mode="reflect"),
        conv("reflect_s2", 3, 4, 3, padding=2, stride=2,
             padding_mode="reflect"),
        conv("reflect_dw", 3, 3, 3, padding=[6, 7], groups=3,
             padding_mode="reflect"),
        conv("unbatched_s2", 3, 4, 3, "u", stride=2, padding=1,
             padding_mode="reflect"),
        conv("w17_c5", 7, 5, 3, "w", padding=1, padding_mode="reflect"),
    ],
    "outputs": ["reflect1", "reflect_pair", "reflect_same_k4", "reflect_s2",
                "reflect_dw", "unbatched_s2", "w17_c5"],
})

# Unbatched CHW input through Conv2d and pooling.
CASES.append(branches("unbatched_3d", {"x": [3, 9, 11]}, [
    conv("conv", 3, 5, 3, padding=1),
    conv("conv_replicate", 3, 4, 3, padding=[1, 2],
         padding_mode="replicate"),
    conv("conv_depthwise", 3, 3, 3, groups=3),
    conv("conv_same_k4", 3, 2, 4, padding="same"),
    L("maxpool", "MaxPool2d", kernel_size=3, stride=2, padding=1),
    L("avgpool", "AvgPool2d", kernel_size=2, ceil_mode=True),
    L("adaptive", "AdaptiveAvgPool2d", output_size=[4, 3]),
]))

# --- pooling --------------------------------------------------------------------

# x is 9x10: with kernel 2, stride 2, padding 1 and ceil_mode the last row
# window would start in the bottom padding and is dropped (5 rows, not 6);
# the last column window starts on the last real column and stays.
CASES.append(branches("maxpool", {"x": [2, 3, 9, 10]}, [
    L("k2", "MaxPool2d", kernel_size=2),
    L("k3_s2_p1", "MaxPool2d", kernel_size=3, stride=2, padding=1),
    L("k3_s1", "MaxPool2d", kernel_size=3, stride=1),
    L("k_pair", "MaxPool2d", kernel_size=[2, 3], stride=[1, 2],
      padding=[1, 1]),
    L("dil2", "MaxPool2d", kernel_size=3, stride=1, dilation=2, padding=1),
    L("dil_pair", "MaxPool2d", kernel_size=2, dilation=[2, 3]),
    L("ceil", "MaxPool2d", kernel_size=3, stride=2, ceil_mode=True),
    L("ceil_drop", "MaxPool2d", kernel_size=2, stride=2, padding=1,
      ceil_mode=True),
    L("ceil_dil", "MaxPool2d", kernel_size=2, stride=3, dilation=2,
      padding=1, ceil_mode=True),
    L("s_gt_k", "MaxPool2d", kernel_size=2, stride=3),
]))

CASES.append(branches("avgpool", {"x": [2, 3, 9, 10]}, [
    L("k2", "AvgPool2d", kernel_size=2),
    L("pad_incl", "AvgPool2d", kernel_size=3, stride=2, padding=1),
    L("pad_excl", "AvgPool2d", kernel_size=3, stride=2, padding=1,
      count_include_pad=False),
    L("divisor", "AvgPool2d", kernel_size=3, stride=2, padding=1,
      divisor_override=5),
    L("divisor_ceil", "AvgPool2d", kernel_size=3, stride=2, padding=1,
      ceil_mode=True, divisor_override=2),
    L("ceil", "AvgPool2d", kernel_size=3, stride=2, ceil_mode=True),
    L("ceil_pad_incl", "AvgPool2d", kernel_size=3, stride=2, padding=1,
      ceil_mode=True),
    L("ceil_pad_excl", "AvgPool2d", kernel_size=3, stride=2, padding=1,
      ceil_mode=True, count_include_pad=False),
    L("ceil_drop_incl", "AvgPool2d", kernel_size=2, stride=2, padding=1,
      ceil_mode=True),
    L("ceil_drop_excl", "AvgPool2d", kernel_size=2, stride=2, padding=1,
      ceil_mode=True, count_include_pad=False),
    L("k_pair", "AvgPool2d", kernel_size=[2, 3], stride=[1, 2],
      padding=[1, 1]),
    L("s_lt_k", "AvgPool2d", kernel_size=4, stride=1),
]))

CASES.append(branches("adaptive_avgpool", {"x": [2, 3, 7, 10]}, [
    L("out3", "AdaptiveAvgPool2d", output_size=3),          # 7->3, 10->3
    L("out3x4", "AdaptiveAvgPool2d", output_size=[3, 4]),   # 10->4 uneven
    L("out1", "AdaptiveAvgPool2d", output_size=1),
    L("out1x1", "AdaptiveAvgPool2d", output_size=[1, 1]),
    L("larger", "AdaptiveAvgPool2d", output_size=[9, 13]),
    L("none_h", "AdaptiveAvgPool2d", output_size=[None, 4]),
    L("none_w", "AdaptiveAvgPool2d", output_size=[5, None]),
    L("none_both", "AdaptiveAvgPool2d", output_size=[None, None]),
    L("same_size", "AdaptiveAvgPool2d", output_size=[7, 10]),
    L("out6", "AdaptiveAvgPool2d", output_size=[6, 6]),
]))

# --- BatchNorm2d, Linear, Flatten, Softmax --------------------------------------

CASES.append(branches("batchnorm", {"x": ["N", 4, 5, 6]}, [
    L("running", "BatchNorm2d", num_features=4),
    L("eps_momentum", "BatchNorm2d", num_features=4, eps=1e-2, momentum=0.3),
    L("no_affine", "BatchNorm2d", num_features=4, affine=False),
    L("batch_stats", "BatchNorm2d", num_features=4,
      track_running_stats=False),
    L("batch_stats_no_affine", "BatchNorm2d", num_features=4, affine=False,
      track_running_stats=False),
], batch=3, input_scale=2.0))

CASES.append({
    "name": "linear_flatten",
    "inputs": {"x": ["N", 3, 4, 6], "v": ["N", 12]},
    "layers": [
        L("lin2d", "Linear", "v", in_features=12, out_features=5),
        L("lin2d_no_bias", "Linear", "v", in_features=12, out_features=7,
          bias=False),
        L("lin4d", "Linear", "x", in_features=6, out_features=5),
        L("lin4d_no_bias", "Linear", "x", in_features=6, out_features=3,
          bias=False),
        L("flat", "Flatten"),
        L("flat_start2", "Flatten", start_dim=2),
        L("flat_end2", "Flatten", end_dim=2),
        L("flat_start0", "Flatten", start_dim=0),
        L("flat_1_m2", "Flatten", start_dim=1, end_dim=-2),
        L("flat_3_3", "Flatten", start_dim=3, end_dim=3),
        L("flat_fc", "Linear", "flat", in_features=72, out_features=10),
        L("fc_chain", "Linear", "flat_fc", in_features=10, out_features=4),
    ],
    "outputs": ["lin2d", "lin2d_no_bias", "lin4d", "lin4d_no_bias", "flat",
                "flat_start2", "flat_end2", "flat_start0", "flat_1_m2",
                "flat_3_3", "flat_fc", "fc_chain"],
    "batch": 3,
})

CASES.append(branches("softmax", {"x": [3, 4, 5, 6]}, [
    L("dim1", "Softmax", dim=1),
    L("dim_m1", "Softmax", dim=-1),
    L("dim0", "Softmax", dim=0),
    L("dim2", "Softmax", dim=2),
    L("dim_m3", "Softmax", dim=-3),
    L("flat", "Flatten"),
    L("rank2_dim1", "Softmax", "flat", dim=1),
    L("rank2_dim0", "Softmax", "flat", dim=0),
], input_scale=4.0))

# --- activations, Dropout, Identity ---------------------------------------------

CASES.append(branches("activations", {"x": [2, 3, 8, 9]}, [
    L("relu", "ReLU"),
    L("relu_inplace", "ReLU", inplace=True),
    L("relu6", "ReLU6"),
    L("silu", "SiLU"),
    L("sigmoid", "Sigmoid"),
    L("tanh", "Tanh"),
    L("hardswish", "Hardswish"),
    L("leaky_default", "LeakyReLU"),
    L("leaky_02", "LeakyReLU", negative_slope=0.2),
    L("gelu", "GELU"),
    L("gelu_none", "GELU", approximate="none"),
    L("gelu_tanh", "GELU", approximate="tanh"),
    L("dropout", "Dropout"),
    L("dropout_p", "Dropout", p=0.2),
    L("identity", "Identity"),
    L("identity_args", "Identity", some_arg=3),
], input_scale=4.0))

# A chain without `from:` and without names: each layer reads the one before
# and its weights are named <op>_<index>.
CASES.append({
    "name": "chain_default_names",
    "inputs": {"x": ["N", 3, 10, 10]},
    "layers": [
        {"op": "Conv2d", "in_channels": 3, "out_channels": 8,
         "kernel_size": 3, "padding": 1},
        {"op": "BatchNorm2d", "num_features": 8},
        {"op": "ReLU6"},
        {"op": "MaxPool2d", "kernel_size": 2},
        {"op": "Dropout", "p": 0.3},
        {"op": "Conv2d", "in_channels": 8, "out_channels": 4,
         "kernel_size": 3},
        {"op": "Hardswish"},
        {"op": "Flatten"},
        {"op": "Linear", "in_features": 36, "out_features": 6},
        {"op": "Softmax", "dim": -1},
    ],
    "outputs": ["softmax_9"],
    "batch": 3,
})

# --- Add and Cat ----------------------------------------------------------------

CASES.append({
    "name": "add_cat",
    "inputs": {"a": ["N", 4, 5, 6], "b": [1, 4, 1, 1], "c": ["N", 4, 5, 6],
               "d": ["N", 2, 5, 6], "e": ["N", 4, 5, 3], "f": [1, 1, 5, 1]},
    "layers": [
        L("add2", "Add", ["a", "c"]),
        L("add_bcast", "Add", ["a", "b"]),
        L("add_bcast_rev", "Add", ["b", "a"]),
        L("add_bcast_hw", "Add", ["f", "a"]),
        L("add3", "Add", ["a", "c", "b"]),
        L("add_self", "Add", ["a", "a"]),
        L("cat1", "Cat", ["a", "d", "c"]),
        L("cat_m1", "Cat", ["a", "e", "c"], dim=-1),
        L("cat3", "Cat", ["a", "e"], dim=3),
        L("cat_one", "Cat", ["d"]),
        L("cat_bcast", "Cat", ["add_bcast", "d"], dim=1),
        L("cat0", "Cat", ["a", "c"], dim=0),
    ],
    "outputs": ["add2", "add_bcast", "add_bcast_rev", "add_bcast_hw", "add3",
                "add_self", "cat1", "cat_m1", "cat3", "cat_one", "cat_bcast",
                "cat0"],
    "batch": 3,
})

# Spec: layer names may contain dots, as torchvision module paths do.
CASES.append({
    "name": "dotted_names",
    "inputs": {"x": [1, 3, 6, 6]},
    "layers": [L("layer1.0.conv1", "Conv2d", "x", in_channels=3,
                 out_channels=4, kernel_size=3, padding=1),
               L("layer1.0.bn1", "BatchNorm2d", num_features=4,
                 src="layer1.0.conv1")],
    "outputs": ["layer1.0.bn1"],
})

# --- tuned conv schedule vs the reference schedule (odd shapes) -----------------

# Widths 13, 17, 31, 67 do not divide the vector or the 2-vector tile; output
# channels 1, 3, 5, 7 do not divide the 4-channel tile.
CASES.append({
    "name": "sched_odd_widths", "kind": "sched",
    "inputs": {"w13": [2, 8, 13, 13], "w17": [1, 5, 9, 17],
               "w31": [2, 3, 5, 31], "w67": [1, 4, 3, 67]},
    "layers": [
        conv("w13_c1", 8, 1, 3, "w13", padding=1),
        conv("w13_c3", 8, 3, 3, "w13"),
        conv("w17_c5", 5, 5, 3, "w17", padding=1),
        conv("w17_c7", 5, 7, [1, 3], "w17"),
        conv("w31_c7", 3, 7, 3, "w31", padding=1),
        conv("w31_c9", 3, 9, 1, "w31", bias=False),
        conv("w67_c16", 4, 16, 3, "w67", padding=1),
    ],
    "outputs": ["w13_c1", "w13_c3", "w17_c5", "w17_c7", "w31_c7", "w31_c9",
                "w67_c16"],
})

CASES.append({
    "name": "sched_strides_depthwise", "kind": "sched",
    "inputs": {"x": [2, 7, 13, 17], "y": [1, 6, 31, 31]},
    "layers": [
        conv("s2_c3", 7, 3, 3, "x", stride=2, padding=1),
        conv("s2_c5_w31", 6, 5, 3, "y", stride=2),
        conv("dil2_c5", 7, 5, 3, "x", dilation=2, padding=2),
        conv("dil2_s2_c7", 6, 7, 3, "y", dilation=2, stride=2),
        conv("dw7", 7, 7, 3, "x", groups=7, padding=1),
        conv("dw7_s2", 7, 7, 3, "x", groups=7, stride=2, padding=1),
        conv("g3_c9", 6, 9, 3, "y", groups=3, padding=1, bias=False),
        conv("circular_c1", 7, 1, 3, "x", padding=[1, 2],
             padding_mode="circular"),
    ],
    "outputs": ["s2_c3", "s2_c5_w31", "dil2_c5", "dil2_s2_c7", "dw7",
                "dw7_s2", "g3_c9", "circular_c1"],
})

CASES.append({
    "name": "sched_tiny_outputs", "kind": "sched",
    "inputs": {"x": [2, 6, 3, 3], "y": [1, 5, 5, 5], "z": [3, 4, 1, 1],
               "u": [6, 13, 13]},
    "layers": [
        conv("to_1x1", 6, 5, 3, "x"),                # 1x1 spatial output
        conv("s2_to_1x1", 5, 3, 5, "y", stride=2),
        conv("s3_to_2x2", 5, 7, 3, "y", stride=3, padding=1),
        conv("on_1x1", 4, 7, 1, "z"),
        conv("on_1x1_pad", 4, 3, 3, "z", padding=1),
        conv("unbatched_c3", 6, 3, 3, "u"),          # CHW, width 11
        conv("unbatched_dw", 6, 6, 3, "u", groups=6, stride=2),
    ],
    "outputs": ["to_1x1", "s2_to_1x1", "s3_to_2x2", "on_1x1",
                "on_1x1_pad", "unbatched_c3", "unbatched_dw"],
})

# --- Conv2d epilogue fusion (nn::fuseLayers) ---------------------------------

# Chains the JIT fuses into one kernel, and the cases it must not fuse: an
# intermediate read twice or a network output, BatchNorm with batch
# statistics, a broadcasting Add, an Add that two chains could end in (the
# first Conv2d takes it; the other's result is its residual operand). The
# reference schedule runs every layer on its own (--compare-reference);
# test/netc/fusion.test checks which layers fuse.
CASES.append({
    "name": "fusion", "kind": "sched",
    "inputs": {"x": ["N", 4, 9, 11], "y": [1, 8, 1, 1], "u": [6, 13, 13]},
    "layers": [
        conv("c1", 4, 8, 3, "x", padding=1, bias=False),
        L("b1", "BatchNorm2d", "c1", num_features=8),
        L("r1", "ReLU", "b1"),
        conv("c2", 8, 8, 3, "r1", padding=1, bias=False),
        L("b2", "BatchNorm2d", "c2", num_features=8),
        L("a2", "Add", ["b2", "r1"]),
        L("r2", "ReLU6", "a2"),
        conv("c3", 8, 8, 3, "r2", padding=1, bias=False),
        L("b3", "BatchNorm2d", "c3", num_features=8),
        conv("ds", 8, 8, 1, "r2", stride=1, bias=False),
        L("dsbn", "BatchNorm2d", "ds", num_features=8),
        L("a3", "Add", ["dsbn", "b3"]),
        L("r3", "SiLU", "a3"),
        conv("c4", 8, 8, 3, "r3", padding=1),
        L("r4", "LeakyReLU", "c4", negative_slope=0.2),
        conv("c5", 8, 8, 1, "r4", bias=False),
        L("b5", "BatchNorm2d", "c5", num_features=8,
          track_running_stats=False),
        L("r5", "ReLU", "b5"),
        conv("c6", 8, 8, 1, "r5"),
        L("a6", "Add", ["c6", "y"]),
        conv("c7", 8, 8, 3, "a6", stride=2, padding=1),
        L("r7", "ReLU", "c7"),
        conv("c8", 8, 8, 3, "r7", padding=2, dilation=2, groups=8),
        L("g8", "GELU", "c8"),
        conv("cu", 6, 5, 3, "u", padding=1),
        L("ru", "Hardswish", "cu"),
    ],
    "outputs": ["g8", "c7", "ru"],
    "batch": 3,
})

# The output-channel tiles (ConvSchedule.cpp): channel counts that are not a
# whole number of vectors (16 lanes on AVX-512, narrower vectors below 16
# channels) so the last channel tile is shifted inwards, widths that the
# pixel tile does not divide, maps narrower than the tile (rows tiled too),
# stride 2, dilation, 1x1 with the
# padded input inlined (stride 2 too), 1x1 spatial maps, and the padding
# modes read through the channel tile.
CASES.append({
    "name": "sched_channel_tiles", "kind": "sched",
    "inputs": {"a": [2, 24, 19, 13], "b": [1, 32, 9, 9], "t": [2, 16, 1, 1],
               "m": [1, 20, 5, 3]},
    "layers": [
        conv("c24_w13", 24, 24, 3, "a", padding=1),
        conv("c40_s2", 24, 40, 3, "a", stride=2, padding=1),
        conv("c20_dil2", 24, 20, 3, "a", dilation=2, padding=2),
        conv("c9_pw", 24, 9, 1, "a"),
        conv("c5_pw_s2", 24, 5, 1, "a", stride=2, bias=False),
        conv("c48_k2x5_s21", 24, 48, [2, 5], "a", stride=[2, 1],
             padding=[1, 2]),
        conv("c33_w9", 32, 33, 3, "b", padding=1),
        conv("c64_map3", 20, 64, 3, "m", padding=1),    # width 3: rows tiled
        conv("tiny_pw", 16, 48, 1, "t"),
        conv("pw_c128", 24, 128, 1, "a"),       # four channel vectors
        conv("tiny_k3", 16, 20, 3, "t", padding=1),
        conv("reflect_c20", 24, 20, 3, "a", padding=1,
             padding_mode="reflect"),
        conv("circular_c16", 24, 16, 3, "a", padding=[1, 2],
             padding_mode="circular"),
        conv("replicate_c17", 32, 17, 3, "b", padding=[2, 1],
             padding_mode="replicate"),
    ],
    "outputs": ["c24_w13", "c40_s2", "c20_dil2", "c9_pw", "c5_pw_s2",
                "c48_k2x5_s21", "c33_w9", "c64_map3",
                "tiny_pw", "pw_c128", "tiny_k3", "reflect_c20", "circular_c16",
                "replicate_c17"],
})

# Values passed between kernels in channel blocks of 16 (NCHW16c,
# ActivationLayout.h): a chain of one-group convolutions whose results are
# not model outputs, so each is stored in blocks and read from them. The
# padding modes, stride 2, dilation, an even 'same' kernel, a 1x1 and a
# fused residual Add read a blocked input; a 1x1 tile of four channel
# vectors writes blocks; 48 channels make three blocks
# (a two-block tile would be shifted); a pooling layer keeps its operand
# NCHW (it does not read blocks), so the next convolution reads NCHW and
# writes blocks. The reference runs every layer unfused and NCHW.
CASES.append({
    "name": "sched_blocked_layout", "kind": "sched",
    "inputs": {"x": ["N", 16, 13, 11]},
    "layers": [
        conv("c1", 16, 32, 3, "x", padding=1, bias=False),
        L("b1", "BatchNorm2d", "c1", num_features=32),
        L("r1", "ReLU", "b1"),
        conv("c2", 32, 32, 3, "r1", padding=1, padding_mode="reflect",
             bias=False),
        L("b2", "BatchNorm2d", "c2", num_features=32),
        L("a2", "Add", ["b2", "r1"]),
        L("r2", "ReLU", "a2"),
        conv("c3", 32, 48, 3, "r2", stride=2, padding=[1, 2],
             padding_mode="replicate"),
        conv("c4", 48, 48, 3, "c3", padding=2, dilation=2,
             padding_mode="circular"),
        L("p4", "AvgPool2d", "c4", kernel_size=2),
        conv("c5", 48, 64, 1, "c4", stride=2),
        conv("c6", 64, 64, 2, "c5", padding="same", bias=False),
        L("r6", "SiLU", "c6"),
        conv("c6b", 64, 128, 1, "r6"),          # four channel vectors
        conv("c7", 128, 16, 3, "c6b", padding=1),
    ],
    "outputs": ["c7", "p4"],
    "batch": 3,
})

# 1x1 convolutions with at least 512 input channels split their reduction
# into chunks (ConvSchedule.cpp, scheduleChunkedReduction): from an NCHW
# model input, from blocks, with a fused BatchNorm and a blocked residual,
# strided (a dense copy of the strided pixels), and a result that is a
# model output (NCHW: the whole reduction). The reference runs every layer
# unfused and NCHW.
CASES.append({
    "name": "sched_chunked_reduction", "kind": "sched",
    "inputs": {"x": ["N", 512, 7, 14]},
    "layers": [
        conv("c0", 512, 64, 1, "x"),
        conv("c1", 64, 512, 1, "c0", bias=False),
        L("b1", "BatchNorm2d", "c1", num_features=512),
        L("r1", "ReLU", "b1"),
        conv("c2", 512, 64, 1, "r1", bias=False),
        L("b2", "BatchNorm2d", "c2", num_features=64),
        L("a2", "Add", ["b2", "c0"]),
        L("r2", "ReLU", "a2"),
        conv("c3", 64, 1024, 1, "r2"),
        conv("c4", 1024, 64, 1, "c3", stride=2),
        conv("c5", 64, 16, 3, "c4", padding=1),
        conv("c6", 1024, 32, 1, "c3", bias=False),
    ],
    "outputs": ["c5", "c6"],
    "batch": 2,
})

# 3x3 convolutions with stride 2, or weights at least twice their input,
# split their reduction into chunks of 16 input channels and their work
# into bands of rows (ConvSchedule.cpp, planChunks): two bands of 7 rows
# (c1, replicate padding), one band in four blocks of output channels (c2,
# with a fused BatchNorm; c3, reflect padding and a blocked residual).
# The reference runs every layer unfused and NCHW.
CASES.append({
    "name": "sched_chunked_bands", "kind": "sched",
    "inputs": {"x": ["N", 32, 28, 28]},
    "layers": [
        conv("c1", 32, 64, 3, "x", stride=2, padding=1,
             padding_mode="replicate"),
        L("r1", "ReLU", "c1"),
        conv("c2", 64, 128, 3, "r1", stride=2, padding=1, bias=False),
        L("b2", "BatchNorm2d", "c2", num_features=128),
        L("r2", "ReLU", "b2"),
        conv("c3", 128, 128, 3, "r2", padding=1, padding_mode="reflect",
             bias=False),
        L("b3", "BatchNorm2d", "c3", num_features=128),
        L("a3", "Add", ["b3", "r2"]),
        L("r3", "ReLU", "a3"),
        conv("c4", 128, 32, 1, "r3"),
    ],
    "outputs": ["c4"],
    "batch": 2,
})

# Where a layer in channel blocks makes its padded input
# (ConvSchedule.cpp): a chunked 3x3 stride-2 layer whose input (128 x 56 x
# 56, 1.6 MiB an image) overflows half an L2 cache pads it per band of
# rows, with zeros and with replicated borders; a strided 1x1 layer whose
# channel blocks run inside its pixel tiles makes its dense input per row
# of tiles. Two images, so that each band indexes the right one.
CASES.append({
    "name": "sched_padded_at", "kind": "sched",
    "inputs": {"x": ["N", 16, 56, 56]},
    "layers": [
        conv("c1", 16, 128, 1, "x"),
        conv("s2", 128, 128, 3, "c1", stride=2, padding=1, bias=False),
        L("b2", "BatchNorm2d", "s2", num_features=128),
        L("r2", "ReLU", "b2"),
        conv("s3", 128, 128, 3, "c1", stride=2, padding=1,
             padding_mode="replicate"),
        L("a3", "Add", ["s3", "r2"]),
        conv("o3", 128, 16, 1, "a3"),
        conv("d2", 128, 256, 1, "c1", stride=2),
        conv("o2", 256, 16, 1, "d2"),
    ],
    "outputs": ["o3", "o2"],
    "batch": 2,
})

# Convolutions with one group and zero padding sum over the taps inside
# the input only (ConvLowering.cpp), each tile's border tests folded to
# constants (ConvSchedule.cpp, foldPaddingTests): one tile per row (7
# wide) and shifted tiles (9 wide); padding beyond the kernel's reach
# (border outputs with no tap inside: the bias alone); dilation with
# stride; `same` with an even kernel (asymmetric); 1x7 and 7x1 kernels; a
# padded 1x1 layer; a 3x3 stride-2 layer in blocks; a 5x5 stride-3 layer.
# p9 has 3 output channels: row tiles, which keep every tap. Chunked
# reductions with the predicate: sched_chunked_bands (c2) and
# sched_padded_at (s2).
CASES.append({
    "name": "sched_padding_taps", "kind": "sched",
    "inputs": {"x": ["N", 32, 7, 9]},
    "layers": [
        conv("p1", 32, 32, 3, "x", padding=1),
        conv("o1", 32, 16, 1, "p1"),
        conv("p2", 32, 32, 3, "x", padding=3),
        conv("p3", 32, 48, 3, "x", stride=2, padding=2, dilation=2,
             bias=False),
        conv("p4", 32, 32, 4, "x", padding="same"),
        conv("o4", 32, 16, 1, "p4"),
        conv("p5", 32, 16, [1, 7], "x", padding=[0, 3]),
        conv("p6", 32, 16, [7, 1], "x", padding=[3, 0]),
        conv("p7", 32, 8, 1, "x", padding=1),
        conv("p8", 32, 64, 3, "p1", stride=2, padding=1),
        conv("o8", 64, 16, 1, "p8"),
        conv("p9", 32, 3, 3, "x", padding=1),
        conv("p10", 32, 16, 5, "x", stride=3, padding=2),
    ],
    "outputs": ["o1", "p2", "p3", "o4", "p5", "p6", "p7", "o8", "p9", "p10"],
    "batch": 2,
})

# 1x1 convolutions on values in channel blocks whose register tiles do not
# divide the rows (13 columns; four channel vectors by 6 pixels on
# AVX-512) run on the map flattened into one row (ConvSchedule.cpp,
# prefersFlatMap): with a fused BatchNorm2d and ReLU, a residual Add read
# through the same view, and a GELU; a 3x3 layer and an NCHW result read
# the flat kernels' results on their own map, and so do 1x1 layers that
# keep their rows (stride 2; padding, read by a MaxPool2d in blocks).
# test/AOT/flat-maps.test runs the same model as a library.
CASES.append({
    "name": "sched_flat_map", "kind": "sched",
    "inputs": {"x": ["N", 32, 14, 13]},
    "layers": [
        conv("s", 32, 32, 3, "x", padding=1),
        conv("a", 32, 128, 1, "s", bias=False),
        L("bn_a", "BatchNorm2d", "a", num_features=128),
        L("relu_a", "ReLU", "bn_a"),
        conv("b", 128, 128, 1, "relu_a", bias=False),
        L("bn_b", "BatchNorm2d", "b", num_features=128),
        L("add", "Add", ["bn_b", "relu_a"]),
        L("relu_b", "ReLU", "add"),
        conv("c", 128, 256, 1, "relu_b"),
        L("gelu", "GELU", "c"),
        conv("o", 256, 16, 1, "gelu"),
        conv("o2", 128, 16, 3, "relu_b", padding=1),
        conv("p", 128, 32, 1, "relu_b", stride=2),
        conv("q", 128, 128, 1, "relu_b", padding=1),
        L("mp", "MaxPool2d", "q", kernel_size=3, stride=2, padding=1),
        conv("o3", 128, 16, 1, "mp"),
    ],
    "outputs": ["o", "o2", "p", "o3"],
    "batch": 2,
})

# MaxPool2d and AvgPool2d between one-group convolutions pass channel
# blocks through (nn::passesBlocks): padding, stride above and below the
# kernel, dilation, ceil_mode, count_include_pad=False, divisor_override,
# and a pooled value read again as a fused residual. A pooling layer whose
# result is a model output stays NCHW, and so does the convolution before
# it. c0 is a 7x7 stem in blocks (four channel vectors by 4 pixels, shifted
# tiles along the 17 columns). The reference runs every layer unfused and
# NCHW.
CASES.append({
    "name": "sched_blocked_pool", "kind": "sched",
    "inputs": {"x": ["N", 3, 38, 34]},
    "layers": [
        conv("c0", 3, 64, 7, "x", stride=2, padding=3),
        L("mp1", "MaxPool2d", "c0", kernel_size=3, stride=2, padding=1),
        conv("o1", 64, 16, 1, "mp1"),
        L("mp2", "MaxPool2d", "c0", kernel_size=2, stride=3, dilation=2,
          padding=1, ceil_mode=True),
        conv("o2", 64, 16, 1, "mp2"),
        L("ap1", "AvgPool2d", "c0", kernel_size=3, stride=2, padding=1,
          ceil_mode=True, count_include_pad=False),
        conv("o3", 64, 16, 1, "ap1"),
        L("ap2", "AvgPool2d", "c0", kernel_size=3, stride=2, padding=1,
          divisor_override=5),
        conv("o4", 64, 16, 1, "ap2"),
        L("mp5", "MaxPool2d", "c0", kernel_size=3, stride=1, padding=1),
        conv("c5", 64, 64, 3, "mp5", padding=1, bias=False),
        L("b5", "BatchNorm2d", "c5", num_features=64),
        L("a5", "Add", ["b5", "mp5"]),
        L("r5", "ReLU", "a5"),
        conv("o5", 64, 16, 1, "r5"),
        conv("c9", 3, 32, 3, "x", stride=2),
        L("mp9", "MaxPool2d", "c9", kernel_size=2),
    ],
    "outputs": ["o1", "o2", "o3", "o4", "o5", "mp9"],
    "batch": 2,
})

# Depthwise convolutions between one-group ones pass channel blocks through
# (nn::passesBlocks): stride 1 and 2, a 5x5 kernel over three blocks,
# dilation with circular padding, reflect padding, no padding, a fused
# BatchNorm and ReLU6; a depthwise layer reading the model input (NCHW)
# stays NCHW. The reference runs every layer unfused and NCHW.
CASES.append({
    "name": "sched_blocked_depthwise", "kind": "sched",
    "inputs": {"x": ["N", 16, 13, 11]},
    "layers": [
        conv("dw0", 16, 16, 3, "x", padding=1, groups=16),
        conv("c1", 16, 32, 3, "dw0", padding=1),
        conv("dw1", 32, 32, 3, "c1", padding=1, groups=32, bias=False),
        L("dw1bn", "BatchNorm2d", "dw1", num_features=32),
        L("dw1r", "ReLU6", "dw1bn"),
        conv("c2", 32, 32, 1, "dw1r"),
        conv("dw2", 32, 32, 3, "c2", stride=2, padding=1, groups=32),
        conv("c3", 32, 48, 1, "dw2"),
        conv("dw3", 48, 48, 5, "c3", stride=2, padding=2, groups=48),
        conv("c4", 48, 48, 1, "dw3"),
        conv("dw4", 48, 48, 3, "c4", padding=2, dilation=2, groups=48,
             padding_mode="circular"),
        conv("c5", 48, 32, 1, "dw4"),
        conv("dw5", 32, 32, 3, "c5", padding=1, groups=32,
             padding_mode="reflect"),
        conv("dw6", 32, 32, 2, "dw5", groups=32),
        conv("c6", 32, 16, 1, "dw6"),
    ],
    "outputs": ["c6"],
    "batch": 3,
})

# Depthwise layers in blocks whose padded plane would not stay in L1 keep
# only a band's rows of it in a circular buffer (foldedPaddedRows): rows
# that no tile divides (the last band shifted inwards), stride 2 on odd
# sizes, a 5x5 and a 7x7 kernel, stride 3, a stride and dilation of
# (2, 1), dilation and reflect padding; a layer without padding and a
# strided 1x1 layer (whose 23x19 plane stays whole). Strides above the
# kernel's height: Target/Halide/conv-schedule-depthwise-fold.yaml.
CASES.append({
    "name": "sched_blocked_depthwise_folded", "kind": "sched",
    "inputs": {"x": ["N", 16, 45, 37]},
    "layers": [
        conv("c0", 16, 32, 1, "x"),
        conv("dw0", 32, 32, 3, "c0", padding=1, groups=32),
        conv("dw1", 32, 32, 3, "dw0", stride=2, padding=1, groups=32),
        conv("c1", 32, 32, 1, "dw1"),
        conv("dw2", 32, 32, 5, "c0", stride=2, padding=2, groups=32,
             bias=False),
        conv("c2", 32, 16, 1, "dw2"),
        conv("dw3", 32, 32, 3, "c0", padding=2, dilation=2, groups=32,
             padding_mode="reflect"),
        conv("dw4", 32, 32, 3, "dw3", groups=32),
        conv("c4", 32, 16, 1, "dw4"),
        conv("dw5", 32, 32, 7, "c0", padding=3, groups=32),
        conv("dw6", 32, 32, 3, "dw5", stride=3, padding=1, groups=32),
        conv("c6", 32, 16, 1, "dw6"),
        conv("dw7", 32, 32, 3, "c0", stride=[2, 1], padding=[2, 1],
             dilation=[2, 1], groups=32),
        conv("dw8", 32, 32, 1, "dw7", stride=2, groups=32),
        conv("c8", 32, 16, 1, "dw8"),
    ],
    "outputs": ["c1", "c2", "c4", "c6", "c8"],
    "batch": 2,
})

# The row tiles: depthwise (with a channel multiplier, stride 2, a 5x5
# kernel, a row of 67 = four vectors and a tail, a row narrower than a
# vector), grouped convolutions and fewer than 4 output channels.
CASES.append({
    "name": "sched_row_tiles", "kind": "sched",
    "inputs": {"a": [2, 24, 19, 13], "b": [1, 32, 9, 9], "w": [1, 4, 3, 67],
               "s": [1, 8, 2, 3]},
    "layers": [
        conv("dw_mult2", 32, 64, 3, "b", groups=32, padding=1),
        conv("dw_s2_w13", 24, 24, 3, "a", groups=24, stride=2, padding=1),
        conv("dw_k5", 24, 24, 5, "a", groups=24, padding=2, bias=False),
        conv("dw_dil2", 24, 24, 3, "a", groups=24, dilation=2, padding=2),
        conv("dw_w67", 4, 4, 3, "w", groups=4, padding=1),
        conv("dw_w3", 8, 8, 3, "s", groups=8, padding=1),
        conv("dw_nopad", 24, 24, 3, "a", groups=24),
        conv("g2_c64", 32, 64, 3, "b", groups=2, padding=1),
        conv("g4_c24", 32, 24, 3, "b", groups=4, padding=1),
        conv("g8_c8_pw", 32, 8, 1, "b", groups=8),
        conv("c3_w67", 4, 3, 3, "w", padding=1),        # 3 channels: rows
    ],
    "outputs": ["dw_mult2", "dw_s2_w13", "dw_k5", "dw_dil2", "dw_w67",
                "dw_w3", "dw_nopad", "g2_c64", "g4_c24", "g8_c8_pw", "c3_w67"],
})

# The depthwise bands and pointwise rows (ConvSchedule.cpp): zero padding
# built as zeros plus a dense copy of each row, padded per band of rows with
# a sliding window; register tiles of several rows (heights the tile does
# not divide: shifted inwards); several small planes per task (channel
# counts the task does not divide: guarded); stride 2 on odd widths,
# dilation, a 5x5 kernel, padding wider than the kernel's reach, uneven
# padding, a depthwise multiplier, reflect padding through the bands; and
# MobileNetV2's depthwise and pointwise layers with their BatchNorm2d,
# ReLU6 and residual Add fused. The 1x1 layers with few input channels and
# rows of at least 28 take the row tiles (6 output channels by 2 rows by 2
# vectors), with channel counts that 6 does not divide.
CASES.append({
    "name": "sched_depthwise_bands", "kind": "sched",
    "inputs": {"a": [2, 24, 13, 37], "b": [1, 33, 5, 3], "c": [1, 40, 5, 5],
               "w": [2, 20, 11, 29], "v": [1, 8, 7, 64]},
    "layers": [
        conv("dw_w37", 24, 24, 3, "a", groups=24, padding=1),
        conv("dw_s2_w37", 24, 24, 3, "a", groups=24, stride=2, padding=1),
        conv("dw_k5_s2", 24, 24, 5, "a", groups=24, stride=2, padding=2,
             bias=False),
        conv("dw_dil3", 24, 24, 3, "a", groups=24, dilation=3, padding=3),
        conv("dw_pad2", 24, 24, 3, "a", groups=24, padding=2),
        conv("dw_uneven", 24, 24, 3, "a", groups=24, padding=[2, 0]),
        conv("dw_mult3", 24, 72, 3, "a", groups=24, padding=1),
        conv("dw_reflect", 24, 24, 3, "a", groups=24, padding=1,
             padding_mode="reflect"),
        conv("dw_tiny33", 33, 33, 3, "b", groups=33, padding=1),
        conv("dw_tiny40_s2", 40, 40, 3, "c", groups=40, stride=2,
             padding=1),
        conv("dw_w64", 8, 8, 3, "v", groups=8, padding=1),
        conv("pw_w29", 20, 32, 1, "w", bias=False),
        conv("pw_c3", 20, 3, 1, "w"),
        conv("pw_w64_c13", 8, 13, 1, "v"),
        # MobileNetV2's inverted residual, fused chains.
        conv("mb_expand", 20, 40, 1, "w", bias=False),
        L("mb_bn1", "BatchNorm2d", "mb_expand", num_features=40),
        L("mb_r1", "ReLU6", "mb_bn1"),
        conv("mb_dw", 40, 40, 3, "mb_r1", groups=40, padding=1, bias=False),
        L("mb_bn2", "BatchNorm2d", "mb_dw", num_features=40),
        L("mb_r2", "ReLU6", "mb_bn2"),
        conv("mb_project", 40, 20, 1, "mb_r2", bias=False),
        L("mb_bn3", "BatchNorm2d", "mb_project", num_features=20),
        L("mb_add", "Add", ["mb_bn3", "w"]),
        conv("mb_dw_s2", 40, 40, 3, "mb_r1", groups=40, stride=2,
             padding=1, bias=False),
        L("mb_bn4", "BatchNorm2d", "mb_dw_s2", num_features=40),
        L("mb_r4", "ReLU6", "mb_bn4"),
    ],
    "outputs": ["dw_w37", "dw_s2_w37", "dw_k5_s2", "dw_dil3", "dw_pad2",
                "dw_uneven", "dw_mult3", "dw_reflect", "dw_tiny33",
                "dw_tiny40_s2", "dw_w64", "pw_w29", "pw_c3", "pw_w64_c13",
                "mb_add", "mb_r4"],
})

# --- whole networks (reduced, built from torchvision's own blocks) ------------


class Wrapped(nn.Module):
    """A torch network fed from the netc input `image`."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def named_state(self):
        return self.model.state_dict()  # module paths = netc layer names

    def forward(self, feeds):
        return self.model(feeds["image"])


def example_blocks(file):
    """The `blocks:` section of an examples/ model."""
    with open(os.path.join(EXAMPLES, file)) as f:
        text = f.read()
    return text[text.index("\nblocks:\n") + 1:text.index("\nlayers:\n") + 1]


class MiniResNet(nn.Module):
    """torchvision's ResNet forward with one BasicBlock in each of two
    stages (the second strided, with a projection shortcut)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, stride=2, downsample=(
            nn.Sequential(nn.Conv2d(16, 32, 1, stride=2, bias=False),
                          nn.BatchNorm2d(32)))))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet():
    # examples/resnet18.yaml's blocks; 32x32 -> 16 -> 8 -> 4.
    text = "name: mini_resnet\ninputs:\n  image: [N, 3, 32, 32]\n\n"
    text += example_blocks("resnet18.yaml") + """\
layers:
  - {name: conv1, op: Conv2d, in_channels: 3, out_channels: 16,
     kernel_size: 7, stride: 2, padding: 3, bias: false}
  - {name: bn1, op: BatchNorm2d, num_features: 16}
  - {name: relu, op: ReLU, inplace: true}
  - {name: maxpool, op: MaxPool2d, kernel_size: 3, stride: 2, padding: 1}
  - {name: layer1, op: BasicBlock, planes: 16, repeat: 1}
  - {name: layer2.0, op: DownBasicBlock, inplanes: 16, planes: 32, stride: 2}
  - {name: avgpool, op: AdaptiveAvgPool2d, output_size: [1, 1]}
  - {name: flatten, op: Flatten}
  - {name: fc, op: Linear, in_features: 32, out_features: 10}
outputs: [fc]
"""
    return text, Wrapped(MiniResNet())


def mobilenet():
    # examples/mobilenet_v2.yaml's blocks; torchvision's MobileNetV2 with
    # the stem, the t=1 block, a strided block and a residual block.
    text = "name: mini_mobilenet_v2\ninputs:\n  image: [N, 3, 32, 32]\n\n"
    text += example_blocks("mobilenet_v2.yaml") + """\
layers:
  - {name: features.0, op: ConvBNReLU6, cin: 3, cout: 16, k: 3, stride: 2,
     groups: 1}
  - {name: features.1.conv.0, op: ConvBNReLU6, cin: 16, cout: 16, k: 3,
     stride: 1, groups: 16}
  - {name: features.1.conv.1, op: Conv2d, in_channels: 16, out_channels: 8,
     kernel_size: 1, bias: false}
  - {name: features.1.conv.2, op: BatchNorm2d, num_features: 8}
  - {name: features.2, op: InvertedResidual, cin: 8, cout: 12, stride: 2, t: 6}
  - {name: features.3, op: ResidualInvertedResidual, c: 12, t: 6}
  - {name: avgpool, op: AdaptiveAvgPool2d, output_size: [1, 1]}
  - {name: flatten, op: Flatten}
  - {name: classifier.0, op: Dropout, p: 0.2}
  - {name: classifier.1, op: Linear, in_features: 12, out_features: 10}
outputs: [classifier.1]
"""
    model = torchvision.models.MobileNetV2(num_classes=10)
    model.features = nn.Sequential(
        Conv2dNormActivation(3, 16, stride=2, activation_layer=nn.ReLU6),
        InvertedResidual(16, 8, 1, 1), InvertedResidual(8, 12, 2, 6),
        InvertedResidual(12, 12, 1, 6))
    model.classifier[1] = nn.Linear(12, 10)
    return text, Wrapped(model)


SQUEEZENET_YAML = """\
# torchvision's SqueezeNet 1.1 with two Fire modules, at 34x34: both
# ceil_mode max pools end with a partial window (16 -> 8, 8 -> 4).
name: mini_squeezenet
inputs:
  image: [N, 3, 34, 34]
blocks:
  Fire:
    params: [cin, s, e1, e3]
    layers:
      - {name: squeeze, op: Conv2d, in_channels: $cin, out_channels: $s,
         kernel_size: 1}
      - {name: squeeze_activation, op: ReLU, inplace: true}
      - {name: expand1x1, op: Conv2d, in_channels: $s, out_channels: $e1,
         kernel_size: 1}
      - {name: expand1x1_activation, op: ReLU, inplace: true}
      - {name: expand3x3, op: Conv2d, from: squeeze_activation,
         in_channels: $s, out_channels: $e3, kernel_size: 3, padding: 1}
      - {name: expand3x3_activation, op: ReLU, inplace: true}
      - {name: cat, op: Cat, dim: 1,
         from: [expand1x1_activation, expand3x3_activation]}
layers:
  - {name: features.0, op: Conv2d, in_channels: 3, out_channels: 32,
     kernel_size: 3, stride: 2}
  - {name: features.1, op: ReLU, inplace: true}
  - {name: features.2, op: MaxPool2d, kernel_size: 3, stride: 2,
     ceil_mode: true}
  - {name: features.3, op: Fire, cin: 32, s: 8, e1: 16, e3: 16}
  - {name: features.4, op: Fire, cin: 32, s: 8, e1: 16, e3: 24}
  - {name: features.5, op: MaxPool2d, kernel_size: 3, stride: 2,
     ceil_mode: true}
  - {name: classifier.0, op: Dropout, p: 0.5}
  - {name: classifier.1, op: Conv2d, in_channels: 40, out_channels: 10,
     kernel_size: 1}
  - {name: classifier.2, op: ReLU, inplace: true}
  - {name: classifier.3, op: AdaptiveAvgPool2d, output_size: [1, 1]}
  - {name: flatten, op: Flatten}
outputs: [flatten]
"""


def squeezenet():
    model = torchvision.models.squeezenet1_1(num_classes=10)
    model.features = nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, ceil_mode=True), Fire(32, 8, 16, 16),
        Fire(32, 8, 16, 24), nn.MaxPool2d(3, 2, ceil_mode=True))
    model.classifier[1] = nn.Conv2d(40, 10, 1)
    return SQUEEZENET_YAML, Wrapped(model)


CASES += [
    {"name": "net_resnet", "network": resnet,
     "inputs": {"image": ["N", 3, 32, 32]}, "outputs": ["fc"], "batch": 3},
    {"name": "net_mobilenet_v2", "network": mobilenet,
     "inputs": {"image": ["N", 3, 32, 32]}, "outputs": ["classifier.1"]},
    {"name": "net_squeezenet", "network": squeezenet,
     "inputs": {"image": ["N", 3, 34, 34]}, "outputs": ["flatten"]},
]
