// lppool-tune: the tuned-parameters file and the results table.
#pragma once

#include "kernel_tuner.h"

namespace lppool_tune {

// Output.

inline std::string json_escape(const std::string &s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

inline std::string utc_now() {
    char buf[32];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

struct ShapeResult {
    std::string label, kernel;
    double default_ms = 0, tuned_ms = 0;
    double default_twin_ratio = 1;  // a second default instance against the first
    std::map<std::string, std::string> peers;
};

inline void write_json(const std::string &path, const Options &opt, const Halide::Target &target,
                const std::vector<std::unique_ptr<KernelTuner>> &tuners,
                const std::vector<ShapeResult> &results) {
    std::ostringstream j;
    j << "{\n  \"format\": \"lppool-tuned-params\",\n  \"version\": 1,\n"
      << "  \"schedule_hash\": \"" << LPPOOL_SCHEDULE_HASH << "\",\n"
      << "  \"target\": \"" << target.to_string() << "\",\n"
      << "  \"host_target\": \"" << Halide::get_host_target().to_string() << "\",\n"
      << "  \"device\": \"" << device_name(opt.device) << "\",\n"
      << "  \"date\": \"" << utc_now() << "\",\n"
      << "  \"budget_s\": " << opt.budget_s << ",\n  \"seed\": " << opt.seed << ",\n"
      << "  \"kernels\": {";
    for (size_t i = 0; i < tuners.size(); i++) {
        j << (i ? "," : "") << "\n    \"" << tuners[i]->kind().key << "\": {";
        size_t k = 0;
        for (const auto &[name, value] : tuners[i]->chosen()) {
            const bool is_bool = knob_spec(name).is_bool;
            j << (k++ ? ", " : "") << "\"" << name << "\": "
              << (is_bool ? (value ? "true" : "false") : std::to_string(value));
        }
        j << "}";
    }
    j << "\n  },\n  \"results\": [";
    for (size_t i = 0; i < results.size(); i++) {
        const ShapeResult &r = results[i];
        j << (i ? "," : "") << "\n    {\"shape\": \"" << json_escape(r.label) << "\", \"kernel\": \""
          << r.kernel << "\", \"default_ms\": " << r.default_ms << ", \"tuned_ms\": " << r.tuned_ms
          << ", \"default_twin_ratio\": " << r.default_twin_ratio;
        for (const auto &[name, v] : r.peers) {
            j << ", \"" << name << "\": \"" << json_escape(v) << "\"";
        }
        j << "}";
    }
    j << "\n  ]\n}\n";
    std::ofstream out(path);
    out << j.str();
    if (!out) {
        throw std::runtime_error("cannot write " + path);
    }
}

inline void print_table(const std::vector<ShapeResult> &results, const Options &opt) {
    std::printf("\n| shape | kernel | default ms | tuned ms | tuned/default | default twin |");
    for (const std::string &p : opt.peers) std::printf(" %s ms |", p.c_str());
    std::printf("\n|---|---|---|---|---|---|");
    for (size_t i = 0; i < opt.peers.size(); i++) std::printf("---|");
    std::printf("\n");
    for (const ShapeResult &r : results) {
        std::printf("| %s | %s | %.3f | %.3f | %.3f | %.3f |", r.label.c_str(), r.kernel.c_str(),
                    r.default_ms, r.tuned_ms, r.tuned_ms / r.default_ms, r.default_twin_ratio);
        for (const std::string &p : opt.peers) std::printf(" %s |", r.peers.at(p).c_str());
        std::printf("\n");
    }
}

}  // namespace lppool_tune
