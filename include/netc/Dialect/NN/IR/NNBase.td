//===- NNBase.td - nn dialect definition -------------------*- tablegen -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DIALECT_NN_IR_NNBASE_TD
#define NETC_DIALECT_NN_IR_NNBASE_TD

include "mlir/IR/OpBase.td"

def NN_Dialect : Dialect {
  let name = "nn";
  let summary = "Neural-network layers in PyTorch's vocabulary";
  let description = [{
    The `nn` dialect holds one op per `torch.nn` module netc supports, with
    the module's constructor arguments as attributes (after defaulting, and
    with `padding: same|valid` resolved to explicit amounts). Every op infers
    its result type with PyTorch 1.13's shape rules from ShapeUtils; a
    symbolic dimension of the model (a batch `N`) is a dynamic dimension.
  }];
  let cppNamespace = "::netc::nn";
  let emitAccessorPrefix = kEmitAccessorPrefix_Prefixed;
}

/// The tensors netc computes on: ranked float32.
def NN_Tensor : RankedTensorOf<[F32]>;

#endif // NETC_DIALECT_NN_IR_NNBASE_TD
