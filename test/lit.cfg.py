# -*- Python -*-
# The netc lit configuration: YAML models, MLIR files and .test scripts.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "netc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".yaml", ".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py",
                   "project"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.netc_obj_root, "test")

llvm_config.with_system_environment(["HOME", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# Debian's python3 has torch; the python3 first on PATH may not.
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%src_root", config.netc_src_root))
config.substitutions.append(("%netc_obj_root", config.netc_obj_root))
# The C++ compiler of the build and Halide's headers (HalideRuntime.h), for
# tests that link generated libraries.
config.substitutions.append(
    ("%cxx", config.cxx_compiler + "".join(
        " -I" + d for d in config.halide_include_dirs.split(";") if d)))

llvm_config.add_tool_substitutions(
    ["netc", "netc-opt", "NetcUnitTests", "tiny_cnn_demo", "FileCheck", "not",
     "count"],
    [config.netc_tools_dir, config.llvm_tools_dir,
     os.path.join(config.netc_obj_root, "examples", "aot")])

# Where the AOT example's build put its weights.
config.substitutions.append(
    ("%aot_example_dir", os.path.join(config.netc_obj_root, "examples", "aot")))

# `REQUIRES: avx512`: tests whose expectations hold only where the JIT's
# host target is AVX-512 (32 vector registers: the four-vector tiles, flat
# maps for rows of 28).
try:
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo
                      if line.startswith("flags")), [])
except OSError:
    flags = []
if {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} <= set(flags):
    config.available_features.add("avx512")
