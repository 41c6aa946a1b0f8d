//===- NNOps.td - nn dialect ops ---------------------------*- tablegen -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//
//
// One op per torch.nn module, grouped by family (Conv, Norm, Pool, Linear,
// Shape, Elementwise). Every op carries the layer's `name` (its state_dict
// prefix) and infers its result type through ShapeUtils, so the verifier
// checks exactly what the front end checked.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_IR_NNOPS_TD
#define NETC_DIALECT_NN_IR_NNOPS_TD

include "netc/Dialect/NN/IR/NNBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class NN_Op<string mnemonic, list<Trait> traits = []>
    : Op<NN_Dialect, mnemonic, !listconcat(traits, [NoSideEffect,
          DeclareOpInterfaceMethods<InferTypeOpInterface>])>;

/// An op with one input tensor.
class NN_UnaryOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, traits> {
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

/// An activation: one input, same shape out, only a name.
class NN_ActivationOp<string mnemonic, string module>
    : NN_UnaryOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "torch.nn." # module;
  let description = "Applies `torch.nn." # module # "` elementwise.";
  let arguments = (ins NN_Tensor:$input, StrAttr:$name);
}

def NN_PairAttr : Confined<I64ArrayAttr, [ArrayCount<2>]>;
def NN_Padding4Attr : Confined<I64ArrayAttr, [ArrayCount<4>]>;

//===----------------------------------------------------------------------===//
// Conv family
//===----------------------------------------------------------------------===//

