# Every way a tuned-parameters file can be wrong stops the configure with a
# message naming the problem; a valid file (and a stale one, when allowed)
# passes. Each case runs the real validator (cmake/LPPoolTuned.cmake) in
# script mode, as a configure would.
#
#   cmake -DLPPOOL_SOURCE_DIR=<root> -DWORK_DIR=<dir> -P tests/tuned/check_tuned_files.cmake
include(${LPPOOL_SOURCE_DIR}/cmake/LPPoolTuned.cmake)
lppool_schedule_hash(${LPPOOL_SOURCE_DIR} hash)
file(MAKE_DIRECTORY ${WORK_DIR})

set(kernels [=[{
    "forward_f32_rows": {"vector_multiple": 4, "chunk_outputs": 512, "min_parallel_rows": 4, "long_chunk_outputs": 8192, "unroll_vectors": 2, "scratch_on_stack": true},
    "backward_f64_channels_last": {"min_parallel_rows": 2},
    "forward_f64_rows_general_powers": {"stage_powers": false},
    "forward_f32_rows_cuda": {"gpu_tile_outputs": 256, "gpu_stage_powers": false}
  }]=])
set(valid "{\n  \"format\": \"lppool-tuned-params\",\n  \"version\": 1,\n  \"schedule_hash\": \"${hash}\",\n  \"target\": \"x86-64-linux-avx2\",\n  \"date\": \"2026-11-27T00:00:00Z\",\n  \"kernels\": ${kernels}\n}\n")

set_property(GLOBAL PROPERTY failures 0)
# One check's outcome: "ok" or "FAIL" with what was expected, counted.
function(report name ok what)
  if (ok)
    message(STATUS "ok    ${name}")
    return()
  endif ()
  message(STATUS "FAIL  ${name}: ${what}")
  get_property(n GLOBAL PROPERTY failures)
  math(EXPR n "${n} + 1")
  set_property(GLOBAL PROPERTY failures ${n})
endfunction()

