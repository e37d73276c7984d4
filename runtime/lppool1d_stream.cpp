#include "lppool1d_stream.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "HalideRuntime.h"
#include "call_context.h"
#include "shape_check.h"

namespace lppool {

const char *describe(StreamStatus status) {
    switch (status) {
    case StreamStatus::ok: return "ok";
    case StreamStatus::too_many_frames: return "frames outside [0, max_block_frames]";
    case StreamStatus::null_pointer: return "null block or output pointer";
    case StreamStatus::output_too_small: return "output capacity below the windows completed";
    case StreamStatus::kernel_failed: return "the pooling kernel failed";
    }
    return "unknown status";
}

namespace {

// A rank-3 (L, C, N=1) descriptor over memory the stream owns or was handed.
struct View {
    halide_buffer_t buffer{};
    halide_dimension_t dims[3]{};

    View(const void *data, halide_type_t type, int64_t length, int channels, int64_t l_stride,
         int64_t c_stride) {
        dims[0] = halide_dimension_t(0, int32_t(length), int32_t(l_stride));
        dims[1] = halide_dimension_t(0, channels, int32_t(c_stride));
        dims[2] = halide_dimension_t(0, 1, 0);
        buffer.host = static_cast<uint8_t *>(const_cast<void *>(data));
        buffer.type = type;
        buffer.dimensions = 3;
        buffer.dim = dims;
    }
};

constexpr size_t kErrorCapacity = 4096;   // kernel messages fit without allocating
constexpr size_t kArenaSlack = 64 * 1024;  // beyond twice the measured need

}  // namespace

template <typename T>
struct LPPool1dStream<T>::State {
    PoolParams params;
    int channels;
    StreamLayout layout;
    int64_t max_block;
    int64_t max_outputs;
    int64_t capacity;  // frames of pending input: K - 1 + max_block

    // Frames received but not yet consumed by emitted windows: the next
    // window starts at pending[0]. With S > K, `skip` frames still to come
    // lie in the gap before the next window and are dropped on arrival.
    std::vector<T> pending;
    int64_t pending_frames = 0;
    int64_t skip = 0;
    int64_t total_frames = 0;
    int64_t windows_emitted = 0;

    detail::Arena arena;
    detail::CallContext ctx;
    char last_error[kErrorCapacity] = {};

    T *frame(int64_t t) {  // planar: channel 0's frame t; the others are `capacity` apart
        return layout == StreamLayout::interleaved ? pending.data() + t * channels
                                                   : pending.data() + t;
    }
    int64_t pending_l_stride() const { return layout == StreamLayout::interleaved ? channels : 1; }
    int64_t pending_c_stride() const { return layout == StreamLayout::interleaved ? 1 : capacity; }

    // Pools `windows` windows starting at pending[0], from `length` frames,
    // into `out`. Returns Halide's status.
    int run(int64_t length, int64_t windows, T *out, int64_t out_capacity) {
        View x(pending.data(), halide_type_of<T>(), length, channels, pending_l_stride(),
               pending_c_stride());
        const bool interleaved = layout == StreamLayout::interleaved;
        View y(out, halide_type_of<T>(), windows, channels, interleaved ? channels : 1,
               interleaved ? 1 : out_capacity);
        arena.reset();
        return detail::run_cpu_forward(params, x.buffer, y.buffer, ctx);
    }

    void record_error() {
        const size_t n = std::min(ctx.error.size(), kErrorCapacity - 1);
        std::memcpy(last_error, ctx.error.data(), n);
        last_error[n] = '\0';
        ctx.error.clear();  // keeps its capacity
    }

    void append(const T *block, int64_t block_frames, int64_t from, int64_t count) {
        if (count == 0) {
            return;
        }
        if (layout == StreamLayout::interleaved) {
            std::memcpy(frame(pending_frames), block + from * channels,
                        size_t(count * channels) * sizeof(T));
        } else {
            for (int c = 0; c < channels; c++) {
                std::memcpy(frame(pending_frames) + c * capacity, block + c * block_frames + from,
                            size_t(count) * sizeof(T));
            }
        }
        pending_frames += count;
    }

    // Drops the frames before the window after the `windows` just emitted.
    void consume(int64_t windows) {
        const int64_t next_start = windows * params.stride;
        if (next_start >= pending_frames) {
            skip = next_start - pending_frames;
            pending_frames = 0;
            return;
        }
        const int64_t keep = pending_frames - next_start;
        if (layout == StreamLayout::interleaved) {
            std::memmove(frame(0), frame(next_start), size_t(keep * channels) * sizeof(T));
        } else {
            for (int c = 0; c < channels; c++) {
                std::memmove(frame(0) + c * capacity, frame(next_start) + c * capacity,
                             size_t(keep) * sizeof(T));
            }
        }
        pending_frames = keep;
    }

