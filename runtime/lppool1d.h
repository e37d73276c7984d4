// LPPool1d: 1-D power-average pooling, forward and backward, on AOT-compiled
// Halide kernels.
//
//     y[n, c, j] = ( sum_{k < K} |x[n, c, j*S + k]|^p )^(1/p)
//
// Tensors are (N, C, L) or (C, L) in PyTorch's order. Two ways to pass them:
//  - Halide::Runtime::Buffer<T> (Halide's order, dim 0 = L), any strides;
//  - TensorView<T>: a pointer with sizes and element strides in (N, C, L)
//    order, for callers that do not use Halide types.
// DLTensor (DLPack) is accepted as well, for tensors from other frameworks.
// T is float, double, lppool::float16 or lppool::bfloat16 (half_float.h;
// the 16-bit types are computed in float32 and rounded once on store), the
// same for every tensor of a call. Invalid arguments throw std::invalid_argument and
// write nothing; a failure inside a kernel throws std::runtime_error with
// Halide's message.
//
// Kernels run on the CPU unless the pool is moved with on(Device::cuda) (or
// Device::opencl). On a GPU, host buffers are copied in and results copied
// back; buffers that already have a device allocation (halide_buffer_t with
// `device` set) and the *_device entry points (raw CUdeviceptr / cl_mem
// handles) stay on the device, without copies.
//
// Thread safety: a constructed LPPool1d is immutable; its const methods may
// be called from any number of threads at once. Kernels run on Halide's
// thread pool (one worker per core unless set_num_threads says otherwise).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "HalideBuffer.h"
#include "device.h"
#include "dlpack/dlpack.h"
#include "half_float.h"
#include "shape_check.h"

namespace lppool {

// A strided view of a rank-2 (C, L) or rank-3 (N, C, L) tensor. Strides are
// in elements. Only the first `rank` entries of sizes/strides are used.
template <typename T>
struct TensorView {
    T *data = nullptr;
    int rank = 3;
    std::array<int64_t, 3> sizes{};
    std::array<int64_t, 3> strides{};
};

// A contiguous (row-major, L innermost) view of `data` with the given sizes.
template <typename T>
TensorView<T> contiguous_view(T *data, std::initializer_list<int64_t> sizes) {
    TensorView<T> v;
    v.data = data;
    v.rank = static_cast<int>(sizes.size());
    int i = 0;
    for (int64_t s : sizes) {
        if (i < 3) {
            v.sizes[i] = s;
        }
        i++;
    }
    int64_t stride = 1;
    for (int d = std::min(v.rank, 3) - 1; d >= 0; d--) {
        v.strides[d] = stride;
        stride *= v.sizes[d];
    }
    return v;
}

// Sets the number of threads Halide's pool uses for every kernel (0: one per
// core). Halide 14 never retires worker threads it has started: lowering the
// count takes effect only if set before the first kernel call (or through the
// HL_NUM_THREADS environment variable); raising it works at any time.
void set_num_threads(int threads);

// A parallel loop of the host's: loop(n, body, state) calls body(state, i)
// once for each i in [0, n), on any threads, and returns when every call has
// returned.
using ParallelLoop = void (*)(int n, void (*body)(void *state, int i), void *state);

// Runs the kernels' parallel loops on `loop` instead of Halide's thread pool
// (nullptr: back to Halide's pool), process-wide; set it between calls. For
// hosts with their own pool: PyTorch's OpenMP threads spin for a while after
// each operation, so a second pool beside them gets a share of the cores.
// set_num_threads then no longer applies; the host's loop decides.
void set_parallel_loop(ParallelLoop loop);

class LPPool1d {
public:
    // norm_type p must be finite and > 0; kernel_size >= 1; stride >= 1
    // (default: kernel_size). ceil_mode keeps a partial last window, pooled
    // over its in-bounds elements only.
    LPPool1d(double norm_type, int64_t kernel_size, std::optional<int64_t> stride = std::nullopt,
             bool ceil_mode = false);

    double norm_type() const { return params_.norm_type; }
    int64_t kernel_size() const { return params_.kernel_size; }
    int64_t stride() const { return params_.stride; }
    bool ceil_mode() const { return params_.ceil_mode; }

    // The same pool on another device. Throws std::runtime_error saying why
    // when that device cannot run kernels (no driver, no device, not built).
    LPPool1d on(Device device) const;
    Device device() const { return device_; }

    // Output length for an input of length L; throws if L is too short.
    int64_t output_length(int64_t input_length) const;

    // "norm_type=2.0, kernel_size=4, stride=4, ceil_mode=False", as PyTorch prints it.
    std::string extra_repr() const;

    // Forward into a new buffer of the pooled shape. The new buffer keeps the
    // input's layout: channels-last input gives channels-last output.
    template <typename T>
    Halide::Runtime::Buffer<std::remove_const_t<T>> forward(
        const Halide::Runtime::Buffer<T> &x) const;

