// Where LPPool1d runs its kernels.
//
// The CPU is the default. CUDA runs the same algorithm with a GPU schedule;
// OpenCL runs that GPU schedule too (CI proves it on PoCL, a CPU OpenCL
// driver). A GPU's driver is opened at run time, the first time it is used:
// nothing links against it.
#pragma once

#include <string>

namespace lppool {

enum class Device { cpu, cuda, opencl };

// "cpu", "cuda", "opencl".
const char *device_name(Device device);

// Whether this library was built with the kernels for `device` and its
// driver finds a device. When not, `why_not` (if given) receives the reason.
// The first call for a GPU opens its driver; the answer is then remembered.
bool device_available(Device device, std::string *why_not = nullptr);

}  // namespace lppool
