#include "shape_check.h"

#include <algorithm>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "dtypes.h"

namespace lppool {
namespace {

[[noreturn]] void fail(const std::string &message) {
    throw std::invalid_argument("LPPool1d: " + message);
}

[[noreturn]] void fail_dtype(const std::string &message) {
    throw unsupported_dtype("LPPool1d: " + message);
}

std::string format_double(double v) {
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
}

// Ceiling of a / b for b > 0 and any sign of a, without overflow.
int64_t ceil_div(int64_t a, int64_t b) {
    return a > 0 ? (a - 1) / b + 1 : -((-a) / b);
}

// "<code><bits>[x<lanes>]": float32, int64, bfloat16, float32x4.
std::string type_name(const std::string &code, int bits, int lanes) {
    std::string s = code + std::to_string(bits);
    if (lanes != 1) {
        s += "x" + std::to_string(lanes);
    }
    return s;
}

// The ranks the kernels take, (C, L) and (N, C, L): the one statement of it.
void check_rank(const std::string &name, int rank) {
    if (rank != 2 && rank != 3) {
        fail(name + " must have rank 2 (C, L) or 3 (N, C, L), got rank " + std::to_string(rank));
    }
}

// "; supported: float32, float64, float16 and bfloat16" (schedules/dtypes.def).
std::string supported_dtypes() { return "; supported: " + detail::supported_dtype_names(); }

// Checks one buffer on its own: supported dtype, rank, non-empty, memory
// (host or device), and every element offset within 32-bit indexing.
void check_buffer(const char *name, const halide_buffer_t &b) {
    if (detail::dtype_index(b.type) < 0) {
        fail_dtype(std::string(name) + " has dtype " + describe_type(b.type) + supported_dtypes());
    }
    check_rank(name, b.dimensions);
    if (b.host == nullptr && b.device == 0) {
        fail(std::string(name) + " has a null data pointer");
    }
    // The kernels index with 64 bits (Halide's large_buffers): offsets may
    // pass 2^31 elements, but the farthest element's byte offset must fit.
    int64_t last_offset = 0;
    for (int i = 0; i < b.dimensions; i++) {
        const halide_dimension_t &d = b.dim[i];
        if (d.extent <= 0) {
            fail(std::string(name) + " has an empty dimension: shape " + describe_shape(b));
        }
        if (d.min != 0) {
            fail(std::string(name) + " must start at index 0 in every dimension");
        }
        int64_t reach = 0;
        if (__builtin_mul_overflow(int64_t(d.extent - 1), std::abs(int64_t(d.stride)), &reach) ||
            __builtin_add_overflow(last_offset, reach, &last_offset) ||
            last_offset > INT64_MAX / 8) {
            fail(std::string(name) + " has shape " + describe_shape(b) +
                 " and strides whose element offsets overflow 64-bit byte addressing");
        }
    }
}

void check_same_type(const char *name, const halide_buffer_t &b, const halide_buffer_t &x) {
    if (b.type != x.type) {
        fail_dtype(std::string(name) + " has dtype " + describe_type(b.type) + " but x has " +
                   describe_type(x.type));
    }
}

// b must have exactly the extents (length, C, N) of `like` with dim 0 = `length`.
void check_shape(const char *name, const halide_buffer_t &b, const halide_buffer_t &like,
                 int64_t length, const char *what) {
    bool same = b.dimensions == like.dimensions && b.dim[0].extent == length;
    for (int i = 1; same && i < b.dimensions; i++) {
        same = b.dim[i].extent == like.dim[i].extent;
    }
    if (!same) {
        halide_buffer_t expected = like;
        halide_dimension_t dims[3];
        for (int i = 0; i < like.dimensions; i++) {
            dims[i] = like.dim[i];
        }
        dims[0].extent = static_cast<int32_t>(length);
        expected.dim = dims;
        fail(std::string(name) + " has shape " + describe_shape(b) + " but " + what + " is " +
             describe_shape(expected));
    }
}

// An output must not alias itself (a zero stride, or strides that interleave
// dimensions onto the same elements): those elements would be written more
// than once. Sufficient test: sorted by |stride|, each dimension steps past
// everything the smaller ones span.
void check_writable(const char *name, const halide_buffer_t &b) {
    std::vector<std::pair<int64_t, int64_t>> dims;  // (|stride|, extent)
    for (int i = 0; i < b.dimensions; i++) {
        if (b.dim[i].extent > 1) {
            dims.emplace_back(std::abs(int64_t(b.dim[i].stride)), b.dim[i].extent);
        }
    }
    std::sort(dims.begin(), dims.end());
    int64_t span = 1;
    for (const auto &[stride, extent] : dims) {
        if (stride < span) {
            fail(std::string(name) + " has overlapping strides (elements that share memory); an "
                 "output must have one memory location per element");
        }
        span += (extent - 1) * stride;
    }
}

// The bytes a host buffer's elements occupy: [first, last).
std::pair<uintptr_t, uintptr_t> byte_range(const halide_buffer_t &b) {
    int64_t low = 0, high = 0;
    for (int i = 0; i < b.dimensions; i++) {
        const int64_t reach = int64_t(b.dim[i].extent - 1) * b.dim[i].stride;
        (reach < 0 ? low : high) += reach;
    }
    const auto base = reinterpret_cast<uintptr_t>(b.host);
    const int64_t bytes = b.type.bytes();
    return {base + uintptr_t(low * bytes), base + uintptr_t((high + 1) * bytes)};
}

// An output must not share memory with an input: the kernels read inputs
// after writing outputs nearby (in place would be wrong).
void check_disjoint(const char *out_name, const halide_buffer_t &out, const char *in_name,
                    const halide_buffer_t &in) {
    if (out.host == nullptr || in.host == nullptr) {
        return;  // device memory: the caller's business
    }
    const auto [out_first, out_last] = byte_range(out);
    const auto [in_first, in_last] = byte_range(in);
    if (out_first < in_last && in_first < out_last) {
        fail(std::string(out_name) + " overlaps " + in_name +
             " in memory; the output must not share memory with an input");
    }
}

}  // namespace

PoolParams make_pool_params(double norm_type, int64_t kernel_size,
                            std::optional<int64_t> stride, bool ceil_mode) {
    if (!std::isfinite(norm_type) || !(norm_type > 0)) {
        fail("norm_type must be finite and > 0, got " + format_double(norm_type));
    }
    if (kernel_size < 1) {
        fail("kernel_size must be >= 1, got " + std::to_string(kernel_size));
    }
    int64_t s = stride.value_or(kernel_size);
    if (s < 1) {
        fail("stride must be >= 1, got " + std::to_string(s));
    }
    return PoolParams{norm_type, kernel_size, s, ceil_mode};
}

int64_t windows_for_length(const PoolParams &params, int64_t L) noexcept {
    const int64_t K = params.kernel_size, S = params.stride;
    if (L < 1) {
        return 0;
    }
    if (!params.ceil_mode) {
        return L >= K ? (L - K) / S + 1 : 0;
    }
    int64_t out = ceil_div(L - K, S) + 1;
    // Every window must start inside the input: (out - 1) * S < L, i.e.
    // out - 1 <= (L - 1) / S, written without the product.
    if (out - 1 > (L - 1) / S) {
        out = (L - 1) / S + 1;
    }
    return std::max<int64_t>(out, 0);
}

int64_t pooling_output_length(const PoolParams &params, int64_t input_length) {
    const int64_t L = input_length, K = params.kernel_size, S = params.stride;
    if (L < 1) {
        fail("input length must be >= 1, got " + std::to_string(L));
    }
    const int64_t out = windows_for_length(params, L);
    if (out < 1) {
        fail("input length " + std::to_string(L) + " is too short for kernel_size " +
             std::to_string(K) + " with stride " + std::to_string(S) +
             (params.ceil_mode ? " and ceil_mode" : "") + " (output length would be " +
             std::to_string(out) + ")");
    }
    return out;
}

int64_t check_input(const PoolParams &params, const halide_buffer_t &x) {
    check_buffer("x", x);
    return pooling_output_length(params, x.dim[0].extent);
}

void check_forward(const PoolParams &params, const halide_buffer_t &x, const halide_buffer_t &y) {
    const int64_t out = check_input(params, x);
    check_buffer("y", y);
    check_same_type("y", y, x);
    check_shape("y", y, x, out, "the pooled shape of x");
    check_writable("y", y);
    check_disjoint("y", y, "x", x);
}

void check_backward_inputs(const PoolParams &params, const halide_buffer_t &x,
                           const halide_buffer_t &y, const halide_buffer_t &grad_y) {
    check_forward(params, x, y);
    check_buffer("grad_y", grad_y);
    check_same_type("grad_y", grad_y, x);
    check_shape("grad_y", grad_y, y, y.dim[0].extent, "y");
}

void check_backward(const PoolParams &params, const halide_buffer_t &x, const halide_buffer_t &y,
                    const halide_buffer_t &grad_y, const halide_buffer_t &grad_x) {
    check_backward_inputs(params, x, y, grad_y);
    check_buffer("grad_x", grad_x);
    check_same_type("grad_x", grad_x, x);
    check_shape("grad_x", grad_x, x, x.dim[0].extent, "x");
    check_writable("grad_x", grad_x);
    check_disjoint("grad_x", grad_x, "x", x);
    check_disjoint("grad_x", grad_x, "y", y);
    check_disjoint("grad_x", grad_x, "grad_y", grad_y);
}

void check_view(int rank, const int64_t *sizes, const int64_t *strides) {
    check_rank("a tensor", rank);
    for (int i = 0; i < rank; i++) {
        if (sizes[i] < 1) {
            fail("dimension " + std::to_string(i) + " is empty (size " + std::to_string(sizes[i]) +
                 ")");
        }
        if (sizes[i] > kMaxIndex || strides[i] > kMaxIndex || strides[i] < -kMaxIndex) {
            fail("size " + std::to_string(sizes[i]) + " or stride " + std::to_string(strides[i]) +
                 " of dimension " + std::to_string(i) + " does not fit 32-bit indexing");
        }
    }
}

namespace {

// DLPack's dtype in the framework's words: "float16", "bfloat16", "int64".
std::string describe_dlpack_type(const DLDataType &t) {
    const char *code = t.code == kDLFloat     ? "float"
                       : t.code == kDLInt     ? "int"
                       : t.code == kDLUInt    ? "uint"
                       : t.code == kDLBfloat  ? "bfloat"
                       : t.code == kDLComplex ? "complex"
                                              : nullptr;
    if (code == nullptr) {
        return type_name("code " + std::to_string(t.code) + " of ", t.bits, t.lanes) + " bits";
    }
    return type_name(code, t.bits, t.lanes);
}

}  // namespace

bool check_dlpack(const DLTensor &t, const char *name) {
    const std::string what = std::string("DLPack tensor ") + name;
    if (detail::dtype_index(t.dtype) < 0) {
        fail_dtype(what + " has dtype " + describe_dlpack_type(t.dtype) + supported_dtypes());
    }
    check_rank(what, t.ndim);
    const bool on_cuda = t.device.device_type == kDLCUDA;
    if (!on_cuda && t.device.device_type != kDLCPU && t.device.device_type != kDLCUDAHost) {
        fail(what + " is on DLPack device type " + std::to_string(t.device.device_type) +
             "; only CPU (and CUDA-host) and CUDA tensors are supported");
    }
    return on_cuda;
}

bool check_dlpack_devices(std::initializer_list<const DLTensor *> tensors) {
    const DLTensor &first = **tensors.begin();
    for (const DLTensor *t : tensors) {
        if ((t->device.device_type == kDLCUDA) != (first.device.device_type == kDLCUDA) ||
            (first.device.device_type == kDLCUDA && t->device.device_id != first.device.device_id)) {
            fail("DLPack tensors must all be on the host or all on one CUDA device");
        }
    }
    return first.device.device_type == kDLCUDA;
}

void check_host_memory(std::initializer_list<std::pair<const char *, const halide_buffer_t *>> buffers) {
    for (const auto &[name, b] : buffers) {
        if (b->host == nullptr) {
            fail(std::string(name) + " has no host memory; a pool on the cpu needs host memory "
                 "(use .on(Device::cuda) for device memory)");
        }
    }
}

void check_gpu_pool(Device pool_device) {
    if (pool_device == Device::cpu) {
        fail("device handles need a pool on a GPU; use .on(Device::cuda)");
    }
}

void check_device_handle(uint64_t handle, const char *name) {
    if (handle == 0) {
        fail(std::string(name) + " has a null device handle");
    }
}

void check_device_allocation(const halide_buffer_t &b, const halide_device_interface_t *expected,
                             Device pool_device) {
    if (b.device_interface != expected) {
        fail(std::string("a buffer's device allocation does not belong to the ") +
             device_name(pool_device) + " device this pool runs on");
    }
}

void check_num_threads(int threads) {
    if (threads < 0) {
        fail("set_num_threads needs threads >= 0, got " + std::to_string(threads));
    }
}

void check_stream_params(const PoolParams &params, int channels, int64_t max_block_frames) {
    auto stream_fail = [](const std::string &message) {
        throw std::invalid_argument("LPPool1dStream: " + message);
    };
    if (channels < 1) {
        stream_fail("channels must be >= 1, got " + std::to_string(channels));
    }
    if (max_block_frames < 1) {
        stream_fail("max_block_frames must be >= 1, got " + std::to_string(max_block_frames));
    }
    const int64_t max_outputs = (max_block_frames - 1) / params.stride + 1;
    if (params.kernel_size > kMaxIndex - max_block_frames ||
        (params.kernel_size - 1 + max_block_frames) > kMaxIndex / channels ||
        max_outputs > kMaxIndex / channels) {
        stream_fail("kernel_size " + std::to_string(params.kernel_size) + " plus " +
                    std::to_string(max_block_frames) + " frames of " + std::to_string(channels) +
                    " channels does not fit 32-bit indexing");
    }
}

std::string describe_type(const halide_type_t &type) {
    const char *code = type.code == halide_type_float    ? "float"
                       : type.code == halide_type_bfloat ? "bfloat"
                       : type.code == halide_type_int    ? "int"
                       : type.code == halide_type_uint   ? "uint"
                                                         : "handle";
    return type_name(code, type.bits, type.lanes);
}

std::string describe_shape(const halide_buffer_t &b) {
    std::string s = "(";
    for (int i = b.dimensions - 1; i >= 0; i--) {
        s += std::to_string(b.dim[i].extent);
        if (i > 0) {
            s += ", ";
        }
    }
    return s + ")";
}

}  // namespace lppool
