// Moving buffers to and from a GPU around one kernel call (internal to
// runtime/).
#pragma once

#include <cstdint>
#include <vector>

#include "HalideRuntime.h"
#include "call_context.h"
#include "device.h"

namespace lppool::detail {

// The Halide device interface of a GPU device (nullptr for the CPU).
const halide_device_interface_t *device_interface(Device device);

// Throws std::runtime_error saying why when `device` cannot run kernels.
void require_device(Device device);

// One GPU kernel call's buffers. A host-only buffer is copied to the device
// by the kernel itself; this object copies host-only outputs back afterwards
// and frees every device copy it caused, even when the call throws. A buffer
// that already has a device allocation (the zero-copy path) must belong to
// `device` and stays where it is.
class DeviceCall {
public:
    DeviceCall(Device device, CallContext &ctx);
    ~DeviceCall();
    DeviceCall(const DeviceCall &) = delete;
    DeviceCall &operator=(const DeviceCall &) = delete;

    void add_input(halide_buffer_t &b);
    void add_output(halide_buffer_t &b);
    // After the kernel: host-only outputs get their results.
    void copy_outputs_to_host();

private:
    void check_device_buffer(const halide_buffer_t &b) const;

    Device device_;
    CallContext &ctx_;
    std::vector<halide_buffer_t *> borrowed_;      // device copies we made
    std::vector<halide_buffer_t *> host_outputs_;  // to copy back
};

// Device handles (a CUdeviceptr, a cl_mem) attached to halide_buffer_t
// descriptors for one call, and detached from them afterwards.
class WrappedHandles {
public:
    WrappedHandles(Device device, CallContext &ctx) : device_(device), ctx_(ctx) {}
    ~WrappedHandles();
    WrappedHandles(const WrappedHandles &) = delete;
    WrappedHandles &operator=(const WrappedHandles &) = delete;

    void wrap(halide_buffer_t &b, uint64_t handle);

private:
    Device device_;
    CallContext &ctx_;
    std::vector<halide_buffer_t *> wrapped_;
};

}  // namespace lppool::detail
