// RUN: netc-opt %s -split-input-file -verify-diagnostics

// The verifier re-checks channels with the front end's rule.
func @conv_channels(%x: tensor<1x1x8x8xf32>) -> tensor<1x16x8x8xf32> {
  // expected-error@+1 {{'nn.conv2d' op expects in_channels=3, but its input has 1 channel}}
  %0 = nn.conv2d %x {bias = true, dilation = [1, 1], groups = 1 : i64, in_channels = 3 : i64, kernel_size = [3, 3], name = "conv", out_channels = 16 : i64, padding = [1, 1, 1, 1], padding_mode = "zeros", stride = [1, 1]} : tensor<1x1x8x8xf32> -> tensor<1x16x8x8xf32>
  return %0 : tensor<1x16x8x8xf32>
}

// -----

// A result type that disagrees with inference is rejected.
func @linear_result(%x: tensor<1x16xf32>) -> tensor<1x12xf32> {
  // expected-error@+1 {{'nn.linear' op inferred type(s) 'tensor<1x10xf32>' are incompatible with return type(s) of operation 'tensor<1x12xf32>'}}
  %0 = nn.linear %x {bias = true, in_features = 16 : i64, name = "fc", out_features = 10 : i64} : tensor<1x16xf32> -> tensor<1x12xf32>
  return %0 : tensor<1x12xf32>
}

// -----

// Attributes are required.
func @linear_missing(%x: tensor<1x16xf32>) -> tensor<1x10xf32> {
  // expected-error@+1 {{'nn.linear' op requires attribute 'in_features'}}
  %0 = nn.linear %x {bias = true, name = "fc", out_features = 10 : i64} : tensor<1x16xf32> -> tensor<1x10xf32>
  return %0 : tensor<1x10xf32>
}

// -----

// A kernel larger than the padded input.
func @conv_kernel(%x: tensor<1x3x2x2xf32>) -> tensor<1x4x1x1xf32> {
  // expected-error@+1 {{'nn.conv2d' op kernel size 5x5 (dilated) is larger than the padded input 2x2}}
  %0 = nn.conv2d %x {bias = true, dilation = [1, 1], groups = 1 : i64, in_channels = 3 : i64, kernel_size = [5, 5], name = "conv", out_channels = 4 : i64, padding = [0, 0, 0, 0], padding_mode = "zeros", stride = [1, 1]} : tensor<1x3x2x2xf32> -> tensor<1x4x1x1xf32>
  return %0 : tensor<1x4x1x1xf32>
}

// -----

// Pair attributes have two items.
func @pool_pair(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error@+1 {{'nn.max_pool2d' op attribute 'kernel_size' failed to satisfy constraint}}
  %0 = nn.max_pool2d %x {ceil_mode = false, dilation = [1, 1], kernel_size = [2, 2, 2], name = "mp", padding = [0, 0], stride = [2, 2]} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

// Add needs two inputs that broadcast.
func @add_shapes(%a: tensor<1x8x4x4xf32>, %b: tensor<1x4x4x4xf32>) -> tensor<1x8x4x4xf32> {
  // expected-error@+1 {{'nn.add' op cannot add [1, 8, 4, 4] and [1, 4, 4, 4]: they differ at dimension 1, where neither size is 1}}
  %0 = nn.add %a, %b {name = "add"} : tensor<1x8x4x4xf32>, tensor<1x4x4x4xf32> -> tensor<1x8x4x4xf32>
  return %0 : tensor<1x8x4x4xf32>
}

// -----

func @add_one(%a: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  // expected-error@+1 {{'nn.add' op expects at least 2 inputs, but got 1}}
  %0 = nn.add %a {name = "add"} : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
  return %0 : tensor<1x8x4x4xf32>
}

// -----

func @bn_rank(%x: tensor<3x8x8xf32>) -> tensor<3x8x8xf32> {
  // expected-error@+1 {{'nn.batch_norm2d' op expects a 4D (batched) input, but got a 3D input [3, 8, 8]}}
  %0 = nn.batch_norm2d %x {affine = true, eps = 1.0e-05 : f64, momentum = 1.0e-01 : f64, name = "bn", num_features = 3 : i64, track_running_stats = true} : tensor<3x8x8xf32> -> tensor<3x8x8xf32>
  return %0 : tensor<3x8x8xf32>
}

// -----

func @padding_mode(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x8x8xf32> {
  // expected-error@+1 {{'nn.conv2d' op unknown padding_mode 'mirror'}}
  %0 = nn.conv2d %x {bias = true, dilation = [1, 1], groups = 1 : i64, in_channels = 3 : i64, kernel_size = [3, 3], name = "conv", out_channels = 4 : i64, padding = [1, 1, 1, 1], padding_mode = "mirror", stride = [1, 1]} : tensor<1x3x8x8xf32> -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

// Pairs in messages are written as in YAML, [1, 2], like the front end's.
func @pool_padding(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x9x5xf32> {
  // expected-error@+1 {{'nn.max_pool2d' op padding=[1, 2] is more than half of kernel_size=[4, 2]}}
  %0 = nn.max_pool2d %x {ceil_mode = false, dilation = [1, 1], kernel_size = [4, 2], name = "mp", padding = [1, 2], stride = [1, 1]} : tensor<1x3x8x8xf32> -> tensor<1x3x9x5xf32>
  return %0 : tensor<1x3x9x5xf32>
}
