#!/usr/bin/env bash
# Installs what netc needs on Debian 12 (as root, or with sudo) and builds it
# into build/. Safe to run again: apt and ninja skip what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build g++ git
  llvm-14-dev llvm-14-tools libmlir-14-dev mlir-14-tools
  libyaml-cpp-dev libhalide14-0-dev
  # Tests only: PyTorch is the oracle for shapes and parameter counts.
  python3 python3-numpy python3-torch python3-torchvision
  binutils
)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build -j2
