# AOT compilation of the LPPool1d kernels.
#
# Every kernel is a multi-target static library: Halide picks the best variant
# the running CPU supports (AVX-512, AVX2+FMA+F16C, SSE4.1 baseline). All of
# them share one Halide runtime, so linking several kernels never duplicates
# runtime symbols. `user_context` lets the C++ runtime route a kernel's errors
# back to the call that caused them.

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

# lppool_add_kernel(<name> FROM <generator target> GENERATOR <gen>
#                   [AUTOSCHEDULER <plugin target>] [PARAMS ...])
# The first kernel added creates the shared Halide runtime; every later one,
# in any directory, uses it.
function(lppool_add_kernel NAME)
  cmake_parse_arguments(ARG "" "FROM;GENERATOR;AUTOSCHEDULER" "PARAMS" ${ARGN})
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
                     TARGETS ${LPPOOL_CPU_TARGETS}
                     FEATURES user_context
                     PARAMS ${ARG_PARAMS}
                     ${runtime_arg}
                     ${autoscheduler_arg}
                     ${extra_outputs})
  if (NOT runtime)
    set_property(GLOBAL PROPERTY LPPOOL_HALIDE_RUNTIME ${NAME}.runtime)
  endif ()
endfunction ()
