# A tiny tuning run end to end: lppool-tune tunes one quick-to-compile
# kernel for a few seconds (with Adams2019 as the peer), writes its file,
# and the configure-time validator accepts it with that kernel's knobs.
#   cmake -DTUNER=<lppool-tune> -DLPPOOL_SOURCE_DIR=<root> -DWORK_DIR=<dir> -P tests/tuned/tiny_run.cmake
set(file ${WORK_DIR}/tiny.json)
file(REMOVE ${file})
execute_process(COMMAND ${TUNER} --shape 2,8,5000,4,2,2.5,f64,channels_last,backward
                        --budget 5 --seed 3 --repeats 3 --peers Adams2019 --output ${file}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
message(STATUS "${out}")
if (NOT rc EQUAL 0)
  message(FATAL_ERROR "lppool-tune failed (${rc}):\n${err}")
endif ()
# The final table: default vs tuned, a second default instance against the
# first, and the peer, for the shape.
if (NOT out MATCHES "\\| 2,8,5000,4,2,2.5,f64,channels_last,backward \\| backward_f64_channels_last \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ \\| ([0-9.]+|fails[^|]*) \\|")
  message(FATAL_ERROR "no result row for the shape in the final table")
endif ()
# The final round timed that second instance, and judged any winner on a
# fresh instance of its own.
if (NOT err MATCHES "a second instance of the default measures 2,8,5000,4,2,2.5,f64,channels_last,backward [0-9.]+ of the first")
  message(FATAL_ERROR "the final round reported no second default instance:\n${err}")
endif ()
if (NOT out MATCHES "backward_f64_channels_last: chunk_outputs=256 long_chunk_outputs=16384 min_parallel_rows=8 vector_multiple=2 "
    AND NOT err MATCHES "confirmed by a second instance: 2,8,5000")
  message(FATAL_ERROR "a tuned choice was not confirmed by a second instance:\n${err}")
endif ()
# The progress bar reported candidates.
if (NOT err MATCHES "backward_f64_channels_last +tried +[0-9]+ \\([0-9]+ rejected\\) +best [0-9.]+x default")
  message(FATAL_ERROR "no progress lines on stderr:\n${err}")
endif ()
execute_process(COMMAND ${CMAKE_COMMAND} -DLPPOOL_SOURCE_DIR=${LPPOOL_SOURCE_DIR} -DTUNED_FILE=${file}
                        -P ${LPPOOL_SOURCE_DIR}/cmake/LPPoolTuned.cmake
                RESULT_VARIABLE rc OUTPUT_VARIABLE vout ERROR_VARIABLE verr)
message(STATUS "${vout}${verr}")
if (NOT rc EQUAL 0 OR NOT vout MATCHES "valid: 1 kernels tuned on x86-64-linux.*backward_f64_channels_last: chunk_outputs=[0-9]+;long_chunk_outputs=[0-9]+;min_parallel_rows=[0-9]+;vector_multiple=[0-9]+")
  message(FATAL_ERROR "the validator did not accept the tuner's file")
endif ()