    void reset() {
        pending_frames = 0;
        skip = 0;
        total_frames = 0;
        windows_emitted = 0;
    }
};

template <typename T>
LPPool1dStream<T>::LPPool1dStream(double norm_type, int64_t kernel_size,
                                  std::optional<int64_t> stride, bool ceil_mode, int channels,
                                  StreamLayout layout, int64_t max_block_frames)
    : state_(std::make_unique<State>()) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "LPPool1dStream supports float and double");
    State &s = *state_;
    s.params = make_pool_params(norm_type, kernel_size, stride, ceil_mode);
    check_stream_params(s.params, channels, max_block_frames);
    s.channels = channels;
    s.layout = layout;
    s.max_block = max_block_frames;
    s.max_outputs = (max_block_frames - 1) / s.params.stride + 1;
    s.capacity = s.params.kernel_size - 1 + max_block_frames;
    s.pending.assign(size_t(s.capacity * channels), T(0));

    detail::install_error_routing();
    detail::install_kernel_hooks();
    s.ctx.error.reserve(kErrorCapacity);
    s.ctx.arena = &s.arena;
    s.ctx.run_serially = true;

    // Size the arena by running the kernel on the largest calls a stream
    // makes (measuring mode allocates normally), then check that it fits.
    // This also settles Halide's one-time work (CPU feature detection).
    std::vector<T> out(size_t(s.max_outputs * channels));
    const int64_t K = s.params.kernel_size, S = s.params.stride;
    // Every call of a stream runs one kernel (its p and K fix the variant:
    // kernel_variants.h), whose largest call allocates the most.
    auto largest_calls = [&] {
        int status = s.run((s.max_outputs - 1) * S + K, s.max_outputs, out.data(), s.max_outputs);
        if (status == 0) {
            status = s.run(K, 1, out.data(), s.max_outputs);  // one window, and flush()
        }
        if (status != 0) {
            s.record_error();
            throw std::runtime_error(std::string("LPPool1dStream: warm-up kernel call failed: ") +
                                     s.last_error);
        }
    };
    largest_calls();
    s.arena.reserve(2 * s.arena.high_water + kArenaSlack);
    largest_calls();
}

template <typename T>
LPPool1dStream<T>::~LPPool1dStream() = default;
template <typename T>
LPPool1dStream<T>::LPPool1dStream(LPPool1dStream &&) noexcept = default;
template <typename T>
LPPool1dStream<T> &LPPool1dStream<T>::operator=(LPPool1dStream &&) noexcept = default;

template <typename T>
StreamResult LPPool1dStream<T>::process(const T *block, int64_t frames, T *out,
                                        int64_t out_capacity) noexcept {
    State &s = *state_;
    if (frames < 0 || frames > s.max_block) {
        return {StreamStatus::too_many_frames, 0};
    }
    if (frames > 0 && block == nullptr) {
        return {StreamStatus::null_pointer, 0};
    }
    // Plan the call before changing any state, so a refused call consumes nothing.
    const int64_t dropped = std::min(s.skip, frames);
    const int64_t pending_after = s.pending_frames + frames - dropped;
    const int64_t K = s.params.kernel_size, S = s.params.stride;
    const int64_t windows = pending_after >= K ? (pending_after - K) / S + 1 : 0;
    if (windows > 0 && out == nullptr) {
        return {StreamStatus::null_pointer, 0};
    }
    if (windows > out_capacity) {
        return {StreamStatus::output_too_small, 0};
    }

    s.skip -= dropped;
    s.append(block, frames, dropped, frames - dropped);
    s.total_frames += frames;
    if (windows == 0) {
        return {StreamStatus::ok, 0};
    }
    const int status = s.run((windows - 1) * S + K, windows, out, out_capacity);
    s.consume(windows);
    s.windows_emitted += windows;
    if (status != 0) {
        s.record_error();
        return {StreamStatus::kernel_failed, 0};
    }
    return {StreamStatus::ok, windows};
}

template <typename T>
StreamResult LPPool1dStream<T>::flush(T *out, int64_t out_capacity) noexcept {
    State &s = *state_;
    // The offline output has at most one window more than the full windows
    // emitted: ceil_mode's partial last window, which starts in `pending`.
    const int64_t partial = windows_for_length(s.params, s.total_frames) - s.windows_emitted;
    if (partial <= 0 || s.pending_frames == 0) {
        s.reset();
        return {StreamStatus::ok, 0};
    }
    if (out == nullptr) {
        return {StreamStatus::null_pointer, 0};
    }
    if (out_capacity < 1) {
        return {StreamStatus::output_too_small, 0};
    }
    // Zero padding up to a whole window: the kernel then adds the same terms
    // in the same order as offline, where reads past L are zero.
    const int64_t K = s.params.kernel_size;
    for (int64_t t = s.pending_frames; t < K; t++) {
        for (int c = 0; c < s.channels; c++) {
            s.frame(t)[c * s.pending_c_stride()] = T(0);
        }
    }
    const int status = s.run(K, 1, out, out_capacity);
    s.reset();
    if (status != 0) {
        s.record_error();
        return {StreamStatus::kernel_failed, 0};
    }
    return {StreamStatus::ok, 1};
}

template <typename T>
void LPPool1dStream<T>::reset() noexcept {
    state_->reset();
}

template <typename T>
int64_t LPPool1dStream<T>::latency() const noexcept {
    return state_->params.kernel_size - 1;
}

template <typename T>
int64_t LPPool1dStream<T>::max_output_frames() const noexcept {
    return state_->max_outputs;
}

template <typename T>
int LPPool1dStream<T>::channels() const noexcept {
    return state_->channels;
}

template <typename T>
int64_t LPPool1dStream<T>::max_block_frames() const noexcept {
    return state_->max_block;
}

template <typename T>
const char *LPPool1dStream<T>::last_error() const noexcept {
    return state_->last_error;
}

template class LPPool1dStream<float>;
template class LPPool1dStream<double>;

}  // namespace lppool
