# `cmake --install` layout, for users who link the AOT outputs without Halide:
#
#   include/lppool/   the C++ runtime headers, the generated kernel headers,
#                     the Halide runtime headers they need, dlpack.h, and the
#                     algorithm + schedule headers for fusing into a Halide
#                     pipeline of one's own (that use needs Halide itself)
#   lib/liblppool.a          the C++ runtime (LPPool::lppool)
#   lib/liblppool_kernels.a  every production kernel + the one Halide runtime
#                            (LPPool::kernels)
#   lib/cmake/LPPool/        LPPoolConfig.cmake, LPPoolConfigVersion.cmake
#   lib/pkgconfig/lppool.pc
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(production_kernels GLOBAL PROPERTY LPPOOL_PRODUCTION_KERNELS)
get_property(halide_runtime GLOBAL PROPERTY LPPOOL_HALIDE_RUNTIME)

set(kernel_archives "")
set(kernel_headers "")
foreach (k IN LISTS production_kernels)
  list(APPEND kernel_archives $<TARGET_FILE:${k}>)
  get_property(header GLOBAL PROPERTY LPPOOL_KERNEL_HEADER_${k})
  list(APPEND kernel_headers ${header})
endforeach ()
list(APPEND kernel_archives $<TARGET_FILE:${halide_runtime}>)

set(merged ${CMAKE_BINARY_DIR}/liblppool_kernels.a)
add_custom_command(OUTPUT ${merged}
                   COMMAND ${CMAKE_COMMAND} -DAR=${CMAKE_AR} -DOUTPUT=${merged}
                           "-DINPUTS=${kernel_archives}" -P ${PROJECT_SOURCE_DIR}/cmake/merge_archives.cmake
                   DEPENDS ${production_kernels} ${halide_runtime} ${PROJECT_SOURCE_DIR}/cmake/merge_archives.cmake
                   COMMENT "Merging the kernels and the Halide runtime into liblppool_kernels.a"
                   VERBATIM)
add_custom_target(lppool_kernels_archive ALL DEPENDS ${merged})

set(include_dest ${CMAKE_INSTALL_INCLUDEDIR}/lppool)
get_target_property(halide_includes Halide::Runtime INTERFACE_INCLUDE_DIRECTORIES)
find_path(LPPOOL_HALIDE_RUNTIME_INCLUDE HalideRuntime.h HINTS ${halide_includes} REQUIRED)
find_path(LPPOOL_DLPACK_INCLUDE dlpack/dlpack.h REQUIRED)

install(FILES runtime/lppool1d.h runtime/lppool1d_stream.h runtime/device.h runtime/shape_check.h
              runtime/half_float.h
              ${kernel_headers}
              ${LPPOOL_HALIDE_RUNTIME_INCLUDE}/HalideRuntime.h
              ${LPPOOL_HALIDE_RUNTIME_INCLUDE}/HalideBuffer.h
              ${LPPOOL_HALIDE_RUNTIME_INCLUDE}/HalideRuntimeCuda.h
              ${LPPOOL_HALIDE_RUNTIME_INCLUDE}/HalideRuntimeOpenCL.h
              algorithm/lppool1d_algorithm.h algorithm/float_math.h algorithm/power_cases.h
              algorithm/half_storage.h
              schedules/cpu_schedule.h schedules/gpu_schedule.h schedules/layout.h
              schedules/knob_space.h schedules/tunable_knobs.def
        DESTINATION ${include_dest})
install(FILES ${LPPOOL_DLPACK_INCLUDE}/dlpack/dlpack.h DESTINATION ${include_dest}/dlpack)
install(TARGETS lppool ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${merged} DESTINATION ${CMAKE_INSTALL_LIBDIR})

set(config_dest ${CMAKE_INSTALL_LIBDIR}/cmake/LPPool)
configure_package_config_file(cmake/LPPoolConfig.cmake.in ${CMAKE_BINARY_DIR}/LPPoolConfig.cmake
                              INSTALL_DESTINATION ${config_dest}
                              PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/LPPoolConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/LPPoolConfig.cmake ${CMAKE_BINARY_DIR}/LPPoolConfigVersion.cmake
        DESTINATION ${config_dest})

configure_file(cmake/lppool.pc.in ${CMAKE_BINARY_DIR}/lppool.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/lppool.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
