// lppool-tune: tunes the schedule knobs (schedules/tunable_knobs.def) of the
// LPPool1d kernels for this machine and a list of shapes, and writes a
// tuned-parameters file that the next build compiles in
// (-DLPPOOL_TUNED_PARAMS=<file>, cmake/LPPoolTuned.cmake).
//
// Candidates are JIT-compiled from the same algorithm, kernel assembly and
// schedule functions as the AOT build (generators/lppool1d_pipeline.h), for
// the CPU target the multi-target AOT kernels would pick on this machine.
// Each is checked against the long-double reference (common/reference.h)
// before it is timed; a wrong candidate is rejected. Search: coordinate
// descent over each kernel's knobs from the defaults, in a seeded order,
// with a time budget; slow candidates are cut off early, and the leaders are
// re-timed at the end beside two instances of the default, the winner again
// as a fresh instance of its own. See tools/tune/README.md.
#include "kernel_tuner_checks.h"
#include "kernel_tuner_search.h"
#include "tune_peers.h"
#include "tune_report.h"

namespace lppool_tune {

// Command line.

const char *kUsage =
    "usage: lppool-tune [--shape N,C,L,K,S,p,dtype,layout,pass]... [--budget SECONDS]\n"
    "                   [--seed N] [--repeats N] [--output FILE] [--device cpu|cuda|opencl]\n"
    "                   [--peers all|none|NAME[,NAME...]] [--knobs NAME[,NAME...]] [--quiet]\n"
    "Tunes the schedule knobs for the given shapes (default: the benchmark's cases)\n"
    "and writes a tuned-parameters file for -DLPPOOL_TUNED_PARAMS=FILE.\n"
    "  --shape     dtype f32|f64, layout rows|channels_last, pass forward|backward;\n"
    "              repeat for several shapes\n"
    "  --budget    search time in seconds (default 600); the final re-timing and the\n"
    "              autoscheduler peers come after it\n"
    "  --seed      search order and data (default 1)\n"
    "  --repeats   samples per measurement, median taken (default 7)\n"
    "  --output    default: schedules/tuned/<device>-<date>.json in the source tree\n"
    "  --peers     Halide autoschedulers to compare with (default all:\n"
    "              Adams2019,Mullapudi2016,Li2018)\n"
    "  --knobs     search only these knobs (comma-separated; the others keep\n"
    "              their defaults)\n";

Options parse_args(int argc, char **argv) {
    Options opt;
    auto value = [&](int &i) -> std::string {
        if (i + 1 >= argc) {
            throw std::invalid_argument(std::string(argv[i]) + " needs a value");
        }
        return argv[++i];
    };
    auto number = [](const std::string &flag, const std::string &v, double lo, double hi) {
        char *end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(d >= lo && d <= hi)) {
            throw std::invalid_argument(flag + " must be a number in [" + std::to_string(lo) +
                                        ", " + std::to_string(hi) + "], not \"" + v + "\"");
        }
        return d;
    };
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        if (a == "--shape") {
            opt.shapes.push_back(parse_shape(value(i)));
        } else if (a == "--budget") {
            opt.budget_s = number(a, value(i), 1, 7 * 24 * 3600);
        } else if (a == "--seed") {
            opt.seed = unsigned(number(a, value(i), 0, 4294967295.0));
        } else if (a == "--repeats") {
            opt.repeats = int(number(a, value(i), 3, 1000));
        } else if (a == "--output") {
            opt.output = value(i);
        } else if (a == "--device") {
            const std::string d = value(i);
            if (d == "cpu") opt.device = Device::cpu;
            else if (d == "cuda") opt.device = Device::cuda;
            else if (d == "opencl") opt.device = Device::opencl;
            else throw std::invalid_argument("--device must be cpu, cuda or opencl, not \"" + d + "\"");
        } else if (a == "--peers") {
            const std::string v = value(i);
            const std::vector<std::string> all{"Adams2019", "Mullapudi2016", "Li2018"};
            if (v == "all") {
                opt.peers = all;
            } else if (v == "none") {
                opt.peers.clear();
            } else {
                opt.peers = split(v, ',');
                for (const std::string &p : opt.peers) {
                    if (std::find(all.begin(), all.end(), p) == all.end()) {
                        throw std::invalid_argument("--peers: unknown autoscheduler \"" + p +
                                                    "\" (Adams2019, Mullapudi2016, Li2018)");
                    }
                }
            }
        } else if (a == "--knobs") {
            opt.only_knobs = split(value(i), ',');
            for (const std::string &name : opt.only_knobs) {
                if (!find_knob(name)) {
                    throw std::invalid_argument("--knobs: unknown knob \"" + name + "\" (" +
                                                knob_names() + ")");
                }
            }
        } else if (a == "--quiet") {
            opt.quiet = true;
        } else if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else {
            throw std::invalid_argument("unknown argument \"" + a + "\"");
        }
    }
    if (opt.shapes.empty()) {
        opt.shapes = benchmark_shapes();
    }
    if (opt.output.empty()) {
        opt.output = std::string(LPPOOL_SOURCE_DIR) + "/schedules/tuned/" +
                     device_name(opt.device) + "-" + utc_now().substr(0, 10) + ".json";
    }
    return opt;
}

