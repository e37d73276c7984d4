// The memory layouts a kernel can be specialized for, shared by the CPU and
// GPU schedules and the pipeline that joins them to the algorithm.
#pragma once

namespace lppool {

enum class Layout {
    Rows,          // any strides; fast path when L is contiguous (NCL)
    ChannelsLast,  // C contiguous (NLC, interleaved audio): vectorized across channels
    Contiguous,    // L contiguous only, declared to Halide (for autoscheduled peers)
};

}  // namespace lppool
