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

# Builds that change only how the C++ is compiled (the sanitizer stage of
# scripts/reliability.sh) can link another build tree's kernels instead of
# generating their own: Halide's code is not instrumented, and generating it
# is most of a build's time. The other tree must be of these sources and
# configured with the same kernel settings (checked here); the build runs its
# build first, so its kernels are never stale.
#
# A build from tuned files (CI's tuned build, scripts/tune-ci.sh) may do the
# same: the kernels its files tune are generated here, for this build's
# LPPOOL_CPU_TARGETS, and every other kernel is linked from the other tree,
# which must then be a build of the default schedules (no tuned files of its
# own), so an untuned kernel there is the one this build would generate.
set(LPPOOL_KERNELS_FROM "" CACHE PATH
    "A build tree of these sources whose kernels to link instead of generating them (same kernel settings; with tuned files: the untuned kernels only)")
set(LPPOOL_KERNELS_DIR ${CMAKE_BINARY_DIR})
if (LPPOOL_KERNELS_FROM)
  get_filename_component(LPPOOL_KERNELS_DIR ${LPPOOL_KERNELS_FROM} ABSOLUTE BASE_DIR ${CMAKE_BINARY_DIR})
  if (NOT EXISTS ${LPPOOL_KERNELS_DIR}/CMakeCache.txt)
    message(FATAL_ERROR "LPPOOL_KERNELS_FROM=${LPPOOL_KERNELS_FROM}: not a configured build tree "
                        "(no CMakeCache.txt); configure and build it first")
  endif ()
  set(kernel_settings CMAKE_HOME_DIRECTORY LPPOOL_CPU_TARGETS LPPOOL_CUDA LPPOOL_OPENCL
                      LPPOOL_CUDA_TARGET LPPOOL_OPENCL_TARGET LPPOOL_GPU_TILE_OUTPUTS
                      LPPOOL_TUNED_PARAMS LPPOOL_TUNED_ALLOW_STALE LPPOOL_BUILD_BENCH
                      LPPOOL_BUILD_EXAMPLES)
  load_cache(${LPPOOL_KERNELS_DIR} READ_WITH_PREFIX from_ ${kernel_settings})
  if (LPPOOL_TUNED_PARAMS)
    if (from_LPPOOL_TUNED_PARAMS)
      message(FATAL_ERROR "LPPOOL_KERNELS_FROM=${LPPOOL_KERNELS_FROM}: it was built from tuned "
                          "files (${from_LPPOOL_TUNED_PARAMS}); a build from tuned files links "
                          "the untuned kernels of a default build only")
    endif ()
    list(REMOVE_ITEM kernel_settings LPPOOL_TUNED_PARAMS LPPOOL_TUNED_ALLOW_STALE LPPOOL_CPU_TARGETS)
  endif ()
  foreach (setting IN LISTS kernel_settings)
    if (NOT "${from_${setting}}" STREQUAL "${${setting}}")
      message(FATAL_ERROR "LPPOOL_KERNELS_FROM=${LPPOOL_KERNELS_FROM}: its ${setting} is "
                          "\"${from_${setting}}\", this build's \"${${setting}}\"; its kernels "
                          "would not be the ones this build asks for")
    endif ()
  endforeach ()
  add_custom_target(lppool_kernels_from_build
                    COMMAND ${CMAKE_COMMAND} --build ${LPPOOL_KERNELS_DIR}
                    COMMENT "Bringing the kernels of ${LPPOOL_KERNELS_DIR} up to date"
                    VERBATIM)
  # Its one Halide runtime serves every kernel here, generated ones included
  # (they add no runtime of their own): it holds each GPU API's module. That
  # build names it in lppool_halide_runtime.txt (a glob would also find a
  # runtime left behind by an earlier configuration).
  set(runtime_name_file ${LPPOOL_KERNELS_DIR}/lppool_halide_runtime.txt)
  if (NOT EXISTS ${runtime_name_file})
    message(FATAL_ERROR "LPPOOL_KERNELS_FROM=${LPPOOL_KERNELS_FROM}: no lppool_halide_runtime.txt; "
                        "configure and build it first")
  endif ()
  file(READ ${runtime_name_file} runtime)
  string(STRIP "${runtime}" runtime)
  set(runtime_archives ${LPPOOL_KERNELS_DIR}/generators/lib${runtime}.a)
  if (NOT EXISTS ${runtime_archives})
    message(FATAL_ERROR "LPPOOL_KERNELS_FROM=${LPPOOL_KERNELS_FROM}: its Halide runtime "
                        "${runtime_archives} does not exist; build it first")
  endif ()
  add_library(${runtime} STATIC IMPORTED GLOBAL)
  set_target_properties(${runtime} PROPERTIES IMPORTED_LOCATION ${runtime_archives})
  target_link_libraries(${runtime} INTERFACE Halide::Runtime Threads::Threads ${CMAKE_DL_LIBS})
  add_dependencies(${runtime} lppool_kernels_from_build)
  set_property(GLOBAL PROPERTY LPPOOL_HALIDE_RUNTIME ${runtime})
  if (LPPOOL_TUNED_PARAMS)
    message(STATUS "LPPool: untuned kernels linked from ${LPPOOL_KERNELS_DIR}, tuned ones generated")
  else ()
    message(STATUS "LPPool: kernels linked from ${LPPOOL_KERNELS_DIR}, not generated")
  endif ()
