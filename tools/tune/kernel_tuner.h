// lppool-tune: one kernel's tuning (KernelTuner): its shapes, their
// problems, and what was tried. The members are defined in
// kernel_tuner_search.h (the search and the final round) and
// kernel_tuner_checks.h (compiling and checking candidates).
#pragma once

#include "jit_kernel.h"
#include "tune_progress.h"

namespace lppool_tune {

// The search.

struct Options {
    std::vector<TuneShape> shapes;
    double budget_s = 600;
    unsigned seed = 1;
    int repeats = 7;
    std::string output;
    Device device = Device::cpu;
    std::vector<std::string> peers{"Adams2019", "Mullapudi2016", "Li2018"};
    std::vector<std::string> only_knobs;  // empty: every knob the kernel has
    bool quiet = false;
};

// The kernel's knobs that --knobs leaves to the search.
inline std::vector<KnobSpec> knobs_to_search(const KernelKind &k, const Options &opt) {
    std::vector<KnobSpec> knobs = searched_knobs(k, opt.device);
    if (!opt.only_knobs.empty()) {
        knobs.erase(std::remove_if(knobs.begin(), knobs.end(),
                                   [&](const KnobSpec &spec) {
                                       return std::find(opt.only_knobs.begin(),
                                                        opt.only_knobs.end(),
                                                        spec.name) == opt.only_knobs.end();
                                   }),
                    knobs.end());
    }
    return knobs;
}

// How much slower than the default a candidate may measure on one shape and
// still count as a step of the search (timing noise on a shared machine).
constexpr double kSearchSlack = 1.03;

struct Evaluation {
    Candidate candidate;
    bool ok = false;
    std::string why;                     // rejected: the reason
    std::vector<double> medians;         // per shape
    std::vector<double> ratios;          // per shape: median / the default's median
    double cost = INFINITY;              // geometric mean of median / default median (see measure)
    std::shared_ptr<JitKernel> kernel;   // kept while it may be a finalist
};

// One kernel's tuning: its shapes, their problems, and what was tried.
class KernelTuner {
public:
    KernelTuner(KernelKind kind, std::vector<TuneShape> shapes, const Options &opt,
                const Halide::Target &target, Progress &progress)
        : kind_(std::move(kind)), shapes_(std::move(shapes)), opt_(opt), target_(target),
          progress_(progress), knobs_(knobs_to_search(kind_, opt)), rng_(opt.seed) {
        std::mt19937 data_rng(opt.seed);
        for (const TuneShape &s : shapes_) {
            timing_.push_back(make_timing_problem(s, data_rng));
            for (const TuneShape &c : check_shapes(s)) {
                checks_.push_back(make_reference_problem(c, true, data_rng));
                if (!s.backward) {
                    add_crops(checks_.size() - 1);
                }
            }
            if (!s.backward) {
                // Overflowing and underflowing windows: the rescue paths.
                checks_.push_back(make_reference_problem(check_shapes(s).back(), true, data_rng,
                                                         s.f64 ? 200 : 30));
            }
        }
        if (opt.device != Device::cpu) {
            for (Problem &p : timing_) {
                for (Halide::Buffer<> *b : {&p.x, &p.y, &p.dy, &p.dx}) {
                    if (b->defined()) {
                        b->set_host_dirty();
                        if (b->copy_to_device(Halide::DeviceAPI::Default_GPU, target_) != 0) {
                            throw std::runtime_error("cannot copy the tuning data to the device");
                        }
                    }
                }
            }
        }
    }

    const KernelKind &kind() const { return kind_; }
    const std::vector<TuneShape> &shapes() const { return shapes_; }

    // Coordinate descent from the defaults until `deadline` (seconds of
    // progress time) or until a full round improves nothing. All values of
    // one knob form a batch: compiled in parallel (compiling is the slow
    // part, ~10 s a candidate), then checked and timed one at a time on an
    // otherwise idle machine.
    void search(double deadline);

    // Re-times the default and the best few candidates side by side and
    // picks the fastest that is no slower than the default on any of this
    // kernel's shapes, or the default when none is.
    //
    // Two JIT instances of one identical pipeline can time up to ~10% apart
    // (where code and blocks land; see tools/tune/README.md), so one default
    // instance that happens to be slow made a no-better candidate look
    // faster (a backward "0.818x" that the AOT build never showed). Hence a
    // second, freshly compiled default (its ratio to the first is printed:
    // this process's resolution), a candidate's ratio on a shape is its
    // worst against either default, and the winner is compiled again and
    // must pass the same rule a second time as that new instance.
    //
    // The finalists are the leaders by cost, with the last place kept for
    // the candidate whose worst shape was best in the search, when that one
    // is faster than the default on every shape and not a leader already:
    // the leaders can all be one move that is much faster on some shapes
    // and at parity on another (backward_f32_rows: three vector_multiple=4
    // finalists, each 0.63x-0.88x on (h_a)/(h_d) and 1.04x on (h_e), while
    // scratch_on_stack alone, 0.90x-0.97x on all three, was never re-timed).
    void final_round(int leaders, int rounds);

    // The chosen candidate's compiled kernel (after final_round).
    JitKernel &chosen_kernel() { return *chosen_kernel_; }

    const Candidate &chosen() const { return chosen_; }
    const std::vector<double> &final_default() const { return final_default_; }
    const std::vector<double> &final_chosen() const { return final_chosen_; }
    // The second default instance's ratio to the first, per shape (after final_round).
    const std::vector<double> &resolution() const { return resolution_; }
    int tried() const { return int(tried_.size()); }
    int rejected() const { return rejected_; }
    std::vector<Problem> &timing_problems() { return timing_; }

private:
    // ms[kernel][shape][turn].
    using Timings = std::vector<std::vector<std::vector<double>>>;

