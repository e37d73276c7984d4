#include "device.h"

#include <mutex>
#include <stdexcept>
#include <string>

#include "device_call.h"
#include "shape_check.h"
#ifdef LPPOOL_WITH_CUDA
#include "HalideRuntimeCuda.h"
#endif
#ifdef LPPOOL_WITH_OPENCL
#include "HalideRuntimeOpenCL.h"
#endif

namespace lppool {

const char *device_name(Device device) {
    switch (device) {
    case Device::cpu: return "cpu";
    case Device::cuda: return "cuda";
    case Device::opencl: return "opencl";
    }
    return "unknown";
}

namespace detail {

const halide_device_interface_t *device_interface(Device device) {
    switch (device) {
    case Device::cpu: return nullptr;
    case Device::cuda:
#ifdef LPPOOL_WITH_CUDA
        return halide_cuda_device_interface();
#else
        return nullptr;
#endif
    case Device::opencl:
#ifdef LPPOOL_WITH_OPENCL
        return halide_opencl_device_interface();
#else
        return nullptr;
#endif
    }
    return nullptr;
}

namespace {

struct Availability {
    std::once_flag probed;
    bool available = false;
    std::string why_not;
};

// Halide's drivers report a failed start line by line (every missing entry
// point of a missing library, say); the last line says what happened.
std::string last_line(const std::string &text, const std::string &if_empty) {
    const size_t end = text.find_last_not_of("\n ");
    if (end == std::string::npos) {
        return if_empty;
    }
    const size_t newline = text.rfind('\n', end);
    const size_t start = newline == std::string::npos ? 0 : newline + 1;
    return text.substr(start, end + 1 - start);
}

// Opens the driver by allocating (and freeing) one element on the device.
void probe(Device device, Availability &a) {
    const halide_device_interface_t *iface = device_interface(device);
    if (iface == nullptr) {
        a.why_not = std::string("this build of LPPool has no ") + device_name(device) +
                    " kernels (configure with LPPOOL_" +
                    (device == Device::cuda ? "CUDA" : "OPENCL") + "=ON)";
        return;
    }
    install_error_routing();
    CallContext ctx;
    float element = 0;
    halide_dimension_t dim(0, 1, 1);
    halide_buffer_t probe_buffer{};
    probe_buffer.host = reinterpret_cast<uint8_t *>(&element);
    probe_buffer.type = halide_type_of<float>();
    probe_buffer.dimensions = 1;
    probe_buffer.dim = &dim;
    const int status = halide_device_malloc(&ctx, &probe_buffer, iface);
    if (status != 0) {
        a.why_not = std::string("no usable ") + device_name(device) + " device: " +
                    last_line(ctx.take_error(), "Halide error " + std::to_string(status));
        return;
    }
    halide_device_free(&ctx, &probe_buffer);
    a.available = true;
}

}  // namespace

void require_device(Device device) {
    std::string why_not;
    if (!device_available(device, &why_not)) {
        throw std::runtime_error(std::string("LPPool1d: ") + device_name(device) +
                                 " was asked for but cannot run: " + why_not);
    }
}

DeviceCall::DeviceCall(Device device, CallContext &ctx) : device_(device), ctx_(ctx) {}

DeviceCall::~DeviceCall() {
    for (halide_buffer_t *b : borrowed_) {
        if (b->device != 0) {
            halide_device_free(&ctx_, b);
        }
    }
}

void DeviceCall::check_device_buffer(const halide_buffer_t &b) const {
    check_device_allocation(b, device_interface(device_), device_);
}

void DeviceCall::add_input(halide_buffer_t &b) {
    if (b.device != 0) {
        check_device_buffer(b);
        return;
    }
    b.flags |= halide_buffer_flag_host_dirty;
    borrowed_.push_back(&b);
}

void DeviceCall::add_output(halide_buffer_t &b) {
    if (b.device != 0) {
        check_device_buffer(b);
        return;
    }
    borrowed_.push_back(&b);
    host_outputs_.push_back(&b);
}

void DeviceCall::copy_outputs_to_host() {
    for (halide_buffer_t *b : host_outputs_) {
        throw_on_status(halide_copy_to_host(&ctx_, b), ctx_, "copying a result to the host");
    }
}

WrappedHandles::~WrappedHandles() {
    for (halide_buffer_t *b : wrapped_) {
#ifdef LPPOOL_WITH_CUDA
        if (device_ == Device::cuda) {
            halide_cuda_detach_device_ptr(&ctx_, b);
        }
#endif
#ifdef LPPOOL_WITH_OPENCL
        if (device_ == Device::opencl) {
            halide_opencl_detach_cl_mem(&ctx_, b);
        }
#endif
        b->device = 0;
        b->device_interface = nullptr;
    }
}

void WrappedHandles::wrap(halide_buffer_t &b, uint64_t handle) {
    int status = -1;
#ifdef LPPOOL_WITH_CUDA
    if (device_ == Device::cuda) {
        status = halide_cuda_wrap_device_ptr(&ctx_, &b, handle);
    }
#endif
#ifdef LPPOOL_WITH_OPENCL
    if (device_ == Device::opencl) {
        status = halide_opencl_wrap_cl_mem(&ctx_, &b, handle);
    }
#endif
    throw_on_status(status, ctx_, std::string("wrapping a ") + device_name(device_) +
                                      " device handle");
    wrapped_.push_back(&b);
}

}  // namespace detail

bool device_available(Device device, std::string *why_not) {
    if (device == Device::cpu) {
        return true;
    }
    static detail::Availability cuda, opencl;
    detail::Availability &a = device == Device::cuda ? cuda : opencl;
    std::call_once(a.probed, [&] { detail::probe(device, a); });
    if (!a.available && why_not != nullptr) {
        *why_not = a.why_not;
    }
    return a.available;
}

}  // namespace lppool
