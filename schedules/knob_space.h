// The tunable schedule knobs (tunable_knobs.def) as C++ constants: what the
// generators declare as GeneratorParams and what lppool-tune searches.
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
#define LPPOOL_KNOB(name, kind, def, lo, hi, values) \
    inline constexpr KnobSpec name{#name, sizeof(#kind) == sizeof("bool"), def, lo, hi, values};
#include "tunable_knobs.def"
#undef LPPOOL_KNOB
}  // namespace knob

inline constexpr KnobSpec kAllKnobs[] = {
#define LPPOOL_KNOB(name, kind, def, lo, hi, values) knob::name,
#include "tunable_knobs.def"
#undef LPPOOL_KNOB
};

}  // namespace lppool
