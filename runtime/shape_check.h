// Shape logic and argument validation for LPPool1d and LPPool1dStream, in
// one place: every check of a user's parameters, tensor, descriptor, DLPack
// tensor or device pointer is here.
//
// Everything here throws std::invalid_argument with a message that names the
// argument and its value, and runs before any kernel touches memory, so bad
// input never writes anything.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "HalideRuntime.h"
#include "device.h"
#include "dlpack/dlpack.h"

namespace lppool {

// A tensor whose dtype the kernels do not take, or tensors of mixed dtypes
// (Python's binding raises it as TypeError, the other argument errors as
// ValueError).
class unsupported_dtype : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

struct PoolParams {
    double norm_type;
    int64_t kernel_size;
    int64_t stride;
    bool ceil_mode;
};

// Validates the constructor's arguments; `stride` defaults to kernel_size.
PoolParams make_pool_params(double norm_type, int64_t kernel_size,
                            std::optional<int64_t> stride, bool ceil_mode);

// Output length for an input of length L (integer arithmetic only), or 0
// when L is too short for a single window.
int64_t windows_for_length(const PoolParams &params, int64_t L) noexcept;

// Output length for an input of `input_length` (integer arithmetic only).
// Throws when the input is too short for a single window.
int64_t pooling_output_length(const PoolParams &params, int64_t input_length);

// Every extent and stride must fit halide_dimension_t's 32-bit fields; the
// offsets they combine to may exceed 2^31 (the kernels are built with
// Halide's large_buffers and index with 64 bits).
inline constexpr int64_t kMaxIndex = INT32_MAX;

// Checks the input x on its own and returns its output length.
int64_t check_input(const PoolParams &params, const halide_buffer_t &x);

// Checks x and y for a forward pass (y has the pooled shape of x).
void check_forward(const PoolParams &params, const halide_buffer_t &x, const halide_buffer_t &y);

// Checks x, y and dy of a backward pass: the forward check on (x, y), dy
// shaped like y.
void check_backward_inputs(const PoolParams &params, const halide_buffer_t &x,
                           const halide_buffer_t &y, const halide_buffer_t &grad_y);

// Checks x, y, dy and dx for a backward pass: the inputs as above, dx shaped
// like x, with one memory location per element and sharing none with the
// inputs. (Forward likewise checks that y is such an output of x.)
void check_backward(const PoolParams &params, const halide_buffer_t &x, const halide_buffer_t &y,
                    const halide_buffer_t &grad_y, const halide_buffer_t &grad_x);

// A TensorView's rank, sizes and strides (in (N, C, L) order).
void check_view(int rank, const int64_t *sizes, const int64_t *strides);

// A DLPack tensor on its own: dtype, rank and device type (its shape and
// strides are checked once it is a descriptor). True when it is on CUDA.
bool check_dlpack(const DLTensor &t, const char *name);

// The tensors of one call: all on the host, or all on one CUDA device.
// True when they are on CUDA.
bool check_dlpack_devices(std::initializer_list<const DLTensor *> tensors);

// A CPU pool's buffers must have host memory.
void check_host_memory(std::initializer_list<std::pair<const char *, const halide_buffer_t *>> buffers);

// Raw device handles need a GPU pool, and must not be null.
void check_gpu_pool(Device pool_device);
void check_device_handle(uint64_t handle, const char *name);

// A buffer's existing device allocation must be the pool's device's.
void check_device_allocation(const halide_buffer_t &b, const halide_device_interface_t *expected,
                             Device pool_device);

// set_num_threads: 0 (Halide's default, one per core) or more.
void check_num_threads(int threads);

// LPPool1dStream's own parameters (the pooling ones are make_pool_params').
void check_stream_params(const PoolParams &params, int channels, int64_t max_block_frames);

// "float32" / "float64" / a description of anything else.
std::string describe_type(const halide_type_t &type);

// "(N, C, L)" in PyTorch order.
std::string describe_shape(const halide_buffer_t &b);

}  // namespace lppool
