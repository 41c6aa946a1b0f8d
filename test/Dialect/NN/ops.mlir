// RUN: netc-opt %s | netc-opt | FileCheck %s

// Every op of the nn dialect parses, verifies and prints back.

func @allops(%arg0: tensor<?x4x8x8xf32>) -> tensor<?x10xf32> {
  %0 = nn.conv2d %arg0 {bias = false, dilation = [1, 1], groups = 1 : i64, in_channels = 4 : i64, kernel_size = [3, 3], name = "conv", out_channels = 8 : i64, padding = [1, 1, 1, 1], padding_mode = "zeros", stride = [1, 1]} : tensor<?x4x8x8xf32> -> tensor<?x8x8x8xf32>
  %1 = nn.batch_norm2d %0 {affine = true, eps = 1.000000e-05 : f64, momentum = 1.000000e-01 : f64, name = "bn", num_features = 8 : i64, track_running_stats = true} : tensor<?x8x8x8xf32> -> tensor<?x8x8x8xf32>
  %2 = nn.relu %1 {name = "relu"} : tensor<?x8x8x8xf32> -> tensor<?x8x8x8xf32>
  %3 = nn.max_pool2d %2 {ceil_mode = false, dilation = [1, 1], kernel_size = [2, 2], name = "mp", padding = [0, 0], stride = [2, 2]} : tensor<?x8x8x8xf32> -> tensor<?x8x4x4xf32>
  %4 = nn.avg_pool2d %3 {ceil_mode = false, count_include_pad = true, divisor_override = 3 : i64, kernel_size = [2, 2], name = "ap", padding = [0, 0], stride = [2, 2]} : tensor<?x8x4x4xf32> -> tensor<?x8x2x2xf32>
  %5 = nn.adaptive_avg_pool2d %4 {name = "gap", output_size = [1, -1]} : tensor<?x8x2x2xf32> -> tensor<?x8x1x2xf32>
  %6 = nn.add %5, %4 {name = "add"} : tensor<?x8x1x2xf32>, tensor<?x8x2x2xf32> -> tensor<?x8x2x2xf32>
  %7 = nn.cat %6, %4 {dim = 1 : i64, name = "cat"} : tensor<?x8x2x2xf32>, tensor<?x8x2x2xf32> -> tensor<?x16x2x2xf32>
  %8 = nn.flatten %7 {end_dim = -1 : i64, name = "flat", start_dim = 1 : i64} : tensor<?x16x2x2xf32> -> tensor<?x64xf32>
  %9 = nn.linear %8 {bias = true, in_features = 64 : i64, name = "fc", out_features = 10 : i64} : tensor<?x64xf32> -> tensor<?x10xf32>
  %10 = nn.gelu %9 {approximate = "tanh", name = "gelu"} : tensor<?x10xf32> -> tensor<?x10xf32>
  %11 = nn.leaky_relu %10 {name = "lrelu", negative_slope = 2.000000e-01 : f64} : tensor<?x10xf32> -> tensor<?x10xf32>
  %12 = nn.dropout %11 {name = "drop", p = 1.000000e-01 : f64} : tensor<?x10xf32> -> tensor<?x10xf32>
  %13 = nn.relu6 %12 {name = "r6"} : tensor<?x10xf32> -> tensor<?x10xf32>
  %14 = nn.silu %13 {name = "silu"} : tensor<?x10xf32> -> tensor<?x10xf32>
  %15 = nn.sigmoid %14 {name = "sig"} : tensor<?x10xf32> -> tensor<?x10xf32>
  %16 = nn.tanh %15 {name = "tanh"} : tensor<?x10xf32> -> tensor<?x10xf32>
  %17 = nn.hardswish %16 {name = "hs"} : tensor<?x10xf32> -> tensor<?x10xf32>
  %18 = nn.identity %17 {name = "id"} : tensor<?x10xf32> -> tensor<?x10xf32>
  %19 = nn.softmax %18 {dim = 1 : i64, name = "sm"} : tensor<?x10xf32> -> tensor<?x10xf32>
  return %19 : tensor<?x10xf32>
}

// CHECK-LABEL: func @allops
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x8x8xf32>) -> tensor<?x10xf32>
// CHECK: %[[CONV:.*]] = nn.conv2d %[[X]] {{{.*}}padding = [1, 1, 1, 1]{{.*}}} : tensor<?x4x8x8xf32> -> tensor<?x8x8x8xf32>
// CHECK: nn.batch_norm2d %[[CONV]]
// CHECK: nn.relu
// CHECK: nn.max_pool2d {{.*}} -> tensor<?x8x4x4xf32>
// CHECK: %[[AP:.*]] = nn.avg_pool2d {{.*}}divisor_override = 3 : i64{{.*}} -> tensor<?x8x2x2xf32>
// CHECK: %[[GAP:.*]] = nn.adaptive_avg_pool2d {{.*}}output_size = [1, -1]{{.*}} -> tensor<?x8x1x2xf32>
// CHECK: %[[ADD:.*]] = nn.add %[[GAP]], %[[AP]] {{.*}} -> tensor<?x8x2x2xf32>
// CHECK: nn.cat %[[ADD]], %[[AP]] {{.*}} -> tensor<?x16x2x2xf32>
// CHECK: nn.flatten {{.*}} -> tensor<?x64xf32>
// CHECK: nn.linear {{.*}} -> tensor<?x10xf32>
// CHECK: nn.gelu {{.*}}approximate = "tanh"
// CHECK: nn.leaky_relu
// CHECK: nn.dropout
// CHECK: nn.relu6
// CHECK: nn.silu
// CHECK: nn.sigmoid
// CHECK: nn.tanh
// CHECK: nn.hardswish
// CHECK: nn.identity
// CHECK: %[[SM:.*]] = nn.softmax {{.*}}dim = 1 : i64
// CHECK: return %[[SM]]
