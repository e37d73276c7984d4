# Tuned schedule parameters (lppool-tune's output) compiled into the kernels.
#
#   cmake -B build -DLPPOOL_TUNED_PARAMS=schedules/tuned/<file>.json
#   cmake -B build "-DLPPOOL_TUNED_PARAMS=schedules/tuned/cpu.json;schedules/tuned/cuda.json"
#
# The file is validated at configure time: anything malformed, stale (tuned
# against other schedule sources), naming an unknown kernel or knob, or with
# a value outside the knob's range stops the configure with a message saying
# what and where. Nothing is silently ignored.
#
# Also runs in script mode, which the tests use:
#   cmake -DLPPOOL_SOURCE_DIR=<root> -DTUNED_FILE=<file> [-DALLOW_STALE=ON] -P cmake/LPPoolTuned.cmake
#   cmake -DLPPOOL_SOURCE_DIR=<root> -DPRINT_HASH=ON -P cmake/LPPoolTuned.cmake

if (CMAKE_SCRIPT_MODE_FILE)
  cmake_policy(VERSION 3.22)  # IN_LIST and the like, as the project has
endif ()

set(LPPOOL_TUNED_FORMAT "lppool-tuned-params")
set(LPPOOL_TUNED_VERSION 1)

# The sources a tuned value is meaningful for: the algorithm, how kernels
# are assembled, the schedules, the knob definitions and the kernels'
# generator parameters. The file's "schedule_hash" covers their code only:
# comments, string literals (but kernels.def's, its parameters), #include
# lines, whitespace and the files' paths are dropped first, so a comment
# edit, a reformat or a move does not stale a tuned file. lppool-tune is
# compiled with the same value.
function(lppool_schedule_hash source_dir out_var)
  set(files algorithm/power_cases.h algorithm/float_math.h algorithm/half_storage.h
            algorithm/lppool1d_algorithm.h
            generators/lppool1d_pipeline.h schedules/layout.h schedules/cpu_schedule.h
            schedules/gpu_schedule.h schedules/knob_space.h schedules/tunable_knobs.def
            schedules/kernels.def)
  set(all "")
  foreach (f IN LISTS files)
    file(READ ${source_dir}/${f} text)
    if (f STREQUAL "schedules/kernels.def")
      lppool_schedule_code(text "${text}" KEEP_STRINGS)
    else ()
      lppool_schedule_code(text "${text}")
    endif ()
    # One line per file, in the order of the list.
    string(APPEND all "${text}\n")
    if (NOT CMAKE_SCRIPT_MODE_FILE)
      # Re-configure (and so re-hash) whenever one of them changes.
      set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${source_dir}/${f})
    endif ()
  endforeach ()
  string(SHA256 combined "${all}")
  string(SUBSTRING ${combined} 0 16 combined)
  set(${out_var} ${combined} PARENT_SCOPE)
endfunction()

# The code of a C++ source, as the schedule hash sees it. Line comments go
# first, so a quote or "/*" inside one cannot start a string or a block.
# KEEP_STRINGS keeps string literals.
function(lppool_schedule_code out_var text)
  string(REGEX REPLACE "//[^\n]*" "" text "${text}")
  string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" text "${text}")
  string(REGEX REPLACE "#[ \t]*include[^\n]*" "" text "${text}")
  if (ARGC LESS 3 OR NOT ARGV2 STREQUAL "KEEP_STRINGS")
    string(REGEX REPLACE "\"([^\"\\\n]|\\\\.)*\"" "\"\"" text "${text}")
  endif ()
  string(REGEX REPLACE "[ \t\r\n]+" "" text "${text}")
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

# Reads schedules/tunable_knobs.def: sets LPPOOL_KNOB_NAMES and, per knob,
# LPPOOL_KNOB_<name>_SCHEDULE/_KIND/_MIN/_MAX in the caller's scope.
macro(lppool_read_knob_definitions source_dir)
  file(STRINGS ${source_dir}/schedules/tunable_knobs.def _knob_lines REGEX "^LPPOOL_KNOB\\(")
  set(LPPOOL_KNOB_NAMES "")
  foreach (_line IN LISTS _knob_lines)
    if (NOT _line MATCHES "^LPPOOL_KNOB\\((cpu|gpu), ([a-z_0-9]+), (int|bool), (-?[0-9]+), (-?[0-9]+), (-?[0-9]+), ")
      message(FATAL_ERROR "schedules/tunable_knobs.def: cannot read: ${_line}")
    endif ()
    list(APPEND LPPOOL_KNOB_NAMES ${CMAKE_MATCH_2})
    set(LPPOOL_KNOB_${CMAKE_MATCH_2}_SCHEDULE ${CMAKE_MATCH_1})
    set(LPPOOL_KNOB_${CMAKE_MATCH_2}_KIND ${CMAKE_MATCH_3})
    set(LPPOOL_KNOB_${CMAKE_MATCH_2}_MIN ${CMAKE_MATCH_5})
    set(LPPOOL_KNOB_${CMAKE_MATCH_2}_MAX ${CMAKE_MATCH_6})
  endforeach ()