    std::shared_ptr<JitKernel> compile(const Candidate &c) const;

    // Turns: one sample of each kernel on a shape, back to back, so each
    // turn's ratios share the machine's speed; the order rotates each turn,
    // so no kernel always follows another.
    Timings time_in_turns(const std::vector<std::shared_ptr<JitKernel>> &kernels, int turns,
                          const std::string &what) {
        std::vector<std::vector<int>> calls(kernels.size(), std::vector<int>(shapes_.size()));
        for (size_t k = 0; k < kernels.size(); k++) {
            for (size_t s = 0; s < shapes_.size(); s++) {
                calls[k][s] = calls_per_sample(*kernels[k], timing_[s]);
            }
        }
        Timings ms(kernels.size(), std::vector<std::vector<double>>(shapes_.size()));
        for (int r = 0; r < turns; r++) {
            for (size_t s = 0; s < shapes_.size(); s++) {
                for (size_t i = 0; i < kernels.size(); i++) {
                    const size_t k = (i + size_t(r)) % kernels.size();
                    ms[k][s].push_back(sample_ms(*kernels[k], timing_[s], calls[k][s]));
                }
            }
            progress_.update(kind_.key + " (" + what + ")", int(tried_.size()), rejected_,
                             best_cost_,
                             "turn " + std::to_string(r + 1) + "/" + std::to_string(turns));
        }
        return ms;
    }

    // Per shape, kernel k's median per-turn ratio to each of `baselines`,
    // the worst of them.
    std::vector<double> ratios_to_defaults(const Timings &ms, size_t k,
                                           const std::vector<size_t> &baselines) const {
        std::vector<double> out;
        for (size_t s = 0; s < shapes_.size(); s++) {
            double worst = 0;
            for (size_t b : baselines) {
                std::vector<double> ratios;
                for (size_t r = 0; r < ms[k][s].size(); r++) {
                    ratios.push_back(ms[k][s][r] / ms[b][s][r]);
                }
                worst = std::max(worst, median(ratios));
            }
            out.push_back(worst);
        }
        return out;
    }

    static bool never_slower(const std::vector<double> &ratios);

    static double geometric_mean(const std::vector<double> &ratios);

    // "(a) 0.980 (d) 1.040", the worst marked "1.040*" when `mark_worst`.
    std::string shape_ratios(const std::vector<double> &ratios, bool mark_worst = false) const;

    void report_resolution(const std::vector<double> &twin_ratios);

    // A forward over a slice of a check problem's input: windows
    // [first_window, first_window + n) alone. They must come out bit for bit
    // as in the whole problem (LPPool1dStream relies on it: it runs the
    // kernel on short blocks), whichever vector or tail path each lands on.
    struct Crop {
        size_t source;
        int64_t first_window;
        Problem problem;
    };

    void add_crops(size_t source);

    // Runs the crops after the check problems ran; "" when all match. The
    // first call, on the default, records which crops the default gets
    // right; a kernel whose default gets any wrong is not tuned (search()).
    std::string crop_mismatch(JitKernel &k);

    std::string compare_crop(Crop &c);

    // Where a schedule's branches differ: few rows (parallel along L), many
    // rows, and a ragged shape with a partial last window; each keeps the
    // shape's K, S and p. Small enough for the long-double reference.
    static std::vector<TuneShape> check_shapes(const TuneShape &s);

    // Shape s's rows that run in parallel, by the rule the kernels branch on
    // (lppool::independent_rows), applied to its timing problem's output.
    int64_t independent_rows(size_t s) const;

    // False when `to` compiles to the same code as `from` for every shape
    // of this kernel: min_parallel_rows values that put each shape on the
    // same side (rows >= it: parallel over rows, else tasks along L), and
    // any long_chunk_outputs when no shape takes the tasks-along-L branch.
    // Such a candidate could only win on noise (the last run moved case
    // (g)'s min_parallel_rows 8 -> 32 on a 0.914x that was the chunk's), and
    // its value would reach shapes it was never timed on.
    bool changes_code(const Candidate &from, const Candidate &to) const;

    // Compiles `batch` (in parallel), then checks and times each candidate.
    std::vector<const Evaluation *> evaluate_batch(const std::vector<Candidate> &batch);

    // "0.981x", or with several shapes the score and each shape's ratio,
    // worst marked: "1.070x [(a) 0.970 (f) 1.070* (j) 1.010]", so a log shows
    // which shape holds a candidate back.
    std::string ratio_summary(const Evaluation &e) const;

    // Checks the candidate's results against the reference, then times it.
    void measure(Evaluation &e);

    std::vector<Evaluation *> leaders_by_cost();

    // Compiled kernels take memory: keep the default's and the leaders'.
    void keep_leading_kernels(size_t leaders);

    KernelKind kind_;
    std::vector<TuneShape> shapes_;
    const Options &opt_;
    Halide::Target target_;
    Progress &progress_;
    std::vector<KnobSpec> knobs_;
    std::mt19937 rng_;
    std::vector<Problem> timing_;
    std::vector<ReferenceProblem> checks_;
    std::vector<Crop> crops_;
    std::vector<bool> crop_ok_for_default_;  // per crop, after the default ran
    std::map<std::string, Evaluation> tried_;
    std::shared_ptr<JitKernel> default_kernel_;  // each candidate is timed in turns with it
    std::vector<double> default_medians_, best_medians_;  // candidates': ratio x default's
    double best_cost_ = 1.0;
    double seconds_per_candidate_ = 1.0;
    int rejected_ = 0;
    Candidate chosen_;
    std::shared_ptr<JitKernel> chosen_kernel_;
    std::vector<double> final_default_, final_chosen_, resolution_;
};

}  // namespace lppool_tune
