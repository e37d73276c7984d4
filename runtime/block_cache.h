// Reuse of the kernels' intermediate buffers from one allocation to the next
// (internal to runtime/, and to lppool-tune, which times its JIT candidates
// with the same allocator so their times are the AOT kernels' times).
//
// The kernels allocate small intermediates (a chunk's |x|^p, a row's values:
// kilobytes) once per chunk or row, thousands of times a call, and glibc's
// malloc at these sizes (beyond its thread cache's 1 KiB) was a fifth of
// case (a)'s time. Large ones (a long row's values in a few-row call:
// megabytes) that glibc handed back to the system were faulted in again on
// every call. Freed blocks are kept for the next allocations: small ones per
// thread, large ones process-wide.
#pragma once

#include <cstddef>

namespace lppool::detail {

// The allocator the caches draw from and return to (Halide's defaults in
// the AOT runtime). Its blocks must be suitably aligned for the kernels.
using RawMalloc = void *(*)(void *user_context, size_t size);
using RawFree = void (*)(void *user_context, void *ptr);

// Sets the underlying allocator; once per process, before the first block.
void set_block_source(RawMalloc raw_malloc, RawFree raw_free);

// A block of at least `size` bytes, or null when the allocator has none.
void *allocate_block(void *user_context, size_t size);

// Releases a block from allocate_block: kept for reuse or returned.
// Halide frees each allocation on the thread that made it (the generated
// code allocates and frees in one scope, inside one parallel task); a small
// block freed on another thread is returned to the allocator, not kept.
void free_block(void *user_context, void *ptr);

}  // namespace lppool::detail