endmacro()

# The kernels a tuned file may name: every kernel of schedules/kernels.def,
# on the CPU and on each GPU API.
include(${CMAKE_CURRENT_LIST_DIR}/LPPoolRegistry.cmake)
function(lppool_tunable_kernel_names source_dir out_var)
  lppool_read_kernel_registry(${source_dir})
  set(names "")
  foreach (i IN LISTS LPPOOL_REGISTRY_ENTRIES)
    foreach (dtype IN LISTS LPPOOL_DTYPES)
      set(key ${LPPOOL_REGISTRY_${i}_PASS}_${dtype}_${LPPOOL_REGISTRY_${i}_VARIANT})
      if (LPPOOL_REGISTRY_${i}_SCHEDULE STREQUAL "cpu")
        list(APPEND names ${key})
      else ()
        foreach (api IN LISTS LPPOOL_REGISTRY_GPU_APIS)
          list(APPEND names ${key}_${api})
        endforeach ()
      endif ()
    endforeach ()
  endforeach ()
  set(${out_var} ${names} PARENT_SCOPE)
endfunction()

function(_lppool_tuned_fail file what)
  message(FATAL_ERROR "LPPool tuned parameters ${file}: ${what}\n"
                      "Fix the file, re-run lppool-tune, or configure without "
                      "-DLPPOOL_TUNED_PARAMS to build the default schedules.")
endfunction()

# Validates `file` and sets, in the caller's scope, LPPOOL_TUNED_<kernel> to
# the generator parameters (key=value list) for each kernel it tunes,
# LPPOOL_TUNED_KERNELS to those kernels, and LPPOOL_TUNED_SUMMARY to one line
# describing the file.
function(lppool_load_tuned_params file source_dir allow_stale)
  if (NOT EXISTS ${file})
    _lppool_tuned_fail(${file} "no such file")
  endif ()
  file(READ ${file} json)
  string(JSON format ERROR_VARIABLE err GET "${json}" format)
  if (err)
    _lppool_tuned_fail(${file} "not a tuned-parameters JSON object (${err})")
  endif ()
  if (NOT format STREQUAL LPPOOL_TUNED_FORMAT)
    _lppool_tuned_fail(${file} "\"format\" is \"${format}\", expected \"${LPPOOL_TUNED_FORMAT}\"")
  endif ()
  foreach (field version schedule_hash target date kernels)
    string(JSON type ERROR_VARIABLE err TYPE "${json}" ${field})
    if (err)
      _lppool_tuned_fail(${file} "missing \"${field}\"")
    endif ()
  endforeach ()
  string(JSON version GET "${json}" version)
  if (NOT version STREQUAL LPPOOL_TUNED_VERSION)
    _lppool_tuned_fail(${file} "format version ${version}; this build reads version ${LPPOOL_TUNED_VERSION}")
  endif ()
  string(JSON target GET "${json}" target)
  string(JSON date GET "${json}" date)
  string(JSON hash GET "${json}" schedule_hash)
  lppool_schedule_hash(${source_dir} current_hash)
  if (NOT hash STREQUAL current_hash)
    string(CONCAT stale "stale: tuned against schedule sources with hash ${hash} (${date}), but the "
              "algorithm, pipeline, schedules or knob definitions have changed since "
              "(hash now ${current_hash}), so the tuned values may no longer mean what they "
              "meant. Re-run lppool-tune")
    if (allow_stale)
      message(WARNING "LPPool tuned parameters ${file}: ${stale}; used anyway "
                      "(LPPOOL_TUNED_ALLOW_STALE=ON)")
    else ()
      _lppool_tuned_fail(${file} "${stale}, or set LPPOOL_TUNED_ALLOW_STALE=ON to use it anyway.")
    endif ()
  endif ()

  string(JSON kernels_type TYPE "${json}" kernels)
  if (NOT kernels_type STREQUAL "OBJECT")
    _lppool_tuned_fail(${file} "\"kernels\" must be an object of kernel name -> knobs")
  endif ()
  lppool_read_knob_definitions(${source_dir})
  lppool_tunable_kernel_names(${source_dir} known_kernels)
  string(JSON kernel_count LENGTH "${json}" kernels)
  set(tuned_kernels "")
  if (kernel_count GREATER 0)
    math(EXPR last "${kernel_count} - 1")
    foreach (i RANGE ${last})
      string(JSON kernel MEMBER "${json}" kernels ${i})
      if (NOT kernel IN_LIST known_kernels)
        _lppool_tuned_fail(${file} "unknown kernel \"${kernel}\" (known: ${known_kernels})")
      endif ()
      string(JSON knobs_type TYPE "${json}" kernels ${kernel})
      if (NOT knobs_type STREQUAL "OBJECT")
        _lppool_tuned_fail(${file} "kernels.${kernel} must be an object of knob -> value")
      endif ()
      string(JSON knob_count LENGTH "${json}" kernels ${kernel})
      set(params "")
      if (knob_count GREATER 0)
        math(EXPR last_knob "${knob_count} - 1")
        foreach (j RANGE ${last_knob})
          string(JSON knob MEMBER "${json}" kernels ${kernel} ${j})
          if (NOT knob IN_LIST LPPOOL_KNOB_NAMES)
            _lppool_tuned_fail(${file} "kernels.${kernel}: unknown knob \"${knob}\" (known: ${LPPOOL_KNOB_NAMES})")
          endif ()
          # A GPU knob means nothing to a CPU kernel, and a CPU knob nothing to a GPU one.
          if (kernel MATCHES "_(cuda|opencl)$")
            set(kernel_schedule gpu)
          else ()
            set(kernel_schedule cpu)
          endif ()
          if (NOT LPPOOL_KNOB_${knob}_SCHEDULE STREQUAL kernel_schedule)
            _lppool_tuned_fail(${file} "kernels.${kernel}: \"${knob}\" is a ${LPPOOL_KNOB_${knob}_SCHEDULE} knob, and ${kernel} a ${kernel_schedule} kernel")
          endif ()
          string(JSON value_type TYPE "${json}" kernels ${kernel} ${knob})
          string(JSON value GET "${json}" kernels ${kernel} ${knob})
          set(where "kernels.${kernel}.${knob}")
          if (LPPOOL_KNOB_${knob}_KIND STREQUAL "bool")
            if (NOT value_type STREQUAL "BOOLEAN")
              _lppool_tuned_fail(${file} "${where} must be true or false, not ${value}")
            endif ()
            if (value)
              set(value true)
            else ()
              set(value false)
            endif ()
            # Unstaged terms are a fixed vector across C in channels-last:
            # the forward generator refuses them (a build-time error).
            if (knob STREQUAL "stage_powers" AND NOT value AND kernel MATCHES "channels_last")
              _lppool_tuned_fail(${file} "${where} = false: only rows-layout forwards compute |x|^p unstaged")
            endif ()
          else ()
            if (NOT value_type STREQUAL "NUMBER" OR NOT value MATCHES "^-?[0-9]+$")
              _lppool_tuned_fail(${file} "${where} must be an integer, not ${value}")
            endif ()
            if (value LESS LPPOOL_KNOB_${knob}_MIN OR value GREATER LPPOOL_KNOB_${knob}_MAX)
              _lppool_tuned_fail(${file} "${where} = ${value} is outside [${LPPOOL_KNOB_${knob}_MIN}, ${LPPOOL_KNOB_${knob}_MAX}]")
            endif ()
          endif ()
          list(APPEND params ${knob}=${value})
        endforeach ()
      endif ()
      set(LPPOOL_TUNED_${kernel} ${params} PARENT_SCOPE)
      list(APPEND tuned_kernels ${kernel})
    endforeach ()
  endif ()
  list(LENGTH tuned_kernels n)
  set(LPPOOL_TUNED_KERNELS ${tuned_kernels} PARENT_SCOPE)
  set(LPPOOL_TUNED_SUMMARY "${n} kernels tuned on ${target} (${date})" PARENT_SCOPE)
