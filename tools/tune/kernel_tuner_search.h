// lppool-tune: KernelTuner's search (coordinate descent within the budget)
// and final round (the leaders re-timed beside two default instances).
#pragma once

#include "kernel_tuner.h"

namespace lppool_tune {

inline void KernelTuner::search(double deadline) {
    Candidate current = default_candidate(knobs_);
    evaluate_batch({current});
    const Evaluation &base = tried_.at(describe(current));
    if (!base.ok) {
        throw std::runtime_error("the default schedule of " + kind_.key +
                                 " fails its check: " + base.why);
    }
    if (std::find(crop_ok_for_default_.begin(), crop_ok_for_default_.end(), false) !=
        crop_ok_for_default_.end()) {
        // No candidate could be shown to keep the stream's exactness
        // when the default does not keep it: leave this kernel alone.
        progress_.note("not tuning " + kind_.key +
                       ": its default schedule's results depend on slicing (see the notes "
                       "above), so the tuner cannot check that a candidate keeps "
                       "LPPool1dStream's bit-exactness");
        return;
    }
    double best = base.cost;
    for (bool improved = true; improved && progress_.elapsed() < deadline;) {
        improved = false;
        std::vector<KnobSpec> order = knobs_;
        std::shuffle(order.begin(), order.end(), rng_);
        // Knobs with few values first: a kernel's share of the budget
        // often fits only a few batches, and one sweep of chunk_outputs
        // costs as much as every boolean and small knob together (a run
        // in the other order never reached scratch_on_stack).
        std::stable_sort(order.begin(), order.end(), [](const KnobSpec &a, const KnobSpec &b) {
            return candidate_values(a).size() < candidate_values(b).size();
        });
        for (const KnobSpec &knob : order) {
            std::vector<int> values = candidate_values(knob);
            const int now = current.at(knob.name);
            // Nearest values first: the likeliest improvements, and the
            // ones kept when the budget trims the batch.
            std::stable_sort(values.begin(), values.end(), [&](int a, int b) {
                return std::abs(std::log2(double(a) + 1) - std::log2(double(now) + 1)) <
                       std::abs(std::log2(double(b) + 1) - std::log2(double(now) + 1));
            });
            std::vector<Candidate> batch;
            for (int v : values) {
                Candidate next = current;
                next[knob.name] = v;
                if (v != now && !tried_.count(describe(next)) && changes_code(current, next)) {
                    batch.push_back(next);
                }
            }
            const double left = deadline - progress_.elapsed();
            const size_t fits = size_t(std::max(0.0, left / seconds_per_candidate_));
            if (fits == 0) {
                return;
            }
            if (batch.size() > fits) {
                batch.resize(fits);
            }
            for (const Evaluation *e : evaluate_batch(batch)) {
                if (e->ok && e->cost < best * 0.99) {
                    best = e->cost;
                    current = e->candidate;
                    improved = true;
                }
            }
        }
    }
}

inline void KernelTuner::final_round(int leaders, int rounds) {
    const Candidate defaults = default_candidate(knobs_);
    Evaluation *const default_evaluation = &tried_.at(describe(defaults));
    std::vector<Evaluation *> finalists{default_evaluation};
    const std::vector<Evaluation *> ranked = leaders_by_cost();
    for (Evaluation *e : ranked) {
        if (int(finalists.size()) > leaders) break;
        if (e != default_evaluation) finalists.push_back(e);
    }
    auto worst_ratio = [](const Evaluation *e) {
        return *std::max_element(e->ratios.begin(), e->ratios.end());
    };
    Evaluation *safest = nullptr;
    for (Evaluation *e : ranked) {
        if (e != default_evaluation && !e->ratios.empty() && worst_ratio(e) < 1.0 &&
            (!safest || worst_ratio(e) < worst_ratio(safest))) {
            safest = e;
        }
    }
    if (safest && std::find(finalists.begin(), finalists.end(), safest) == finalists.end()) {
        if (int(finalists.size()) > leaders) {
            finalists.back() = safest;
        } else {
            finalists.push_back(safest);
        }
    }
    std::vector<std::shared_ptr<JitKernel>> kernels;
    for (Evaluation *e : finalists) {
        if (!e->kernel) {  // pruned earlier: compile it again
            e->kernel = compile(e->candidate);
        }
        kernels.push_back(e->kernel);
    }
    const std::shared_ptr<JitKernel> default_twin = compile(defaults);
    kernels.push_back(default_twin);
    const size_t twin = kernels.size() - 1;
    const int turns = rounds * opt_.repeats;

    Timings ms = time_in_turns(kernels, turns, "re-timing");
    const std::vector<double> twin_ratios = ratios_to_defaults(ms, twin, {0});
    report_resolution(twin_ratios);
    final_default_.clear();
    for (size_t s = 0; s < shapes_.size(); s++) {
        final_default_.push_back(median(ms[0][s]));
    }
    chosen_ = defaults;
    final_chosen_ = final_default_;
    size_t best = 0;
    double best_cost = 1.0;
    std::vector<double> best_ratios;
    for (size_t f = 1; f < finalists.size(); f++) {
        const std::vector<double> ratios = ratios_to_defaults(ms, f, {0, twin});
        const double cost = geometric_mean(ratios);
        // Every finalist's worse ratio to the two defaults is printed, so
        // a run that keeps the default shows which shape held it back.
        progress_.note("  finalist " + describe(finalists[f]->candidate) + ": " +
                       shape_ratios(ratios, true) +
                       (never_slower(ratios) ? "" : " (slower than a default on the * shape)"));
        if (never_slower(ratios) && cost < best_cost) {
            best = f, best_cost = cost, best_ratios = ratios;
        }
    }
    chosen_kernel_ = finalists[0]->kernel;
    if (best != 0) {
        // The winner again, as a fresh instance, beside both defaults.
        const std::shared_ptr<JitKernel> again = compile(finalists[best]->candidate);
        Timings confirm = time_in_turns({kernels[0], default_twin, again}, turns, "confirming");
        const std::vector<double> ratios = ratios_to_defaults(confirm, 2, {0, 1});
        const std::string label = describe(finalists[best]->candidate);
        if (never_slower(ratios)) {
            chosen_ = finalists[best]->candidate;
            chosen_kernel_ = finalists[best]->kernel;
            for (size_t s = 0; s < shapes_.size(); s++) {
                final_chosen_[s] = std::max(best_ratios[s], ratios[s]) * final_default_[s];
            }
            progress_.note("  " + label + " confirmed by a second instance: " +
                           shape_ratios(ratios));
        } else {
            progress_.note("  " + label + " not confirmed by a second instance (" +
                           shape_ratios(ratios) + "): the default stays");
        }
    }
    for (auto &[key, e] : tried_) {
        e.kernel.reset();
    }
}

inline bool KernelTuner::never_slower(const std::vector<double> &ratios) {
    return *std::max_element(ratios.begin(), ratios.end()) <= 1.0;
}

inline double KernelTuner::geometric_mean(const std::vector<double> &ratios) {
    double log_sum = 0;
    for (double r : ratios) log_sum += std::log(r);
    return std::exp(log_sum / double(ratios.size()));
}

inline std::string KernelTuner::shape_ratios(const std::vector<double> &ratios, bool mark_worst) const {
    const size_t worst = size_t(std::max_element(ratios.begin(), ratios.end()) - ratios.begin());
    std::string out;
    char buf[32];
    for (size_t s = 0; s < shapes_.size(); s++) {
        std::snprintf(buf, sizeof buf, " %.3f%s", ratios[s], mark_worst && s == worst ? "*" : "");
        out += (s ? " " : "") + short_label(shapes_[s]) + buf;
    }
    return out;
}

inline void KernelTuner::report_resolution(const std::vector<double> &twin_ratios) {
    resolution_ = twin_ratios;
    progress_.note("  a second instance of the default measures " + shape_ratios(twin_ratios) +
                   " of the first");
}

inline std::vector<const Evaluation *> KernelTuner::evaluate_batch(const std::vector<Candidate> &batch) {
    const Clock::time_point start = Clock::now();
    std::vector<Evaluation> evals(batch.size());
    const size_t threads =
        std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), 8));
    std::atomic<size_t> next{0};
    auto compile_some = [&] {
        for (size_t i; (i = next++) < batch.size();) {
            Evaluation &e = evals[i];
            e.candidate = batch[i];
            if (!serves_all(kind_, e.candidate, shapes_, opt_.device)) {
                e.why = "its tile cannot stage these shapes in shared memory";
                continue;
            }
            try {
                e.kernel = compile(e.candidate);
            } catch (const std::exception &ex) {
                e.why = std::string("failed to compile: ") + ex.what();
            }
        }
    };
    std::vector<std::thread> pool;
    for (size_t t = 1; t < std::min(threads, batch.size()); t++) {
        pool.emplace_back(compile_some);
    }
    compile_some();
    for (std::thread &t : pool) {
        t.join();
    }
    std::vector<const Evaluation *> out;
    for (Evaluation &e : evals) {
        if (e.kernel) {
            measure(e);
        }
        if (!e.ok) {
            rejected_++;
            e.kernel.reset();
        }
        const std::string key = describe(e.candidate);
        std::string last = key + " -> ";
        if (e.ok) {
            last += ratio_summary(e);
        } else {
            last += "rejected (" + e.why.substr(0, 160) + ")";
        }
        out.push_back(&tried_.emplace(key, std::move(e)).first->second);
        progress_.update(kind_.key, int(tried_.size()), rejected_, best_cost_, last);
    }
    keep_leading_kernels(3);
    // What one more candidate costs, for fitting batches to the budget.
    seconds_per_candidate_ = seconds_since(start) / double(batch.size());
    return out;
}

