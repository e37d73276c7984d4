# Reads schedules/kernels.def, the one list of production kernels.
#
# lppool_read_kernel_registry(<source dir>) sets, in the caller's scope,
# LPPOOL_REGISTRY_ENTRIES (0..n-1) and, per entry i, LPPOOL_REGISTRY_<i>_SCHEDULE
# (cpu|gpu), _PASS (forward|backward), _VARIANT and _PARAMS (a list of
# key=value generator parameters).
macro(lppool_read_kernel_registry source_dir)
  file(STRINGS ${source_dir}/schedules/kernels.def _registry_lines REGEX "^LPPOOL_KERNEL\\(")
  if (NOT CMAKE_SCRIPT_MODE_FILE)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${source_dir}/schedules/kernels.def)
  endif ()
  set(LPPOOL_REGISTRY_ENTRIES "")
  set(_registry_index 0)
  foreach (_line IN LISTS _registry_lines)
    if (NOT _line MATCHES "^LPPOOL_KERNEL\\((cpu|gpu), (forward|backward), ([a-z_0-9]+), \"([a-z_0-9= ]*)\"\\)$")
      message(FATAL_ERROR "schedules/kernels.def: cannot read: ${_line}")
    endif ()
    list(APPEND LPPOOL_REGISTRY_ENTRIES ${_registry_index})
    set(LPPOOL_REGISTRY_${_registry_index}_SCHEDULE ${CMAKE_MATCH_1})
    set(LPPOOL_REGISTRY_${_registry_index}_PASS ${CMAKE_MATCH_2})
    set(LPPOOL_REGISTRY_${_registry_index}_VARIANT ${CMAKE_MATCH_3})
    string(REPLACE " " ";" LPPOOL_REGISTRY_${_registry_index}_PARAMS "${CMAKE_MATCH_4}")
    math(EXPR _registry_index "${_registry_index} + 1")
  endforeach ()
  if (_registry_index EQUAL 0)
    message(FATAL_ERROR "schedules/kernels.def: no LPPOOL_KERNEL lines")
  endif ()
  lppool_read_dtypes(${source_dir})
endmacro()

# Reads schedules/dtypes.def, the one list of element types: sets
# LPPOOL_DTYPES to their keys (f32 f64 ...), in its order.
macro(lppool_read_dtypes source_dir)
  # Read whole: the entries end in a macro's line continuations, which
  # file(STRINGS) would take as escaped list separators.
  file(READ ${source_dir}/schedules/dtypes.def _dtypes_text)
  if (NOT CMAKE_SCRIPT_MODE_FILE)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${source_dir}/schedules/dtypes.def)
  endif ()
  string(REGEX MATCHALL "\n +X\\([a-z0-9]+, [a-z]+, [0-9]+, [a-z0-9]+, __VA_ARGS__\\)"
         _dtype_entries "${_dtypes_text}")
  set(LPPOOL_DTYPES "")
  foreach (_entry IN LISTS _dtype_entries)
    string(REGEX REPLACE "^\n +X\\(([a-z0-9]+), .*" "\\1" _dtype_key "${_entry}")
    list(APPEND LPPOOL_DTYPES ${_dtype_key})
  endforeach ()
  if (NOT LPPOOL_DTYPES)
    message(FATAL_ERROR "schedules/dtypes.def: no X(key, code, bits, name, __VA_ARGS__) entries")
  endif ()
endmacro()

# The GPU APIs a gpu line is built for, as kernel-name suffixes.
set(LPPOOL_REGISTRY_GPU_APIS cuda opencl)
