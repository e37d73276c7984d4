// The generator parameters of schedules/kernels.def's lines by name: the
// generators' GeneratorParams read them, and lppool-tune applies a line's
// parameters to its JIT configuration the same way, so a tuned kernel is
// compiled as the build compiles it.
#pragma once

#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "lppool1d_pipeline.h"

namespace lppool {

inline const std::map<std::string, Layout> kLayoutNames = {
    {"rows", Layout::Rows},
    {"channels_last", Layout::ChannelsLast},
    {"contiguous", Layout::Contiguous},
};

inline const std::map<std::string, WindowVectorization> kWindowVectorizationNames = {
    {"across_outputs", WindowVectorization::AcrossOutputs},
    {"along_window", WindowVectorization::AlongWindow},
};

inline const std::map<std::string, SpecializedPowers> kSpecializedPowersNames = {
    {"all", SpecializedPowers::All},
    {"exact", SpecializedPowers::Exact},
    {"general", SpecializedPowers::General},
};

// One line of kernels.def.
struct RegistryLine {
    const char *schedule;  // "cpu" or "gpu"
    const char *pass;      // "forward" or "backward"
    const char *variant;
    const char *params;  // "key=value ..." generator parameters
};

inline constexpr RegistryLine kRegistryLines[] = {
#define LPPOOL_KERNEL(schedule, pass, variant, params) {#schedule, #pass, #variant, params},
#include "kernels.def"
#undef LPPOOL_KERNEL
};

// Sets config's fields from "key=value ..." as the generators' GeneratorParams
// would: layout, window_vectorization, specialized_powers and any knob of
// tunable_knobs.def. An unknown key or value throws std::invalid_argument.
inline void apply_kernel_params(KernelConfig &config, const std::string &params) {
    std::istringstream in(params);
    for (std::string item; in >> item;) {
        const size_t eq = item.find('=');
        if (eq == std::string::npos) {
            throw std::invalid_argument("kernel parameter without a value: " + item);
        }
        const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
        auto named = [&](const auto &names) {
            auto it = names.find(value);
            if (it == names.end()) {
                throw std::invalid_argument("unknown value of " + key + ": " + value);
            }
            return it->second;
        };
        if (key == "layout") {
            config.layout = named(kLayoutNames);
        } else if (key == "window_vectorization") {
            config.cpu.window_vectorization = named(kWindowVectorizationNames);
        } else if (key == "specialized_powers") {
            config.cpu.specialized_powers = named(kSpecializedPowersNames);
        }
#define LPPOOL_KNOB(schedule, name, kind, def, lo, hi, values)                               \
    else if (key == #name) {                                                               \
        config.schedule.name = static_cast<kind>(value == "true" ? 1 : value == "false" ? 0 \
                                                                 : std::stoi(value));      \
    }
#include "tunable_knobs.def"
#undef LPPOOL_KNOB
        else {
            throw std::invalid_argument("unknown kernel parameter: " + key);
        }
    }
}

}  // namespace lppool
