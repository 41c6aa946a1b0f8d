#!/bin/bash
# What the performance benchmarks (bench/conv, bench/networks) need beyond
# scripts/setup.sh: oneDNN's headers and library (Debian's libdnnl-dev,
# oneDNN 2.6 on Debian 12) and a C++ compiler. Run as root. torch 1.13 and
# torchvision for /usr/bin/python3 come with scripts/setup.sh (the
# differential tests use them); this only checks they import.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y libdnnl-dev g++ || { apt-get update && apt-get install -y libdnnl-dev g++; }
/usr/bin/python3 -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)'
