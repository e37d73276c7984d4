// lppool-tune: candidates (a value for each searched knob) and the kernel
// configurations they stand for.
#pragma once

#include "tune_shapes.h"

namespace lppool_tune {

// Candidates: a value for each searched knob.

using Candidate = std::map<std::string, int>;

// The knob named `name` in tunable_knobs.def, or nullptr.
inline const KnobSpec *find_knob(const std::string &name) {
    for (const KnobSpec &spec : lppool::kAllKnobs) {
        if (name == spec.name) {
            return &spec;
        }
    }
    return nullptr;
}

inline const KnobSpec &knob_spec(const std::string &name) {
    const KnobSpec *spec = find_knob(name);
    if (!spec) {
        throw std::logic_error("no knob named " + name);
    }
    return *spec;
}

// "vector_multiple, chunk_outputs, ...": every knob, for error messages.
inline std::string knob_names() {
    std::string names;
    for (const KnobSpec &spec : lppool::kAllKnobs) {
        names += (names.empty() ? "" : ", ") + std::string(spec.name);
    }
    return names;
}

inline std::vector<int> candidate_values(const KnobSpec &spec) {
    std::vector<int> values;
    std::stringstream in(spec.candidates);
    for (int v; in >> v;) {
        values.push_back(v);
    }
    return values;
}

inline Candidate default_candidate(const std::vector<KnobSpec> &knobs) {
    Candidate c;
    for (const KnobSpec &k : knobs) {
        c[k.name] = k.default_value;
    }
    return c;
}

inline std::string describe(const Candidate &c) {
    std::string s;
    for (const auto &[name, value] : c) {
        s += (s.empty() ? "" : " ") + name + "=" + std::to_string(value);
    }
    return s;
}

// A knob's value in a candidate: the default where the candidate leaves it.
inline int knob_value(const Candidate &c, const KnobSpec &spec) {
    auto it = c.find(spec.name);
    return it == c.end() ? spec.default_value : it->second;
}

inline KernelConfig config_for(const KernelKind &kind, const Candidate &c) {
    KernelConfig config;
    auto value = [&](const KnobSpec &spec) { return knob_value(c, spec); };
#define LPPOOL_KNOB(schedule, name, kind, def, lo, hi, values) \
    config.schedule.name = static_cast<kind>(value(lppool::knob::name));
#include "tunable_knobs.def"
#undef LPPOOL_KNOB
    // Then the kernel's own parameters, which no candidate sets
    // (searched_knobs): the AOT build compiles it with both.
    lppool::apply_kernel_params(config, kind.params);
    return config;
}

// A staged GPU candidate must stage every shape it serves (the runtime sends
// spans that do not fit to the unstaged kernel).
inline bool serves_all(const KernelKind &kind, const Candidate &c, const std::vector<TuneShape> &shapes,
                Device device) {
    if (device == Device::cpu || kind.backward || kind.layout() != Layout::Rows || kind.unstaged()) {
        return true;
    }
    const int tile = c.at(lppool::knob::gpu_tile_outputs.name);
    return std::all_of(shapes.begin(), shapes.end(), [&](const TuneShape &s) {
        return lppool::variants::fits_gpu_staging(tile, s.K, s.S, s.f64 ? 8 : 4);
    });
}

}  // namespace lppool_tune
