#include "lppool1d.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <vector>

#include "call_context.h"
#include "device_call.h"
#include "kernel_registry.h"
#include "kernel_variants.h"

namespace lppool {
namespace {

using detail::Pass;
using detail::RegisteredKernel;

template <typename Kernel, typename... Args>
void run_kernel(detail::CallContext &ctx, Kernel kernel, const char *pass, const char *variant,
                Args... args) {
    // The message is built only on failure: a string per call was a visible
    // share of a small call's time.
    if (const int status = kernel(&ctx, args...); status != 0) {
        detail::throw_on_status(status, ctx, std::string(pass) + " kernel " + variant);
    }
}

// ---------------------------------------------------------------------------
// Buffers as the kernels see them: always rank 3 (L, C, N).

// A rank-3 descriptor (copies keep their own dims).
using Rank3 = detail::RawView;

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

// Channels-last kernels need C contiguous in every buffer (and L not), and
// at least variants::kMinChannelsForChannelsLast channels.
bool is_channels_last(std::initializer_list<const halide_buffer_t *> buffers) {
    for (const halide_buffer_t *b : buffers) {
        if (b->dim[1].stride != 1 || b->dim[1].extent < variants::kMinChannelsForChannelsLast ||
            b->dim[0].stride == 1) {
            return false;
        }
    }
    return true;
}

// Whether a call with input x runs its parallel loops on the calling thread
// (variants::run_serially; GPU calls have none).
bool runs_serially(Device device, const halide_buffer_t &x) {
    return device == Device::cpu &&
           variants::run_serially(int64_t(x.number_of_elements()) * x.type.bytes());
}

// The kernels take K and S as int32. Windows never reach past L, so K and S
// beyond L behave exactly like L (the output length was already computed
// from the true values).
int32_t clamp_to_length(int64_t v, int64_t length) {
    return static_cast<int32_t>(std::min(v, length));
}

// Each row contiguous, the rows one after another (a dimension of extent 1
// may have any stride).
bool dense_rows(const halide_buffer_t &b) {
    const halide_dimension_t *d = b.dim;
    return d[0].stride == 1 && (d[1].extent == 1 || d[1].stride == d[0].extent) &&
           (d[2].extent == 1 || d[2].stride == int64_t(d[0].extent) * d[1].extent);
}

// The CPU calls variants::fold_rows runs as one long row. `views` are x,
// y, then any others (each with rows of L or of y's length). Returns whether
// it folded them.
template <size_t B>
bool fold_rows_into_one(const PoolParams &params, std::array<Rank3, B> &views) {
    const halide_buffer_t &x = views[0].buffer, &y = views[1].buffer;
    const int64_t rows = int64_t(x.dim[1].extent) * x.dim[2].extent;
    if (!variants::fold_rows(params.kernel_size, params.stride, x.dim[0].extent, y.dim[0].extent,
                             rows) ||
        !std::all_of(views.begin(), views.end(),
                     [](const Rank3 &v) { return dense_rows(v.buffer); })) {
        return false;
    }
    for (Rank3 &v : views) {
        const int32_t length = int32_t(v.dims[0].extent * rows);
        v.dims[0].extent = length;
        v.dims[1] = halide_dimension_t(0, 1, length);
        v.dims[2] = halide_dimension_t(0, 1, length);
    }
    return true;
}

// The buffers as the kernels declare them: 16-bit elements as their bit
// patterns (detail::kernel_buffer_type). Call after the kernel is chosen.
void as_kernel_buffers(std::initializer_list<halide_buffer_t *> buffers) {
    for (halide_buffer_t *b : buffers) {
        b->type = detail::kernel_buffer_type(b->type);
    }
}

// A rank-3 view's rows (C and N) as one dimension of uniform stride, if
// they are.
std::optional<halide_dimension_t> rows_as_one(const halide_buffer_t &b) {
    const halide_dimension_t &c = b.dim[1], &n = b.dim[2];
    if (n.extent == 1) {
        return c;
    }
    if (c.extent == 1) {
        return n;
    }
    if (n.stride == int64_t(c.extent) * c.stride) {
        return halide_dimension_t(0, c.extent * n.extent, c.stride);
    }
    return std::nullopt;
}

// The CPU calls variants::full_pieces cuts into pieces: `pieces` gets the
// call of the full pieces (its `outputs` windows per row) and then, where
// there is one, the call of the rest. `views` are x, y, then dy and dx for
// the backward; rows of x and dx hold L elements, those of y and dy the
// windows. Returns how many calls it made: 0 (not cut), 1 or 2.
template <size_t B>
int cut_into_pieces(const PoolParams &params, const std::array<Rank3, B> &views,
                    std::array<std::array<Rank3, B>, 2> &pieces) {
    constexpr bool backward = B == 4;
    const halide_buffer_t &x = views[0].buffer, &y = views[1].buffer;
    const int64_t K = params.kernel_size, S = params.stride;
    const int64_t rows = int64_t(x.dim[1].extent) * x.dim[2].extent;
    const variants::Pieces cut =
        variants::full_pieces(backward, K, S, y.dim[0].extent, x.dim[0].extent, rows);
    const int64_t count = cut.count, W = cut.outputs;
    if (count == 0) {
        return 0;
    }
    const int parts = cut.rest ? 2 : 1;
    std::array<halide_dimension_t, B> row_dims;
    for (size_t i = 0; i < B; i++) {
        const auto r = rows_as_one(views[i].buffer);
        // A piece's step is a dimension's stride: it must fit an int32.
        const int64_t reach = W * S * int64_t(views[i].buffer.dim[0].stride);
        if (!r || reach > INT32_MAX || reach < -int64_t(INT32_MAX)) {
            return 0;
        }
        row_dims[i] = *r;
    }
    for (size_t i = 0; i < B; i++) {
        const halide_buffer_t &b = views[i].buffer;
        const bool along_input = i == 0 || i == 3;
        // Input elements per piece: up to its last window's end, or, for
        // the backward's partition of the elements, up to the next piece.
        const int64_t span = along_input ? (backward ? W * S : (W - 1) * S + K) : W;
        const int64_t per_piece = along_input ? W * S : W;
        const int64_t step = per_piece * b.dim[0].stride;
        for (int part = 0; part < parts; part++) {
            Rank3 &v = pieces[size_t(part)][i];
            v = views[i];
            v.buffer.dim = v.dims;
            v.dims[2] = row_dims[i];
            if (part == 0) {
                v.dims[0].extent = int32_t(span);
                v.dims[1] = halide_dimension_t(0, int32_t(count), int32_t(step));
            } else {
                v.buffer.host = b.host + count * step * b.type.bytes();
                v.dims[0].extent = int32_t(b.dim[0].extent - count * per_piece);
                v.dims[1] = halide_dimension_t(0, 1, int32_t(step));
            }
        }
    }
    return parts;
}

// Runs `launch(views)` for the call, or once per part where the CPU runtime
// reshapes it (fold_rows_into_one, cut_into_pieces).
template <size_t B, typename Launch>
void launch_reshaped(const PoolParams &params, Device device, std::array<Rank3, B> views,
                     const Launch &launch) {
    if (device == Device::cpu) {
        fold_rows_into_one(params, views);
        std::array<std::array<Rank3, B>, 2> pieces;
        if (const int parts = cut_into_pieces(params, views, pieces); parts > 0) {
            for (int part = 0; part < parts; part++) {
                launch(pieces[size_t(part)]);
            }
            return;
        }
    }
    launch(views);
}

// The kernel for a call: kernel_variants.h's rules pick a line of
// schedules/kernels.def, the registry gives its kernel for this device.
const RegisteredKernel &pick_kernel(Device device, Pass pass, const halide_buffer_t &x,
                                    bool channels_last, int64_t kernel_size, int64_t stride,
                                    double p) {
    variants::Call call;
    call.gpu = device != Device::cpu;
    call.backward = pass == Pass::backward;
    call.channels_last = channels_last;
    call.kernel_size = kernel_size;
    call.stride = stride;
    call.p = p;
    call.element_bytes = detail::compute_bytes(x.type);
    call.gpu_staging_tile = detail::staging_tile_outputs(device, detail::dtype_index(x.type));
    return detail::registered_kernel(device, pass, variants::kernel_variant(call));
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
    check_num_threads(threads);
    halide_set_num_threads(threads);
}

LPPool1d::LPPool1d(double norm_type, int64_t kernel_size, std::optional<int64_t> stride,
                   bool ceil_mode)
    : params_(make_pool_params(norm_type, kernel_size, stride, ceil_mode)) {
    detail::install_error_routing();
    detail::install_kernel_hooks();
}

LPPool1d LPPool1d::on(Device device) const {
    if (device != Device::cpu) {
        detail::require_device(device);
    }
    LPPool1d moved = *this;
    moved.device_ = device;
    return moved;
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
    if (device_ == Device::cpu) {
        check_host_memory({{"x", &x}, {"y", &y}});
    }
    launch_reshaped(params_, device_, std::array<Rank3, 2>{as_rank3(x), as_rank3(y)},
                    [&](std::array<Rank3, 2> &v) { launch_forward(v[0].buffer, v[1].buffer); });
}

void LPPool1d::backward_raw(const halide_buffer_t &x, const halide_buffer_t &y,
                            const halide_buffer_t &grad_y, const halide_buffer_t &grad_x) const {
    check_backward(params_, x, y, grad_y, grad_x);
    if (device_ == Device::cpu) {
        check_host_memory({{"x", &x}, {"y", &y}, {"grad_y", &grad_y}, {"grad_x", &grad_x}});
    }
    launch_reshaped(params_, device_,
                    std::array<Rank3, 4>{as_rank3(x), as_rank3(y), as_rank3(grad_y),
                                         as_rank3(grad_x)},
                    [&](std::array<Rank3, 4> &v) {
                        launch_backward(v[0].buffer, v[1].buffer, v[2].buffer, v[3].buffer);
                    });
}

namespace {

// A descriptor of device memory as check_forward/check_backward see it
// once wrapped: no host pointer, a device allocation.
halide_buffer_t as_device_descriptor(const halide_buffer_t &b, uint64_t handle, const char *name) {
    check_device_handle(handle, name);
    halide_buffer_t d = b;
    d.host = nullptr;
    d.device = handle;
    return d;
}

// Rank-3 view of a device descriptor, ready to wrap (device cleared).
Rank3 unwrapped_rank3(const halide_buffer_t &descriptor) {
    Rank3 r = as_rank3(descriptor);
    r.buffer.device = 0;
    r.buffer.device_interface = nullptr;
    r.buffer.flags = 0;
    return r;
}

}  // namespace

void LPPool1d::forward_device_raw(const halide_buffer_t &x, uint64_t x_handle,
                                  const halide_buffer_t &y, uint64_t y_handle) const {
    check_gpu_pool(device_);
    const halide_buffer_t dx = as_device_descriptor(x, x_handle, "x");
    const halide_buffer_t dy = as_device_descriptor(y, y_handle, "y");
    check_forward(params_, dx, dy);
    Rank3 x3 = unwrapped_rank3(dx), y3 = unwrapped_rank3(dy);
    detail::CallContext ctx;
    detail::WrappedHandles handles(device_, ctx);
    handles.wrap(x3.buffer, x_handle);
    handles.wrap(y3.buffer, y_handle);
    launch_forward(x3.buffer, y3.buffer);
}

void LPPool1d::backward_device_raw(const halide_buffer_t &x, uint64_t x_handle,
                                   const halide_buffer_t &y, uint64_t y_handle,
                                   const halide_buffer_t &grad_y, uint64_t grad_y_handle,
                                   const halide_buffer_t &grad_x, uint64_t grad_x_handle) const {
    check_gpu_pool(device_);
    const halide_buffer_t dx = as_device_descriptor(x, x_handle, "x");
    const halide_buffer_t dy = as_device_descriptor(y, y_handle, "y");
    const halide_buffer_t ddy = as_device_descriptor(grad_y, grad_y_handle, "grad_y");
    const halide_buffer_t ddx = as_device_descriptor(grad_x, grad_x_handle, "grad_x");
    check_backward(params_, dx, dy, ddy, ddx);
    Rank3 x3 = unwrapped_rank3(dx), y3 = unwrapped_rank3(dy), dy3 = unwrapped_rank3(ddy),
          dx3 = unwrapped_rank3(ddx);
    detail::CallContext ctx;
    detail::WrappedHandles handles(device_, ctx);
    handles.wrap(x3.buffer, x_handle);
    handles.wrap(y3.buffer, y_handle);
    handles.wrap(dy3.buffer, grad_y_handle);
    handles.wrap(dx3.buffer, grad_x_handle);
    launch_backward(x3.buffer, y3.buffer, dy3.buffer, dx3.buffer);
}

namespace {

// A GPU call's transfers (none on the CPU), started in `transfers`.
void start_transfers(std::optional<detail::DeviceCall> &transfers, Device device,
                     detail::CallContext &ctx, std::initializer_list<halide_buffer_t *> inputs,
                     halide_buffer_t &output) {
    if (device == Device::cpu) {
        return;
    }
    transfers.emplace(device, ctx);
    for (halide_buffer_t *b : inputs) {
        transfers->add_input(*b);
    }
    transfers->add_output(output);
}

}  // namespace

void LPPool1d::launch_forward(halide_buffer_t &x3, halide_buffer_t &y3) const {
    const RegisteredKernel &k =
        pick_kernel(device_, Pass::forward, x3, is_channels_last({&x3, &y3}),
                    params_.kernel_size, params_.stride, params_.norm_type);
    const int dtype = detail::dtype_index(x3.type);
    const int64_t length = x3.dim[0].extent;
    as_kernel_buffers({&x3, &y3});
    detail::CallContext ctx;
    ctx.run_serially = runs_serially(device_, x3);
    std::optional<detail::DeviceCall> transfers;
    start_transfers(transfers, device_, ctx, {&x3}, y3);
    run_kernel(ctx, k.forward[dtype], "forward", k.name[dtype], &x3, params_.norm_type,
               clamp_to_length(params_.kernel_size, length),
               clamp_to_length(params_.stride, length), &y3);
    if (transfers) {
        transfers->copy_outputs_to_host();
    }
}

namespace {

// A DLTensor as a descriptor: host tensors keep their pointer; CUDA tensors
// get host = null and their device pointer as the handle.
struct DLView {
    detail::RawView view;
    uint64_t device_handle = 0;
    bool on_cuda = false;
};

DLView from_dlpack(const DLTensor &t, const char *name) {
    const bool on_cuda = check_dlpack(t, name);
    TensorView<float> v;  // the element type is fixed below from the dtype
    v.rank = t.ndim;
    int64_t compact = 1;
    for (int i = t.ndim - 1; i >= 0; i--) {
        v.sizes[size_t(i)] = t.shape[i];
        v.strides[size_t(i)] = t.strides != nullptr ? t.strides[i] : compact;
        compact *= t.shape[i];
    }
    char *data = static_cast<char *>(t.data);
    v.data = data == nullptr ? nullptr : reinterpret_cast<float *>(data + t.byte_offset);
    DLView out{detail::to_raw(v), 0, on_cuda};
    const detail::DtypeEntry &dtype = detail::kDtypes[detail::dtype_index(t.dtype)];  // checked
    out.view.buffer.type = halide_type_t(dtype.code, uint8_t(dtype.bits));
    if (on_cuda) {
        out.device_handle = reinterpret_cast<uint64_t>(out.view.buffer.host);
        out.view.buffer.host = nullptr;
    }
    return out;
}

}  // namespace

std::vector<int64_t> LPPool1d::output_shape(const DLTensor &x) const {
    const DLView dx = from_dlpack(x, "x");
    halide_buffer_t descriptor = dx.view.buffer;
    if (dx.on_cuda) {
        descriptor.device = dx.device_handle;  // checked as device memory
    }
    std::vector<int64_t> shape(x.shape, x.shape + x.ndim);
    shape.back() = check_input(params_, descriptor);
    return shape;
}

void LPPool1d::forward(const DLTensor &x, const DLTensor &y) const {
    const bool cuda = check_dlpack_devices({&x, &y});
    const DLView dx = from_dlpack(x, "x"), dy = from_dlpack(y, "y");
    if (!cuda) {
        forward_raw(dx.view.buffer, dy.view.buffer);
        return;
    }
    const LPPool1d &pool = device_ == Device::cuda ? *this : on(Device::cuda);
    pool.forward_device_raw(dx.view.buffer, dx.device_handle, dy.view.buffer, dy.device_handle);
}

void LPPool1d::backward(const DLTensor &x, const DLTensor &y, const DLTensor &grad_y,
                        const DLTensor &grad_x) const {
    const bool cuda = check_dlpack_devices({&x, &y, &grad_y, &grad_x});
    const DLView dx = from_dlpack(x, "x"), dy = from_dlpack(y, "y"),
                 ddy = from_dlpack(grad_y, "grad_y"), ddx = from_dlpack(grad_x, "grad_x");
    if (!cuda) {
        backward_raw(dx.view.buffer, dy.view.buffer, ddy.view.buffer, ddx.view.buffer);
        return;
    }
    const LPPool1d &pool = device_ == Device::cuda ? *this : on(Device::cuda);
    pool.backward_device_raw(dx.view.buffer, dx.device_handle, dy.view.buffer, dy.device_handle,
                             ddy.view.buffer, ddy.device_handle, ddx.view.buffer,
                             ddx.device_handle);
}

namespace detail {

int run_cpu_forward(const PoolParams &params, halide_buffer_t &x3, halide_buffer_t &y3,
                    CallContext &ctx) noexcept {
    const RegisteredKernel &k =
        pick_kernel(Device::cpu, Pass::forward, x3, is_channels_last({&x3, &y3}),
                    params.kernel_size, params.stride, params.norm_type);
    const int64_t length = x3.dim[0].extent;
    const int dtype = detail::dtype_index(x3.type);
    as_kernel_buffers({&x3, &y3});
    return k.forward[dtype](&ctx, &x3, params.norm_type, clamp_to_length(params.kernel_size, length),
                            clamp_to_length(params.stride, length), &y3);
}

}  // namespace detail

void LPPool1d::launch_backward(halide_buffer_t &x3, halide_buffer_t &y3, halide_buffer_t &dy3,
                               halide_buffer_t &dx3) const {
    const RegisteredKernel &k =
        pick_kernel(device_, Pass::backward, x3, is_channels_last({&x3, &y3, &dy3, &dx3}),
                    params_.kernel_size, params_.stride, params_.norm_type);
    const int dtype = detail::dtype_index(x3.type);
    const int64_t length = x3.dim[0].extent;
    as_kernel_buffers({&x3, &y3, &dy3, &dx3});
    detail::CallContext ctx;
    ctx.run_serially = runs_serially(device_, x3);
    std::optional<detail::DeviceCall> transfers;
    start_transfers(transfers, device_, ctx, {&x3, &y3, &dy3}, dx3);
    run_kernel(ctx, k.backward[dtype], "backward", k.name[dtype], &x3, &y3, &dy3, params_.norm_type,
               clamp_to_length(params_.kernel_size, length),
               clamp_to_length(params_.stride, length), &dx3);
    if (transfers) {
        transfers->copy_outputs_to_host();
    }
}

namespace detail {

template <typename T>
RawView to_raw(const TensorView<T> &v) {
    RawView r;
    check_view(v.rank, v.sizes.data(), v.strides.data());
    for (int i = 0; i < v.rank; i++) {
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

#define LPPOOL_INSTANTIATE_VIEWS(T)                       \
    template RawView to_raw(const TensorView<T> &);       \
    template RawView to_raw(const TensorView<const T> &); \
    template Halide::Runtime::Buffer<T> allocate_like(const halide_buffer_t &, int64_t);
LPPOOL_INSTANTIATE_VIEWS(float)
LPPOOL_INSTANTIATE_VIEWS(double)
LPPOOL_INSTANTIATE_VIEWS(float16)
LPPOOL_INSTANTIATE_VIEWS(bfloat16)
#undef LPPOOL_INSTANTIATE_VIEWS

}  // namespace detail
}  // namespace lppool