endfunction()

# Sets out_var to the generator PARAMS of kernel `key` (its name without the
# lppool1d_ prefix): the given key=value list, with the tuned file's values
# for that kernel (if any) replacing the same knobs.
function(lppool_kernel_params key out_var)
  set(params ${ARGN})
  foreach (tuned IN LISTS LPPOOL_TUNED_${key})
    string(REGEX REPLACE "=.*" "" knob ${tuned})
    list(FILTER params EXCLUDE REGEX "^${knob}=")
    list(APPEND params ${tuned})
  endforeach ()
  set(${out_var} ${params} PARENT_SCOPE)
endfunction()

# Script mode: validate TUNED_FILE and print what it sets.
if (CMAKE_SCRIPT_MODE_FILE AND CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if (LPPOOL_SOURCE_DIR AND PRINT_HASH)
    lppool_schedule_hash(${LPPOOL_SOURCE_DIR} hash)
    message(STATUS "schedule_hash=${hash}")
    return()
  endif ()
  if (NOT TUNED_FILE OR NOT LPPOOL_SOURCE_DIR)
    message(FATAL_ERROR "usage: cmake -DLPPOOL_SOURCE_DIR=<root> "
                        "(-DTUNED_FILE=<file> | -DPRINT_HASH=ON) -P cmake/LPPoolTuned.cmake")
  endif ()
  if (NOT DEFINED ALLOW_STALE)
    set(ALLOW_STALE OFF)
  endif ()
  lppool_load_tuned_params(${TUNED_FILE} ${LPPOOL_SOURCE_DIR} ${ALLOW_STALE})
  message(STATUS "valid: ${LPPOOL_TUNED_SUMMARY}")
  lppool_tunable_kernel_names(${LPPOOL_SOURCE_DIR} names)
  foreach (kernel IN LISTS names)
    if (DEFINED LPPOOL_TUNED_${kernel})
      message(STATUS "  ${kernel}: ${LPPOOL_TUNED_${kernel}}")
    endif ()
  endforeach ()
endif ()
