"""Model factories for check_exporter.py: torch2netc.py loads them as
`models.py:NAME`. Each builds the same module every time (seeded), with
non-trivial BatchNorm statistics and biases, so that a wrong eps, a missing
bias or a misnamed running_var shows in the outputs."""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def randomised(module, seed):
    """module in eval mode with every BatchNorm and bias made non-trivial."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                if m.weight is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                    m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))
                if m.running_mean is not None:
                    m.running_mean.copy_(
                        0.3 * torch.randn(m.running_mean.shape, generator=g))
                    m.running_var.copy_(
                        torch.rand(m.running_var.shape, generator=g) + 0.5)
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.copy_(0.6 * torch.rand(m.bias.shape, generator=g) - 0.3)
    return module.eval()


def resnet18():
    torch.manual_seed(18)
    return randomised(torchvision.models.resnet18(weights=None), 18)


def mobilenet_v2():
    torch.manual_seed(2)
    return randomised(torchvision.models.mobilenet_v2(weights=None), 2)


def mobilenet_v2_small():
    """torchvision's MobileNetV2 class with two stages (three inverted
    residual blocks, one with a residual Add): every construct of the full
    network, compiled in a fraction of its time."""
    torch.manual_seed(3)
    net = torchvision.models.mobilenet_v2(
        weights=None, num_classes=10, width_mult=0.5,
        inverted_residual_setting=[[1, 16, 1, 1], [6, 24, 2, 2]])
    return randomised(net, 3)


class Functional(nn.Module):
    """Functional and method spellings, a module called twice, and the
    module arguments that differ from their defaults."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect"),
            nn.BatchNorm2d(8, eps=1e-3, momentum=None),
            nn.Hardswish())
        self.relu = nn.ReLU(inplace=True)
        self.a = nn.Conv2d(8, 8, 3, padding="same", dilation=2, groups=4,
                           bias=False)
        self.b = nn.Conv2d(8, 8, (1, 3), padding=(0, 1))
        self.act = nn.ModuleList([nn.SiLU(), nn.GELU(approximate="tanh"),
                                  nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(),
                                  nn.ReLU6()])
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, dilation=1,
                                 ceil_mode=True)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1,
                                count_include_pad=False)
        self.gap = nn.AdaptiveAvgPool2d((2, None))
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(16 * 2 * 5, 12, bias=False)
        self.head = nn.Linear(12 + 16, 5)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.stem(x)
        y = self.relu(self.a(x))
        z = self.relu(self.b(x))          # the shared ReLU, second call
        x = x + y                         # operator.add
        x = torch.add(x, z)
        x = torch.cat([x, F.relu(y)], 1)  # 16 channels
        for act in self.act:
            x = act(x)
        x = F.max_pool2d(x, 2)
        x = self.avg(self.pool(x))
        x = F.avg_pool2d(x, 3, 1, 1, ceil_mode=True, divisor_override=7)
        g = x.mean((2, 3))                # AdaptiveAvgPool2d(1) + Flatten
        x = self.gap(x).relu()
        x = F.dropout(x, 0.5, self.training)
        x = x.view(x.size(0), -1)
        x = torch.relu(self.fc(self.drop(x)))
        x = torch.cat((x, torch.sigmoid(g)), dim=-1)
        x = F.leaky_relu(self.head(x), 0.1)
        return x, self.softmax(x)


def functional():
    torch.manual_seed(5)
    return randomised(Functional(), 5)


# --- models torch2netc must reject --------------------------------------

class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x) * 2


class Upsampled(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Upsample(scale_factor=2))

    def forward(self, x):
        return self.body(x)


class SharedConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x))


class FixedBatchView(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x).view(2, -1)


def scaled():
    return Scaled()


def upsampled():
    return Upsampled()


def shared_conv():
    return SharedConv()


def fixed_batch_view():
    return FixedBatchView()
