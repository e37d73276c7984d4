#include "lppool1d.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "lppool1d_backward_f32_channels_last.h"
#include "lppool1d_backward_f32_rows.h"
#include "lppool1d_backward_f64_channels_last.h"
#include "lppool1d_backward_f64_rows.h"
#include "lppool1d_forward_f32_channels_last.h"
#include "lppool1d_forward_f32_rows.h"
#include "lppool1d_forward_f64_channels_last.h"
#include "lppool1d_forward_f64_rows.h"
#include "lppool1d_forward_f32_rows_wide_windows.h"
#include "lppool1d_forward_f64_rows_wide_windows.h"

namespace lppool {
namespace {

// ---------------------------------------------------------------------------
// Kernel table: one (forward, backward) pair per dtype and layout.

using ForwardKernel = int (*)(const void *, halide_buffer_t *, double, int32_t, int32_t,
                              halide_buffer_t *);
using BackwardKernel = int (*)(const void *, halide_buffer_t *, halide_buffer_t *, halide_buffer_t *,
                               double, int32_t, int32_t, halide_buffer_t *);

struct KernelPair {
    ForwardKernel forward;
    BackwardKernel backward;
    const char *name;
};

enum LayoutIndex { kRows = 0, kChannelsLast = 1 };

const KernelPair kKernels[2][2] = {
    {{lppool1d_forward_f32_rows, lppool1d_backward_f32_rows, "f32_rows"},
     {lppool1d_forward_f32_channels_last, lppool1d_backward_f32_channels_last,
      "f32_channels_last"}},
    {{lppool1d_forward_f64_rows, lppool1d_backward_f64_rows, "f64_rows"},
     {lppool1d_forward_f64_channels_last, lppool1d_backward_f64_channels_last,
      "f64_channels_last"}},
};

// Rows-layout forward kernels that vectorize along each window, for windows
// of at least kMinWideWindow elements (see schedules/cpu_schedule.h). With
// K = S on this machine (AVX-512, 32 float lanes), along-window vs across-
// outputs: K=32 6.8 vs 5.8 ms, K=64 4.3 vs 5.4 ms, K=256 7.2 vs 29.0 ms
// (2048 rows of 16384); one long row: K=64 1.9 vs 2.7 ms.
struct ForwardKernelChoice {
    ForwardKernel forward;
    const char *name;
};
const ForwardKernelChoice kWideWindowForward[2] = {
    {lppool1d_forward_f32_rows_wide_windows, "f32_rows_wide_windows"},
    {lppool1d_forward_f64_rows_wide_windows, "f64_rows_wide_windows"}};
constexpr int64_t kMinWideWindow = 64;

// ---------------------------------------------------------------------------
// Kernel errors: Halide reports them through one process-wide handler. Each
// call passes its own context as user_context, so a message lands with the
// call that caused it, whatever thread reports it; other pipelines' errors go
// to whichever handler was installed before ours.

constexpr uint64_t kContextTag = 0x4c50506f6f6c3164ull;  // "LPPool1d"

struct CallContext {
    uint64_t tag = kContextTag;
    std::mutex mutex;
    std::string error;
};

halide_error_handler_t previous_error_handler = nullptr;

extern "C" void route_halide_error(void *user_context, const char *message) {
    auto *ctx = static_cast<CallContext *>(user_context);
    if (ctx != nullptr && ctx->tag == kContextTag) {
        std::lock_guard<std::mutex> lock(ctx->mutex);
        ctx->error += message;
        return;
    }
    if (previous_error_handler != nullptr) {
        previous_error_handler(user_context, message);
    } else {
        std::fputs(message, stderr);
        std::abort();
    }
}

void install_error_routing() {
    static std::once_flag once;
    std::call_once(once, [] { previous_error_handler = halide_set_error_handler(route_halide_error); });
}

template <typename Kernel, typename... Args>
void run_kernel(Kernel kernel, const char *pass, const char *variant, Args... args) {
    CallContext ctx;
    const int status = kernel(&ctx, args...);
    if (status != 0) {
        throw std::runtime_error(std::string("LPPool1d: ") + pass + " kernel " + variant +
                                 " failed with Halide error " + std::to_string(status) + ": " +
                                 ctx.error);
    }
}

// ---------------------------------------------------------------------------
// Buffers as the kernels see them: always rank 3 (L, C, N).

struct Rank3 {
    halide_buffer_t buffer{};
    halide_dimension_t dims[3]{};
};

Rank3 as_rank3(const halide_buffer_t &b) {
    Rank3 r;
    r.buffer = b;
    for (int i = 0; i < b.dimensions; i++) {
        r.dims[i] = b.dim[i];
    }
    if (b.dimensions == 2) {
        // A batch of one; its stride is never used to step.
        r.dims[2] = halide_dimension_t(0, 1, 0);
    }
    r.buffer.dimensions = 3;
    r.buffer.dim = r.dims;
    return r;
}

// Channels-last kernels need C contiguous in every buffer; they pay off when
// L is not also contiguous and there is at least a vector's worth of
// channels. With fewer (stereo audio), the rows kernel's strided loads along
// L win: interleaved stereo (case g of bench/) ran 160 ms channels-last.
constexpr int kMinChannelsForChannelsLast = 8;

bool is_channels_last(std::initializer_list<const halide_buffer_t *> buffers) {
    for (const halide_buffer_t *b : buffers) {
        if (b->dim[1].stride != 1 || b->dim[1].extent < kMinChannelsForChannelsLast ||
            b->dim[0].stride == 1) {
            return false;
        }
    }
    return true;
}

// The kernels take K and S as int32. Windows never reach past L, so K and S
// beyond L behave exactly like L (the output length was already computed
// from the true values).
int32_t clamp_to_length(int64_t v, int64_t length) {
    return static_cast<int32_t>(std::min(v, length));
}

int dtype_index(const halide_buffer_t &x) { return x.type.bits == 64 ? 1 : 0; }

const KernelPair &pick_kernels(const halide_buffer_t &x, bool channels_last) {
    return kKernels[dtype_index(x)][channels_last ? kChannelsLast : kRows];
}

// The forward kernel: as pick_kernels, but large windows in the rows layout
// go to the along-window kernel.
ForwardKernelChoice pick_forward(const halide_buffer_t &x, bool channels_last, int64_t kernel_size) {
    if (!channels_last && kernel_size >= kMinWideWindow) {
        return kWideWindowForward[dtype_index(x)];
    }
    const KernelPair &k = pick_kernels(x, channels_last);
    return {k.forward, k.name};
}

std::string python_float_repr(double v) {
    char digits[40];
    int precision = 1;
    for (; precision < 17; precision++) {
        std::snprintf(digits, sizeof digits, "%.*e", precision - 1, v);
        if (std::strtod(digits, nullptr) == v) {
            break;
        }
    }
    std::snprintf(digits, sizeof digits, "%.*e", precision - 1, v);
    // digits = "[-]d.ddde[+-]XX"
    std::string s(digits);
    const size_t e_pos = s.find('e');
    const int exponent = std::atoi(s.c_str() + e_pos + 1);
    std::string sign = s[0] == '-' ? "-" : "";
    std::string mantissa = s.substr(sign.size(), e_pos - sign.size());
    mantissa.erase(std::remove(mantissa.begin(), mantissa.end(), '.'), mantissa.end());
    if (exponent >= -4 && exponent < 16) {
        std::string out;
        if (exponent < 0) {
            out = "0." + std::string(-exponent - 1, '0') + mantissa;
        } else if (static_cast<int>(mantissa.size()) <= exponent + 1) {
            out = mantissa + std::string(exponent + 1 - mantissa.size(), '0') + ".0";
        } else {
            out = mantissa.substr(0, exponent + 1) + "." + mantissa.substr(exponent + 1);
        }
        return sign + out;
    }
    std::string out = mantissa.substr(0, 1);
    if (mantissa.size() > 1) {
        out += "." + mantissa.substr(1);
    }
    char exp_text[16];
    std::snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return sign + out + exp_text;
}

}  // namespace

void set_num_threads(int threads) {
    if (threads < 0) {
        throw std::invalid_argument("LPPool1d: set_num_threads needs threads >= 0, got " +
                                    std::to_string(threads));
    }
    halide_set_num_threads(threads);
}

LPPool1d::LPPool1d(double norm_type, int64_t kernel_size, std::optional<int64_t> stride,
                   bool ceil_mode)
    : params_(make_pool_params(norm_type, kernel_size, stride, ceil_mode)) {
    install_error_routing();
}

int64_t LPPool1d::output_length(int64_t input_length) const {
    return pooling_output_length(params_, input_length);
}

std::string LPPool1d::extra_repr() const {
    return "norm_type=" + python_float_repr(params_.norm_type) +
           ", kernel_size=" + std::to_string(params_.kernel_size) +
           ", stride=" + std::to_string(params_.stride) +
           ", ceil_mode=" + (params_.ceil_mode ? "True" : "False");
}

void LPPool1d::forward_raw(const halide_buffer_t &x, const halide_buffer_t &y) const {
    check_forward(params_, x, y);
    Rank3 x3 = as_rank3(x), y3 = as_rank3(y);
    const auto k = pick_forward(x, is_channels_last({&x3.buffer, &y3.buffer}), params_.kernel_size);
    const int64_t length = x.dim[0].extent;
    run_kernel(k.forward, "forward", k.name, &x3.buffer, params_.norm_type,
               clamp_to_length(params_.kernel_size, length),
               clamp_to_length(params_.stride, length), &y3.buffer);
}

void LPPool1d::backward_raw(const halide_buffer_t &x, const halide_buffer_t &y,
                            const halide_buffer_t &grad_y, const halide_buffer_t &grad_x) const {
    check_backward(params_, x, y, grad_y, grad_x);
    Rank3 x3 = as_rank3(x), y3 = as_rank3(y), dy3 = as_rank3(grad_y), dx3 = as_rank3(grad_x);
    const KernelPair &k = pick_kernels(
        x, is_channels_last({&x3.buffer, &y3.buffer, &dy3.buffer, &dx3.buffer}));
    const int64_t length = x.dim[0].extent;
    run_kernel(k.backward, "backward", k.name, &x3.buffer, &y3.buffer, &dy3.buffer,
               params_.norm_type, clamp_to_length(params_.kernel_size, length),
               clamp_to_length(params_.stride, length), &dx3.buffer);
}

namespace detail {

template <typename T>
RawView to_raw(const TensorView<T> &v) {
    RawView r;
    if (v.rank != 2 && v.rank != 3) {
        throw std::invalid_argument(
            "LPPool1d: a tensor must have rank 2 (C, L) or 3 (N, C, L), got rank " +
            std::to_string(v.rank));
    }
    for (int i = 0; i < v.rank; i++) {
        if (v.sizes[i] < 1) {
            throw std::invalid_argument("LPPool1d: dimension " + std::to_string(i) +
                                        " is empty (size " + std::to_string(v.sizes[i]) + ")");
        }
        if (v.sizes[i] > kMaxIndex || v.strides[i] > kMaxIndex || v.strides[i] < -kMaxIndex) {
            throw std::invalid_argument(
                "LPPool1d: size " + std::to_string(v.sizes[i]) + " or stride " +
                std::to_string(v.strides[i]) + " of dimension " + std::to_string(i) +
                " does not fit 32-bit indexing");
        }
        const int halide_dim = v.rank - 1 - i;
        r.dims[halide_dim] = halide_dimension_t(0, static_cast<int32_t>(v.sizes[i]),
                                                static_cast<int32_t>(v.strides[i]));
    }
    using Elem = std::remove_const_t<T>;
    r.buffer.host = reinterpret_cast<uint8_t *>(const_cast<Elem *>(v.data));
    r.buffer.type = halide_type_of<Elem>();
    r.buffer.dimensions = v.rank;
    r.buffer.dim = r.dims;
    return r;
}

template <typename T>
Halide::Runtime::Buffer<T> allocate_like(const halide_buffer_t &like, int64_t length) {
    std::vector<int> sizes(like.dimensions);
    std::vector<int> order(like.dimensions);
    for (int i = 0; i < like.dimensions; i++) {
        sizes[i] = like.dim[i].extent;
    }
    sizes[0] = static_cast<int>(length);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return std::abs(int64_t(like.dim[a].stride)) < std::abs(int64_t(like.dim[b].stride));
    });
    return Halide::Runtime::Buffer<T>(sizes, order);
}

template RawView to_raw(const TensorView<float> &);
template RawView to_raw(const TensorView<const float> &);
template RawView to_raw(const TensorView<double> &);
template RawView to_raw(const TensorView<const double> &);
template Halide::Runtime::Buffer<float> allocate_like(const halide_buffer_t &, int64_t);
template Halide::Runtime::Buffer<double> allocate_like(const halide_buffer_t &, int64_t);

}  // namespace detail
}  // namespace lppool