endif ()

# One kernel of the LPPOOL_KERNELS_FROM tree, as the target lppool_add_kernel
# would make.
function(_lppool_import_kernel NAME)
  file(RELATIVE_PATH subdir ${CMAKE_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR})
  set(dir ${LPPOOL_KERNELS_DIR}/${subdir})
  get_property(runtime GLOBAL PROPERTY LPPOOL_HALIDE_RUNTIME)
  foreach (file ${dir}/lib${NAME}.a ${dir}/${NAME}.h)
    if (NOT EXISTS ${file})
      message(FATAL_ERROR "LPPOOL_KERNELS_FROM: ${file} does not exist; build "
                          "${LPPOOL_KERNELS_DIR} first")
    endif ()
  endforeach ()
  add_library(${NAME} STATIC IMPORTED GLOBAL)
  set_target_properties(${NAME} PROPERTIES IMPORTED_LOCATION ${dir}/lib${NAME}.a)
  target_include_directories(${NAME} INTERFACE ${dir})
  target_link_libraries(${NAME} INTERFACE ${runtime})
  add_dependencies(${NAME} lppool_kernels_from_build)
  set_property(GLOBAL PROPERTY LPPOOL_KERNEL_HEADER_${NAME} ${dir}/${NAME}.h)
endfunction()

# lppool_add_kernel(<name> FROM <generator target> GENERATOR <gen>
#                   [TARGETS <halide target>...] [AUTOSCHEDULER <plugin target>]
#                   [PARAMS ...])
# TARGETS defaults to LPPOOL_CPU_TARGETS. The first kernel added creates the
# shared Halide runtime; every later one, in any directory, uses it (and adds
# its targets' device modules to it).
function(lppool_add_kernel NAME)
  cmake_parse_arguments(ARG "" "FROM;GENERATOR;AUTOSCHEDULER" "PARAMS;TARGETS" ${ARGN})
  string(REGEX REPLACE "^lppool1d_" "" tuned_key ${NAME})
  if (LPPOOL_KERNELS_FROM AND NOT DEFINED LPPOOL_TUNED_${tuned_key})
    _lppool_import_kernel(${NAME})
    return()
  endif ()
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
    # For builds that link this one's kernels (LPPOOL_KERNELS_FROM).
    file(WRITE ${CMAKE_BINARY_DIR}/lppool_halide_runtime.txt "${NAME}.runtime\n")
  endif ()
  set_property(GLOBAL PROPERTY LPPOOL_KERNEL_HEADER_${NAME} ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.h)
endfunction ()
