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

set(_lppool_runtime "")

# lppool_add_kernel(<name> GENERATOR <gen> [PARAMS ...])
function(lppool_add_kernel NAME)
  cmake_parse_arguments(ARG "" "GENERATOR" "PARAMS" ${ARGN})
  set(extra_outputs "")
  if (LPPOOL_EMIT_STMT)
    set(extra_outputs STMT ${NAME}_stmt ASSEMBLY ${NAME}_asm)
  endif ()
  if (_lppool_runtime)
    set(runtime_arg USE_RUNTIME ${_lppool_runtime})
  else ()
    set(runtime_arg "")
  endif ()
  add_halide_library(${NAME} FROM lppool1d_generators
                     GENERATOR ${ARG_GENERATOR}
                     FUNCTION_NAME ${NAME}
                     TARGETS ${LPPOOL_CPU_TARGETS}
                     FEATURES user_context
                     PARAMS ${ARG_PARAMS}
                     ${runtime_arg}
                     ${extra_outputs})
  if (NOT _lppool_runtime)
    set(_lppool_runtime ${NAME}.runtime PARENT_SCOPE)
  endif ()
endfunction ()
