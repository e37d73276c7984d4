// LPPool1dStream: LPPool1d over a signal that arrives in blocks, as an audio
// callback hands it over. Each process() call emits every window the new
// frames complete and carries the unfinished ones to the next call; the
// concatenated outputs equal LPPool1d::forward on the concatenated input, bit
// for bit (the same kernels compute every window).
//
// Real-time safe after construction: process(), flush() and reset() allocate
// nothing, take no lock, make no system call and throw nothing (errors are a
// status). The kernels run on the calling thread with their scratch memory
// carved from an arena sized at construction. Invalid parameters throw
// std::invalid_argument from the constructor, never later.
//
// One stream is one signal: use it from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

namespace lppool {

enum class StreamLayout {
    interleaved,  // frame-major: block[t * channels + c] (NLC, e.g. WAV samples)
    planar,       // channel-major: block[c * frames + t]; outputs out[c * out_capacity + j]
};

enum class StreamStatus {
    ok,
    too_many_frames,   // frames < 0 or > max_block_frames: nothing consumed
    null_pointer,      // block or out is null where data must be read or written
    output_too_small,  // out_capacity < the windows this call completes: nothing consumed
    kernel_failed,     // the kernel reported an error (last_error() says which)
};

const char *describe(StreamStatus status);

struct StreamResult {
    StreamStatus status = StreamStatus::ok;
    int64_t frames_out = 0;  // windows written to `out` (per channel)

    explicit operator bool() const { return status == StreamStatus::ok; }
};

template <typename T>  // float or double
class LPPool1dStream {
public:
    // Pooling parameters as LPPool1d; `channels` >= 1; blocks of 1 to
    // `max_block_frames` frames.
    LPPool1dStream(double norm_type, int64_t kernel_size, std::optional<int64_t> stride,
                   bool ceil_mode, int channels, StreamLayout layout, int64_t max_block_frames);
    ~LPPool1dStream();
    LPPool1dStream(LPPool1dStream &&) noexcept;
    LPPool1dStream &operator=(LPPool1dStream &&) noexcept;

    // Consumes `frames` frames of `block` (in the stream's layout) and writes
    // the windows they complete to `out` (same layout, `out_capacity` windows
    // per channel; max_output_frames() always suffices).
    StreamResult process(const T *block, int64_t frames, T *out, int64_t out_capacity) noexcept;

    // End of the signal: with ceil_mode, the final partial window (if offline
    // LPPool1d::forward would have one); then the stream starts over.
    StreamResult flush(T *out, int64_t out_capacity) noexcept;

    // Forgets everything: the next frame starts a new signal.
    void reset() noexcept;

    // Frames from the first sample of a window to the call that emits it,
    // counted as the window's last sample: K - 1.
    int64_t latency() const noexcept;
    // Most windows one process() call can emit (per channel).
    int64_t max_output_frames() const noexcept;
    int channels() const noexcept;
    int64_t max_block_frames() const noexcept;
    // The kernel's message after StreamStatus::kernel_failed.
    const char *last_error() const noexcept;

private:
    struct State;
    std::unique_ptr<State> state_;
};

extern template class LPPool1dStream<float>;
extern template class LPPool1dStream<double>;

}  // namespace lppool
