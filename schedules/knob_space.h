// The tunable schedule knobs (tunable_knobs.def) as C++: their specs, and
// the macros that expand one declaration or statement per knob, so the
// schedules' knob structs, the generators' GeneratorParams and lppool-tune's
// configs all come from the .def's lines.
#pragma once

#include <cstddef>

namespace lppool {

struct KnobSpec {
    const char *name;
    bool is_bool;
    int default_value, min_value, max_value;
    const char *candidates;  // space-separated values lppool-tune tries
};

namespace knob {
#define LPPOOL_KNOB(schedule, name, kind, def, lo, hi, values) \
    inline constexpr KnobSpec name{#name, sizeof(#kind) == sizeof("bool"), def, lo, hi, values};
#include "tunable_knobs.def"
#undef LPPOOL_KNOB
}  // namespace knob

inline constexpr KnobSpec kAllKnobs[] = {
#define LPPOOL_KNOB(schedule, name, kind, def, lo, hi, values) knob::name,
#include "tunable_knobs.def"
#undef LPPOOL_KNOB
};

}  // namespace lppool

// LPPOOL_KNOB_IF_<schedule>_<wanted>(code): `code` for a knob of the wanted
// schedule, nothing for the others (CpuKnobs and GpuKnobs define their
// fields with it).
#define LPPOOL_KNOB_IF_cpu_cpu(...) __VA_ARGS__
#define LPPOOL_KNOB_IF_cpu_gpu(...)
#define LPPOOL_KNOB_IF_gpu_cpu(...)
#define LPPOOL_KNOB_IF_gpu_gpu(...) __VA_ARGS__
