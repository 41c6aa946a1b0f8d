#===- Sanitizers.cmake - Sanitizer and fuzzer builds of netc --------------===#
# Part of netc. Licensed under the MIT License; see LICENSE.
#
# NETC_SANITIZE (a list: address;undefined) instruments every target netc
# defines after this file is included: lib/, tools/, test/Unit, examples/.
# LLVM, MLIR, Halide, yaml-cpp and GoogleTest are prebuilt and stay
# uninstrumented, so "netc's own code only" is simply "what this tree
# compiles". NETC_ENABLE_FUZZERS adds libFuzzer coverage to that code and
# builds fuzz/ (clang only); it implies NETC_SANITIZE=address;undefined
# unless NETC_SANITIZE says otherwise. See docs/Fuzzing.md.
#===------------------------------------------------------------------------===#

set(NETC_SANITIZE "" CACHE STRING
    "Sanitizers for netc's own code, e.g. 'address;undefined' (empty: none)")
option(NETC_ENABLE_FUZZERS
       "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)

if(NETC_ENABLE_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "NETC_ENABLE_FUZZERS needs clang (libFuzzer); "
            "configure with -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  if(NOT NETC_SANITIZE)
    set(NETC_SANITIZE address undefined)
  endif()
endif()

if(NETC_SANITIZE)
  list(JOIN NETC_SANITIZE "," netc_sanitizers)
  message(STATUS "netc: instrumenting netc's own code with "
          "-fsanitize=${netc_sanitizers}")
  add_compile_options(-fsanitize=${netc_sanitizers} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${netc_sanitizers})
  if("undefined" IN_LIST NETC_SANITIZE)
    # UB is fatal: a report aborts the process, so lit (through `not`) and
    # libFuzzer both see it. vptr is off: it needs the typeinfo of every
    # polymorphic class it checks, and LLVM/MLIR are built without RTTI
    # (NetcRuntime and NetcAOT, which use -frtti, would not link).
    add_compile_options(-fno-sanitize-recover=undefined -fno-sanitize=vptr)
    add_link_options(-fno-sanitize=vptr)
  endif()
endif()

if(NETC_ENABLE_FUZZERS)
  # Coverage instrumentation for libFuzzer in the libraries; only the fuzz
  # targets link the libFuzzer driver (-fsanitize=fuzzer, in fuzz/).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