    // Forward into a caller-provided buffer (any strides) of the pooled shape.
    template <typename T, typename U>
    void forward(const Halide::Runtime::Buffer<T> &x, const Halide::Runtime::Buffer<U> &y) const;

    template <typename T, typename U>
    void forward(const TensorView<T> &x, const TensorView<U> &y) const;

    // Backward: given x, the forward result y and dL/dy, returns dL/dx.
    template <typename T, typename U, typename V>
    Halide::Runtime::Buffer<std::remove_const_t<T>> backward(
        const Halide::Runtime::Buffer<T> &x, const Halide::Runtime::Buffer<U> &y,
        const Halide::Runtime::Buffer<V> &grad_y) const;

    template <typename T, typename U, typename V, typename W>
    void backward(const Halide::Runtime::Buffer<T> &x, const Halide::Runtime::Buffer<U> &y,
                  const Halide::Runtime::Buffer<V> &grad_y,
                  const Halide::Runtime::Buffer<W> &grad_x) const;

    template <typename T, typename U, typename V, typename W>
    void backward(const TensorView<T> &x, const TensorView<U> &y, const TensorView<V> &grad_y,
                  const TensorView<W> &grad_x) const;

    // DLPack tensors (PyTorch, NumPy, CuPy, JAX...), (N, C, L) or (C, L), any
    // strides, float32/float64/float16/bfloat16, without copies. CPU tensors run on this
    // pool's device; CUDA tensors (all of them on one device) run on CUDA
    // even from a CPU pool. Other dtypes or devices throw
    // std::invalid_argument (lppool::unsupported_dtype for a dtype).
    void forward(const DLTensor &x, const DLTensor &y) const;
    void backward(const DLTensor &x, const DLTensor &y, const DLTensor &grad_y,
                  const DLTensor &grad_x) const;
    // The shape forward's y must have for this x, in x's (N, C, L) or (C, L)
    // order, after the checks forward makes of x: for allocating y.
    std::vector<int64_t> output_shape(const DLTensor &x) const;

    // Untyped entry points: the dtype is read from each halide_buffer_t, so
    // unsupported dtypes are reported here rather than at compile time.
    void forward_raw(const halide_buffer_t &x, const halide_buffer_t &y) const;
    void backward_raw(const halide_buffer_t &x, const halide_buffer_t &y,
                      const halide_buffer_t &grad_y, const halide_buffer_t &grad_x) const;

    // Zero-copy GPU entry points for memory the caller already has on this
    // pool's device: each view's `data` is a device handle (a CUdeviceptr
    // for CUDA, a cl_mem for OpenCL) cast to a pointer; sizes and strides
    // are as for host views. Results stay on the device; the kernels run on
    // the device's default stream / queue, so later work there sees them.
    template <typename T, typename U>
    void forward_device(const TensorView<T> &x, const TensorView<U> &y) const;
    template <typename T, typename U, typename V, typename W>
    void backward_device(const TensorView<T> &x, const TensorView<U> &y,
                         const TensorView<V> &grad_y, const TensorView<W> &grad_x) const;
    // The same with halide_buffer_t descriptors (host null) and handles.
    void forward_device_raw(const halide_buffer_t &x, uint64_t x_handle, const halide_buffer_t &y,
                            uint64_t y_handle) const;
    void backward_device_raw(const halide_buffer_t &x, uint64_t x_handle,
                             const halide_buffer_t &y, uint64_t y_handle,
                             const halide_buffer_t &grad_y, uint64_t grad_y_handle,
                             const halide_buffer_t &grad_x, uint64_t grad_x_handle) const;

private:
    // Rank-3 views in; runs the kernel for this pool's device.
    void launch_forward(halide_buffer_t &x3, halide_buffer_t &y3) const;
    void launch_backward(halide_buffer_t &x3, halide_buffer_t &y3, halide_buffer_t &dy3,
                         halide_buffer_t &dx3) const;

    PoolParams params_;
    Device device_ = Device::cpu;
};

// ---------------------------------------------------------------------------
// Template definitions: thin adapters onto forward_raw / backward_raw.

namespace detail {

// A halide_buffer_t describing a TensorView, with dimensions reversed into
// Halide's innermost-first order. Rank 2 stays rank 2. Copies keep
// `buffer.dim` pointing at their own `dims`.
struct RawView {
    halide_buffer_t buffer{};
    halide_dimension_t dims[3]{};