# check(<name> <expect: pass|fail> <regex the output must match> <file text> [extra -D args])
function(check name expect regex text)
  set(file ${WORK_DIR}/${name}.json)
  file(WRITE ${file} "${text}")
  execute_process(COMMAND ${CMAKE_COMMAND} -DLPPOOL_SOURCE_DIR=${LPPOOL_SOURCE_DIR}
                          -DTUNED_FILE=${file} ${ARGN} -P ${LPPOOL_SOURCE_DIR}/cmake/LPPoolTuned.cmake
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(all "${out}${err}")
  string(REGEX REPLACE "[ \n]+" " " flat "${all}")
  set(ok TRUE)
  if (expect STREQUAL "pass" AND NOT rc EQUAL 0)
    set(ok FALSE)
  elseif (expect STREQUAL "fail" AND rc EQUAL 0)
    set(ok FALSE)
  elseif (NOT flat MATCHES "${regex}")
    set(ok FALSE)
  endif ()
  report(${name} ${ok} "expected ${expect} matching '${regex}', got rc=${rc}:\n${all}")
endfunction()

function(replace out_var from to)
  string(REPLACE "${from}" "${to}" text "${valid}")
  if (text STREQUAL valid)
    message(FATAL_ERROR "replace: '${from}' not found in the valid file")
  endif ()
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

check(valid pass "valid: 4 kernels tuned on x86-64-linux-avx2.*forward_f32_rows: chunk_outputs=512;long_chunk_outputs=8192;min_parallel_rows=4;scratch_on_stack=true;unroll_vectors=2;vector_multiple=4.*forward_f64_rows_general_powers: stage_powers=false.*forward_f32_rows_cuda: gpu_stage_powers=false;gpu_tile_outputs=256" "${valid}")
check(empty fail "not a tuned-parameters JSON object" "")
check(not_json fail "not a tuned-parameters JSON object" "chunk_outputs=512\n")
string(SUBSTRING "${valid}" 0 120 truncated)
check(truncated fail "not a tuned-parameters JSON object" "${truncated}")
check(array fail "not a tuned-parameters JSON object" "[1, 2, 3]")
replace(text "lppool-tuned-params" "some-other-tool")
check(wrong_format fail "\"format\" is \"some-other-tool\"" "${text}")
replace(text "\"version\": 1" "\"version\": 2")
check(newer_version fail "format version 2; this build reads version 1" "${text}")
replace(text "\"date\": \"2026-11-27T00:00:00Z\"," "")
check(missing_date fail "missing \"date\"" "${text}")
replace(text "${hash}" "0123456789abcdef")
check(stale fail "stale: tuned against schedule sources with hash 0123456789abcdef.*LPPOOL_TUNED_ALLOW_STALE" "${text}")
check(stale_allowed pass "(used anyway.*valid: 4 kernels|valid: 4 kernels.*used anyway)" "${text}" -DALLOW_STALE=ON)
replace(text "\"forward_f32_rows\":" "\"forward_f8_rows\":")
check(unknown_kernel fail "unknown kernel \"forward_f8_rows\"" "${text}")
replace(text "\"chunk_outputs\": 512" "\"unroll\": 4")
check(unknown_knob fail "kernels.forward_f32_rows: unknown knob \"unroll\"" "${text}")
replace(text "\"gpu_stage_powers\": false" "\"stage_powers\": false")
check(cpu_knob_on_gpu_kernel fail "kernels.forward_f32_rows_cuda: \"stage_powers\" is a cpu knob, and forward_f32_rows_cuda a gpu kernel" "${text}")
replace(text "\"min_parallel_rows\": 2" "\"gpu_tile_outputs\": 64")
check(gpu_knob_on_cpu_kernel fail "kernels.backward_f64_channels_last: \"gpu_tile_outputs\" is a gpu knob, and backward_f64_channels_last a cpu kernel" "${text}")
replace(text "\"vector_multiple\": 4" "\"vector_multiple\": 16")
check(above_range fail "kernels.forward_f32_rows.vector_multiple = 16 is outside \\[1, 8\\]" "${text}")
replace(text "\"unroll_vectors\": 2" "\"unroll_vectors\": 9")
check(unroll_above_range fail "kernels.forward_f32_rows.unroll_vectors = 9 is outside \\[1, 8\\]" "${text}")
replace(text "\"scratch_on_stack\": true" "\"scratch_on_stack\": 1")
check(stack_as_number fail "kernels.forward_f32_rows.scratch_on_stack must be true or false" "${text}")
replace(text "\"min_parallel_rows\": 2" "\"min_parallel_rows\": 0")
check(below_range fail "kernels.backward_f64_channels_last.min_parallel_rows = 0 is outside" "${text}")
replace(text "\"chunk_outputs\": 512" "\"chunk_outputs\": 512.5")
check(fraction fail "kernels.forward_f32_rows.chunk_outputs must be an integer, not 512.5" "${text}")
replace(text "\"chunk_outputs\": 512" "\"chunk_outputs\": \"512\"")
check(string_value fail "kernels.forward_f32_rows.chunk_outputs must be an integer" "${text}")
replace(text "\"forward_f64_rows_general_powers\"" "\"forward_f32_channels_last\"")
check(unstaged_channels_last fail "kernels.forward_f32_channels_last.stage_powers = false: only rows-layout forwards" "${text}")
replace(text "\"gpu_stage_powers\": false" "\"gpu_stage_powers\": 0")
check(bool_as_number fail "kernels.forward_f32_rows_cuda.gpu_stage_powers must be true or false" "${text}")
replace(text "\"backward_f64_channels_last\": {\"min_parallel_rows\": 2}" "\"backward_f64_channels_last\": [2]")
check(knobs_not_object fail "kernels.backward_f64_channels_last must be an object" "${text}")
replace(text "\"kernels\": {" "\"kernels\": [{")
string(REPLACE "}\n  }\n}" "}\n  }]\n}" text "${text}")
check(kernels_not_object fail "\"kernels\" must be an object" "${text}")
check(missing_file fail "no such file" "" -DTUNED_FILE=${WORK_DIR}/does_not_exist.json)

# The schedule hash follows the code, not its bytes: a copy of the sources
# with comments, blank lines, reformatting and other includes added keeps the
# hash; a changed default or an added statement changes it.
set(copy ${WORK_DIR}/sources)
file(REMOVE_RECURSE ${copy})
file(COPY ${LPPOOL_SOURCE_DIR}/algorithm ${LPPOOL_SOURCE_DIR}/generators ${LPPOOL_SOURCE_DIR}/schedules
     DESTINATION ${copy})
function(hash_check name expect file from to)
  file(READ ${copy}/${file} original)
  string(REPLACE "${from}" "${to}" edited "${original}")
  if (edited STREQUAL original)
    message(FATAL_ERROR "hash_check ${name}: '${from}' not found in ${file}")
  endif ()
  file(WRITE ${copy}/${file} "${edited}")
  lppool_schedule_hash(${copy} edited_hash)
  file(WRITE ${copy}/${file} "${original}")
  set(ok FALSE)
  if ((expect STREQUAL "same") EQUAL (edited_hash STREQUAL hash))
    set(ok TRUE)
  endif ()
  report(hash_${name} ${ok} "expected the ${expect} hash as ${hash}, got ${edited_hash}")
endfunction()
hash_check(comment_line same schedules/cpu_schedule.h "namespace lppool {"
           "// A comment with a \"quote and /* an opener\nnamespace lppool {")
hash_check(block_comment same schedules/gpu_schedule.h "namespace lppool {"
           "/* A block\n   comment. */\n\nnamespace lppool {")
hash_check(wrapped_line same schedules/tunable_knobs.def "LPPOOL_KNOB(cpu, vector_multiple, int, 2, 1, 8, \"1 2 4\")"
           "LPPOOL_KNOB(cpu, vector_multiple,\n            int, 2, 1, 8, \"1 2 4\")  // wrapped")
hash_check(candidate_list same schedules/tunable_knobs.def "\"1 2 4\")" "\"1 2 4 8\")")
hash_check(include_line same generators/lppool1d_pipeline.h "#pragma once"
           "#pragma once\n#include \"moved/elsewhere.h\"")
hash_check(knob_default changed schedules/tunable_knobs.def "LPPOOL_KNOB(cpu, vector_multiple, int, 2,"
           "LPPOOL_KNOB(cpu, vector_multiple, int, 4,")
hash_check(added_statement changed schedules/cpu_schedule.h "namespace lppool {"
           "namespace lppool {\nconstexpr int unused_knob = 1;")
hash_check(exact_powers changed algorithm/power_cases.h "{1, 2, 3, 4}" "{1, 2, 4}")
hash_check(code_after_string changed schedules/tunable_knobs.def "\"0 1\")" "\"0 1\", 2)")

get_property(failures GLOBAL PROPERTY failures)
if (failures GREATER 0)
  message(FATAL_ERROR "${failures} tuned-file checks failed")
endif ()