inline std::string KernelTuner::ratio_summary(const Evaluation &e) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3fx", e.cost);
    if (shapes_.size() < 2 || e.ratios.empty()) {
        return buf;
    }
    return std::string(buf) + " [" + shape_ratios(e.ratios, true) + "]";
}

inline void KernelTuner::measure(Evaluation &e) {
    try {
        for (ReferenceProblem &r : checks_) {
            e.kernel->run(r.problem);
            e.kernel->finish(r.problem);
            const std::string bad = mismatch(r.problem, r);
            if (!bad.empty()) {
                e.why = "wrong result on " + r.problem.shape.spec() + " " + bad;
                return;
            }
        }
        e.why = crop_mismatch(*e.kernel);
        if (!e.why.empty()) {
            return;
        }
        for (size_t s = 0; s < shapes_.size(); s++) {
            if (!default_kernel_) {  // the default itself, first
                e.medians.push_back(median_ms(*e.kernel, timing_[s], opt_.repeats));
                continue;
            }
            const double give_up = 2.0 * best_medians_[s] / default_medians_[s];
            e.medians.push_back(
                ratio_against(*e.kernel, *default_kernel_, timing_[s], opt_.repeats, give_up) *
                default_medians_[s]);
        }
    } catch (const std::exception &ex) {
        e.why = std::string("failed to run: ") + ex.what();
        return;
    }
    e.ok = true;
    if (!default_kernel_) {
        default_kernel_ = e.kernel;
        default_medians_ = e.medians;
        best_medians_ = e.medians;
    }
    std::vector<double> &ratios = e.ratios;
    for (size_t s = 0; s < shapes_.size(); s++) {
        ratios.push_back(e.medians[s] / default_medians_[s]);
    }
    const double worst = *std::max_element(ratios.begin(), ratios.end());
    // A candidate clearly slower than the default on one of the kernel's
    // shapes cannot pass the final round's rule (no slower on any shape),
    // so it scores that worst ratio (> 1: never better than the default)
    // and the search does not walk towards it: a faster geometric mean
    // bought with one slower shape is no use. kSearchSlack allows for
    // timing noise here; the final round applies the rule without it.
    e.cost = worst <= kSearchSlack ? geometric_mean(ratios) : worst;
    if (e.cost < best_cost_) {
        best_cost_ = e.cost;
        best_medians_ = e.medians;
    }
}

inline std::vector<Evaluation *> KernelTuner::leaders_by_cost() {
    std::vector<Evaluation *> ok;
    for (auto &[key, e] : tried_) {
        if (e.ok) ok.push_back(&e);
    }
    std::sort(ok.begin(), ok.end(),
              [](const Evaluation *a, const Evaluation *b) { return a->cost < b->cost; });
    return ok;
}

inline void KernelTuner::keep_leading_kernels(size_t leaders) {
    const std::string default_key = describe(default_candidate(knobs_));
    std::vector<Evaluation *> ranked = leaders_by_cost();
    for (size_t i = leaders; i < ranked.size(); i++) {
        if (describe(ranked[i]->candidate) != default_key) {
            ranked[i]->kernel.reset();
        }
    }
}

}  // namespace lppool_tune
