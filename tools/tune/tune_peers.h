// lppool-tune: Halide's autoschedulers on the same algorithm, for the table.
#pragma once

#include "kernel_tuner.h"

namespace lppool_tune {

// Halide's autoschedulers on the same algorithm, for the final table.

inline std::string plugin_path(const std::string &name) {
    for (const std::string &entry : split(LPPOOL_AUTOSCHEDULER_PLUGINS, ',')) {
        const size_t eq = entry.find('=');
        if (eq != std::string::npos && entry.substr(0, eq) == name) {
            return entry.substr(eq + 1);
        }
    }
    return "";
}

// The autoscheduled kernel's median time on the shape, or why there is none.
// Its result must match `ours` (our checked kernel's, on the same problem).
inline std::string run_peer(const std::string &name, const KernelKind &kind, Problem &timing,
                     const Halide::Buffer<> &ours, const Options &opt,
                     const Halide::Target &target) {
    static std::set<std::string> loaded;
    const std::string path = plugin_path(name);
    if (path.empty()) {
        return "not installed";
    }
    try {
        if (!loaded.count(name)) {
            Halide::load_plugin(path);
            loaded.insert(name);
        }
        KernelConfig config;
        // Rows peers on dense rows are told L is dense (as in bench/), so they
        // may vectorize along it.
        const bool dense_rows = kind.layout() == Layout::Rows && !timing.shape.channels_last;
        config.layout = dense_rows ? Layout::Contiguous : kind.layout();
        config.autoscheduled = true;
        JitKernel k(kind, config, timing.shape, target, name);
        k.run(timing);
        const std::string bad = differs(timing, ours);
        if (!bad.empty()) {
            return "wrong result: " + bad;
        }
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", median_ms(k, timing, opt.repeats));
        return buf;
    } catch (const std::exception &e) {
        std::string what = e.what();
        std::replace(what.begin(), what.end(), '\n', ' ');
        std::replace(what.begin(), what.end(), '|', '/');
        // Halide's internal errors: the failed condition says it all.
        const size_t condition = what.find("Condition failed: ");
        if (condition != std::string::npos) {
            return "aborts (internal error: " + what.substr(condition + 18, 60) + ")";
        }
        return "fails: " + what.substr(0, 120);
    }
}

}  // namespace lppool_tune