int tune(const Options &opt) {
    lppool::detail::set_block_source(aligned_block, free_aligned_block);
    const Halide::Target target = jit_target(opt.device);
    std::printf("lppool-tune: %zu shapes on %s, JIT target %s, budget %.0f s, seed %u\n",
                opt.shapes.size(), device_name(opt.device), target.to_string().c_str(),
                opt.budget_s, opt.seed);
    if (opt.device != Device::cpu) {
        // A one-thread kernel through the JIT, whose errors become exceptions
        // (a bare buffer copy to a missing device aborts instead).
        Halide::Func probe("device_probe");
        Halide::Var x("x"), block("block"), thread("thread");
        probe(x) = x;
        probe.gpu_tile(x, block, thread, 1);
        Halide::Buffer<int> out(1);
        std::string why;
        try {
            probe.realize(out, target);
        } catch (const std::exception &e) {
            // The runtime lists every missing entry point; the last line says why.
            why = e.what();
            while (!why.empty() && why.back() == '\n') why.pop_back();
            why = why.substr(why.find_last_of('\n') + 1);
        }
        if (!why.empty()) {
            std::fprintf(stderr, "lppool-tune: no usable %s device: %s\n", device_name(opt.device),
                         why.c_str());
            return 77;
        }
    }

    // Group shapes by the kernel that serves them, in first-seen order.
    std::vector<std::string> order;
    std::map<std::string, std::pair<KernelKind, std::vector<TuneShape>>> groups;
    for (const TuneShape &s : opt.shapes) {
        const KernelKind k = kernel_for(s, opt.device);
        if (!groups.count(k.key)) {
            order.push_back(k.key);
            groups[k.key].first = k;
        }
        groups[k.key].second.push_back(s);
    }

    Progress progress(opt.budget_s, opt.quiet);
    std::vector<std::unique_ptr<KernelTuner>> tuners;
    for (size_t i = 0; i < order.size(); i++) {
        auto &[kind, shapes] = groups[order[i]];
        tuners.push_back(std::make_unique<KernelTuner>(kind, shapes, opt, target, progress));
        const double share = progress.left() / double(order.size() - i);
        tuners.back()->search(progress.elapsed() + std::max(0.0, share));
    }
    progress.end_line();

    std::vector<ShapeResult> results;
    for (auto &t : tuners) {
        progress.note("re-timing the leaders of " + t->kind().key + " against its default");
        t->final_round(3, 3);
        for (size_t s = 0; s < t->shapes().size(); s++) {
            ShapeResult r;
            r.label = t->shapes()[s].label;
            r.kernel = t->kind().key;
            r.default_ms = t->final_default()[s];
            r.tuned_ms = t->final_chosen()[s];
            r.default_twin_ratio = t->resolution()[s];
            Problem &timing = t->timing_problems()[s];
            Halide::Buffer<> ours;
            if (!opt.peers.empty() && opt.device == Device::cpu) {
                t->chosen_kernel().run(timing);
                ours = timing.result().copy();
            }
            for (const std::string &peer : opt.peers) {
                progress.note("  " + peer + " on " + r.label);
                r.peers[peer] = opt.device == Device::cpu
                                    ? run_peer(peer, t->kind(), timing, ours, opt, target)
                                    : "CPU only";
            }
            results.push_back(r);
        }
        std::printf("%s: %s (tried %d, rejected %d)\n", t->kind().key.c_str(),
                    describe(t->chosen()).c_str(), t->tried(), t->rejected());
    }
    print_table(results, opt);

    const std::filesystem::path parent = std::filesystem::path(opt.output).parent_path();
    if (!parent.empty()) {
        std::filesystem::create_directories(parent);
    }
    write_json(opt.output, opt, target, tuners, results);
    std::printf("\nwrote %s (%.0f s). Build with it:\n"
                "  cmake -B build -DLPPOOL_TUNED_PARAMS=%s && cmake --build build\n",
                opt.output.c_str(), progress.elapsed(), opt.output.c_str());
    return 0;
}

}  // namespace lppool_tune

int main(int argc, char **argv) {
    using namespace lppool_tune;
    Options opt;
    try {
        opt = parse_args(argc, argv);
    } catch (const std::invalid_argument &e) {
        std::fprintf(stderr, "lppool-tune: %s\n%s", e.what(), kUsage);
        return 2;
    }
    try {
        return tune(opt);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "\nlppool-tune: %s\n", e.what());
        return 1;
    }
}
