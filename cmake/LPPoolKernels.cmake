# AOT compilation of the LPPool1d kernels.
#
# Every kernel is a multi-target static library: Halide picks the best variant
# the running CPU supports (AVX-512, AVX2+FMA+F16C, SSE4.1 baseline). All of
# them share one Halide runtime, so linking several kernels never duplicates
# runtime symbols. `user_context` lets the C++ runtime route a kernel's errors
# back to the call that caused them; `large_buffers` makes the kernels index
# with 64 bits, so element offsets may pass 2^31.

if (CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(_lppool_default_targets
      x86-64-linux-sse41-avx-f16c-fma-avx2-avx512-avx512_skylake
      x86-64-linux-sse41-avx-f16c-fma-avx2
      x86-64-linux-sse41)
else ()
  set(_lppool_default_targets host)
endif ()
set(LPPOOL_CPU_TARGETS "${_lppool_default_targets}" CACHE STRING
    "Halide targets of the CPU kernels, best first; the last is the fallback")

# GPU kernels: one target each. Halide generates the PTX and the OpenCL C
# itself, so neither needs a GPU toolkit to build; drivers are opened at run
# time. The PTX targets compute capability 7.0 (Volta) and runs on every later
# GPU: the driver JIT-compiles it for the device it finds. ptxas checks it for
# sm_75 (the oldest architecture CUDA 13's ptxas accepts) and sm_90 (H100).
option(LPPOOL_CUDA "Build the CUDA kernels" ON)
option(LPPOOL_OPENCL "Build the OpenCL kernels (CI runs them on PoCL)" ON)
set(LPPOOL_CUDA_TARGET "x86-64-linux-cuda-cuda_capability_70" CACHE STRING
    "Halide target of the CUDA kernels")
set(LPPOOL_CUDA_CHECK_ARCHS "sm_75;sm_90" CACHE STRING
    "Architectures ptxas checks the CUDA kernels' PTX for")
set(LPPOOL_OPENCL_TARGET "x86-64-linux-opencl-cl_doubles" CACHE STRING
    "Halide target of the OpenCL kernels")
set(LPPOOL_GPU_APIS "")
if (LPPOOL_CUDA)
  list(APPEND LPPOOL_GPU_APIS cuda)
endif ()
if (LPPOOL_OPENCL)
  list(APPEND LPPOOL_GPU_APIS opencl)
endif ()
set(LPPOOL_GPU_TILE_OUTPUTS 128 CACHE STRING
    "Threads per block along L of every GPU rows kernel (a tuned file can set it per kernel; the runtime's staging rule follows each kernel's value)")

# lppool_add_kernel(<name> FROM <generator target> GENERATOR <gen>
#                   [TARGETS <halide target>...] [AUTOSCHEDULER <plugin target>]
#                   [PARAMS ...])
# TARGETS defaults to LPPOOL_CPU_TARGETS. The first kernel added creates the
# shared Halide runtime; every later one, in any directory, uses it (and adds
# its targets' device modules to it).
function(lppool_add_kernel NAME)
  cmake_parse_arguments(ARG "" "FROM;GENERATOR;AUTOSCHEDULER" "PARAMS;TARGETS" ${ARGN})
  if (NOT ARG_TARGETS)
    set(ARG_TARGETS ${LPPOOL_CPU_TARGETS})
  endif ()
  set(extra_outputs "")
  if (LPPOOL_EMIT_STMT)
    set(extra_outputs STMT ${NAME}_stmt ASSEMBLY ${NAME}_asm)
  endif ()
  get_property(runtime GLOBAL PROPERTY LPPOOL_HALIDE_RUNTIME)
  set(runtime_arg "")
  if (runtime)
    set(runtime_arg USE_RUNTIME ${runtime})
  endif ()
  set(autoscheduler_arg "")
  if (ARG_AUTOSCHEDULER)
    set(autoscheduler_arg AUTOSCHEDULER ${ARG_AUTOSCHEDULER})
  endif ()
  add_halide_library(${NAME} FROM ${ARG_FROM}
                     GENERATOR ${ARG_GENERATOR}
                     FUNCTION_NAME ${NAME}
                     TARGETS ${ARG_TARGETS}
                     FEATURES user_context large_buffers
                     PARAMS ${ARG_PARAMS}
                     ${runtime_arg}
                     ${autoscheduler_arg}
                     ${extra_outputs})
  if (NOT runtime)
    set_property(GLOBAL PROPERTY LPPOOL_HALIDE_RUNTIME ${NAME}.runtime)
  endif ()
endfunction ()