    RawView() = default;
    RawView(const RawView &other) : buffer(other.buffer) { copy_dims(other); }
    RawView &operator=(const RawView &other) {
        buffer = other.buffer;
        copy_dims(other);
        return *this;
    }

private:
    void copy_dims(const RawView &other) {
        for (int i = 0; i < 3; i++) {
            dims[i] = other.dims[i];
        }
        buffer.dim = dims;
    }
};

template <typename T>
RawView to_raw(const TensorView<T> &v);

// Allocates a buffer shaped like `like` with dim 0 = `length`, in the same
// memory order as `like` (so channels-last stays channels-last).
template <typename T>
Halide::Runtime::Buffer<T> allocate_like(const halide_buffer_t &like, int64_t length);

// A device view: the descriptor of `v` with its data pointer taken as the
// device handle.
struct DeviceView {
    RawView view;
    uint64_t handle = 0;
};

template <typename T>
DeviceView to_device_view(const TensorView<T> &v) {
    DeviceView d{to_raw(v), 0};
    d.handle = reinterpret_cast<uint64_t>(d.view.buffer.host);
    d.view.buffer.host = nullptr;
    return d;
}

template <typename T>
void require_float_type() {
    using E = std::remove_const_t<T>;
    static_assert(std::is_same_v<E, float> || std::is_same_v<E, double> ||
                      std::is_same_v<E, float16> || std::is_same_v<E, bfloat16>,
                  "LPPool1d supports float, double, lppool::float16 and lppool::bfloat16 tensors");
}

}  // namespace detail

template <typename T>
Halide::Runtime::Buffer<std::remove_const_t<T>> LPPool1d::forward(
    const Halide::Runtime::Buffer<T> &x) const {
    detail::require_float_type<T>();
    const halide_buffer_t &raw_x = *x.raw_buffer();
    const int64_t out_length = check_input(params_, raw_x);
    auto y = detail::allocate_like<std::remove_const_t<T>>(raw_x, out_length);
    forward_raw(raw_x, *y.raw_buffer());
    return y;
}

template <typename T, typename U>
void LPPool1d::forward(const Halide::Runtime::Buffer<T> &x,
                       const Halide::Runtime::Buffer<U> &y) const {
    detail::require_float_type<T>();
    detail::require_float_type<U>();
    forward_raw(*x.raw_buffer(), *y.raw_buffer());
}

template <typename T, typename U>
void LPPool1d::forward(const TensorView<T> &x, const TensorView<U> &y) const {
    detail::require_float_type<T>();
    detail::require_float_type<U>();
    const detail::RawView raw[] = {detail::to_raw(x), detail::to_raw(y)};
    forward_raw(raw[0].buffer, raw[1].buffer);
}

template <typename T, typename U, typename V>
Halide::Runtime::Buffer<std::remove_const_t<T>> LPPool1d::backward(
    const Halide::Runtime::Buffer<T> &x, const Halide::Runtime::Buffer<U> &y,
    const Halide::Runtime::Buffer<V> &grad_y) const {
    detail::require_float_type<T>();
    const halide_buffer_t &raw_x = *x.raw_buffer();
    // Everything but grad_x, which is allocated below with x's shape.
    check_backward_inputs(params_, raw_x, *y.raw_buffer(), *grad_y.raw_buffer());
    auto grad_x = detail::allocate_like<std::remove_const_t<T>>(raw_x, raw_x.dim[0].extent);
    backward_raw(raw_x, *y.raw_buffer(), *grad_y.raw_buffer(), *grad_x.raw_buffer());
    return grad_x;
}

template <typename T, typename U, typename V, typename W>
void LPPool1d::backward(const Halide::Runtime::Buffer<T> &x, const Halide::Runtime::Buffer<U> &y,
                        const Halide::Runtime::Buffer<V> &grad_y,
                        const Halide::Runtime::Buffer<W> &grad_x) const {
    detail::require_float_type<W>();
    backward_raw(*x.raw_buffer(), *y.raw_buffer(), *grad_y.raw_buffer(), *grad_x.raw_buffer());
}

template <typename T, typename U, typename V, typename W>
void LPPool1d::backward(const TensorView<T> &x, const TensorView<U> &y,
                        const TensorView<V> &grad_y, const TensorView<W> &grad_x) const {
    detail::require_float_type<W>();
    // A braced list converts (and checks) in order: x's errors first.
    const detail::RawView raw[] = {detail::to_raw(x), detail::to_raw(y), detail::to_raw(grad_y),
                                   detail::to_raw(grad_x)};
    backward_raw(raw[0].buffer, raw[1].buffer, raw[2].buffer, raw[3].buffer);
}

template <typename T, typename U>
void LPPool1d::forward_device(const TensorView<T> &x, const TensorView<U> &y) const {
    detail::require_float_type<T>();
    detail::require_float_type<U>();
    auto dx = detail::to_device_view(x);
    auto dy = detail::to_device_view(y);
    forward_device_raw(dx.view.buffer, dx.handle, dy.view.buffer, dy.handle);
}

template <typename T, typename U, typename V, typename W>
void LPPool1d::backward_device(const TensorView<T> &x, const TensorView<U> &y,
                               const TensorView<V> &grad_y, const TensorView<W> &grad_x) const {
    detail::require_float_type<W>();
    auto dx = detail::to_device_view(x);
    auto dy = detail::to_device_view(y);
    auto ddy = detail::to_device_view(grad_y);
    auto ddx = detail::to_device_view(grad_x);
    backward_device_raw(dx.view.buffer, dx.handle, dy.view.buffer, dy.handle, ddy.view.buffer,
                        ddy.handle, ddx.view.buffer, ddx.handle);
}

}  // namespace lppool
