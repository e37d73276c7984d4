# cmake -DAR=<ar> -DOUTPUT=<lib.a> -DINPUTS=<a.a;b.a;...> -P merge_archives.cmake
# Merges static libraries into one with an ar MRI script, so an installed
# consumer links one archive (no link-order puzzles between kernel libraries
# and the Halide runtime they share).
set(script "create ${OUTPUT}\n")
foreach (input IN LISTS INPUTS)
  string(APPEND script "addlib ${input}\n")
endforeach ()
string(APPEND script "save\nend\n")
file(WRITE "${OUTPUT}.mri" "${script}")
file(REMOVE "${OUTPUT}")
execute_process(COMMAND "${AR}" -M INPUT_FILE "${OUTPUT}.mri" RESULT_VARIABLE status)
if (NOT status EQUAL 0)
  message(FATAL_ERROR "merging archives into ${OUTPUT} failed (${status})")
endif ()
