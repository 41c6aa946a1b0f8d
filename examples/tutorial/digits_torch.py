"""The tutorial's model in PyTorch (docs/Tutorial.md). tools/torch2netc
exports it, with its weights under the same names as digits.yaml's layers:

    /usr/bin/python3 tools/torch2netc/torch2netc.py \\
        examples/tutorial/digits_torch.py:make --input-shape N,1,28,28 \\
        --name digits -o exported.yaml --weights trained.safetensors
"""

from collections import OrderedDict

import torch
from torch import nn


def make():
    torch.manual_seed(0)  # stands in for training
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 8, kernel_size=3, padding=1)),
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(8, 16, kernel_size=3, padding=1)),
        ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),
        ("flat", nn.Flatten()),
        ("fc", nn.Linear(784, 10)),
    ]))