def NN_Conv2dOp : NN_UnaryOp<"conv2d"> {
  let summary = "torch.nn.Conv2d";
  let description = [{
    A 2-D convolution. `padding` is [top, bottom, left, right] after
    resolving `same` (smaller half first) and `valid`; `padding_mode` is
    `zeros`, `reflect`, `replicate` or `circular`.

    ```mlir
    %1 = nn.conv2d %0 {name = "conv1", in_channels = 3, out_channels = 16,
           kernel_size = [3, 3], stride = [1, 1], padding = [1, 1, 1, 1],
           dilation = [1, 1], groups = 1, bias = true,
           padding_mode = "zeros"}
         : tensor<?x3x32x32xf32> -> tensor<?x16x32x32xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, I64Attr:$in_channels,
                   I64Attr:$out_channels, NN_PairAttr:$kernel_size,
                   NN_PairAttr:$stride, NN_Padding4Attr:$padding,
                   NN_PairAttr:$dilation, I64Attr:$groups, BoolAttr:$bias,
                   StrAttr:$padding_mode);
}

//===----------------------------------------------------------------------===//
// Norm family
//===----------------------------------------------------------------------===//

def NN_BatchNorm2dOp : NN_UnaryOp<"batch_norm2d"> {
  let summary = "torch.nn.BatchNorm2d";
  let description = [{
    Batch normalisation in inference: running statistics when
    `track_running_stats`, batch statistics otherwise (as PyTorch's eval
    mode does).

    ```mlir
    %2 = nn.batch_norm2d %1 {name = "bn1", num_features = 16, eps = 1.0e-05,
           momentum = 1.0e-01, affine = true, track_running_stats = true}
         : tensor<?x16x32x32xf32> -> tensor<?x16x32x32xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, I64Attr:$num_features,
                   F64Attr:$eps, F64Attr:$momentum, BoolAttr:$affine,
                   BoolAttr:$track_running_stats);
}

def NN_SoftmaxOp : NN_UnaryOp<"softmax"> {
  let summary = "torch.nn.Softmax";
  let description = [{
    Softmax along `dim` (already resolved when the model left it implicit).

    ```mlir
    %3 = nn.softmax %2 {name = "prob", dim = 1} : tensor<?x10xf32> -> tensor<?x10xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, I64Attr:$dim);
}

//===----------------------------------------------------------------------===//
// Pool family
//===----------------------------------------------------------------------===//

def NN_MaxPool2dOp : NN_UnaryOp<"max_pool2d"> {
  let summary = "torch.nn.MaxPool2d";
  let description = [{
    Max pooling; `padding` is (height, width) on both sides.

    ```mlir
    %1 = nn.max_pool2d %0 {name = "pool", kernel_size = [2, 2], stride = [2, 2],
           padding = [0, 0], dilation = [1, 1], ceil_mode = false}
         : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, NN_PairAttr:$kernel_size,
                   NN_PairAttr:$stride, NN_PairAttr:$padding,
                   NN_PairAttr:$dilation, BoolAttr:$ceil_mode);
}

def NN_AvgPool2dOp : NN_UnaryOp<"avg_pool2d"> {
  let summary = "torch.nn.AvgPool2d";
  let description = [{
    Average pooling.

    ```mlir
    %1 = nn.avg_pool2d %0 {name = "pool", kernel_size = [2, 2], stride = [2, 2],
           padding = [0, 0], ceil_mode = false, count_include_pad = true}
         : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, NN_PairAttr:$kernel_size,
                   NN_PairAttr:$stride, NN_PairAttr:$padding,
                   BoolAttr:$ceil_mode, BoolAttr:$count_include_pad,
                   OptionalAttr<I64Attr>:$divisor_override);
}

def NN_AdaptiveAvgPool2dOp : NN_UnaryOp<"adaptive_avg_pool2d"> {
  let summary = "torch.nn.AdaptiveAvgPool2d";
  let description = [{
    Adaptive average pooling; an `output_size` item of -1 keeps that input
    size (PyTorch's None).

    ```mlir
    %1 = nn.adaptive_avg_pool2d %0 {name = "gap", output_size = [1, 1]}
         : tensor<?x512x7x7xf32> -> tensor<?x512x1x1xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, NN_PairAttr:$output_size);
}

//===----------------------------------------------------------------------===//
// Linear family
//===----------------------------------------------------------------------===//

def NN_LinearOp : NN_UnaryOp<"linear"> {
  let summary = "torch.nn.Linear";
  let description = [{
    A fully connected layer on the last dimension.

    ```mlir
    %1 = nn.linear %0 {name = "fc", in_features = 512, out_features = 10,
           bias = true} : tensor<?x512xf32> -> tensor<?x10xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, I64Attr:$in_features,
                   I64Attr:$out_features, BoolAttr:$bias);
}

//===----------------------------------------------------------------------===//
// Shape family
//===----------------------------------------------------------------------===//

def NN_FlattenOp : NN_UnaryOp<"flatten"> {
  let summary = "torch.nn.Flatten";
  let description = [{
    Flattens dimensions `start_dim` to `end_dim` into one.

    ```mlir
    %1 = nn.flatten %0 {name = "flat", start_dim = 1, end_dim = -1}
         : tensor<?x64x4x4xf32> -> tensor<?x1024xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, I64Attr:$start_dim,
                   I64Attr:$end_dim);
}

def NN_CatOp : NN_Op<"cat"> {
  let summary = "torch.cat";
  let description = [{
    Concatenates its inputs along `dim`.

    ```mlir
    %2 = nn.cat %0, %1 {name = "cat", dim = 1}
         : tensor<1x8x4x4xf32>, tensor<1x4x4x4xf32> -> tensor<1x12x4x4xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_Tensor>:$inputs, StrAttr:$name, I64Attr:$dim);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($output)";
}

//===----------------------------------------------------------------------===//
// Elementwise family
//===----------------------------------------------------------------------===//

def NN_AddOp : NN_Op<"add"> {
  let summary = "elementwise sum with broadcasting (a residual connection)";
  let description = [{
    Sums two or more tensors whose shapes broadcast as in PyTorch.

    ```mlir
    %2 = nn.add %0, %1 {name = "add"}
         : tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_Tensor>:$inputs, StrAttr:$name);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($output)";
}

def NN_ReLUOp : NN_ActivationOp<"relu", "ReLU">;
def NN_ReLU6Op : NN_ActivationOp<"relu6", "ReLU6">;
def NN_SiLUOp : NN_ActivationOp<"silu", "SiLU">;
def NN_SigmoidOp : NN_ActivationOp<"sigmoid", "Sigmoid">;
def NN_TanhOp : NN_ActivationOp<"tanh", "Tanh">;
def NN_HardswishOp : NN_ActivationOp<"hardswish", "Hardswish">;
def NN_IdentityOp : NN_ActivationOp<"identity", "Identity">;

def NN_GELUOp : NN_UnaryOp<"gelu", [SameOperandsAndResultType]> {
  let summary = "torch.nn.GELU";
  let description = [{
    GELU, exact (`none`) or with the `tanh` approximation.

    ```mlir
    %1 = nn.gelu %0 {name = "act", approximate = "none"} : tensor<2x8xf32> -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, StrAttr:$approximate);
}

def NN_LeakyReLUOp : NN_UnaryOp<"leaky_relu", [SameOperandsAndResultType]> {
  let summary = "torch.nn.LeakyReLU";
  let description = [{
    ```mlir
    %1 = nn.leaky_relu %0 {name = "act", negative_slope = 1.0e-02} : tensor<2x8xf32> -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, F64Attr:$negative_slope);
}

def NN_DropoutOp : NN_UnaryOp<"dropout", [SameOperandsAndResultType]> {
  let summary = "torch.nn.Dropout (the identity in inference)";
  let description = [{
    ```mlir
    %1 = nn.dropout %0 {name = "drop", p = 5.0e-01} : tensor<2x8xf32> -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$name, F64Attr:$p);
}

#endif // NETC_DIALECT_NN_IR_NNOPS_TD
