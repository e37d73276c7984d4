// lppool-tune: KernelTuner's compiling of candidates and their checks
// against the reference, on whole problems and on crops of them.
#pragma once

#include "kernel_tuner.h"

namespace lppool_tune {

inline std::shared_ptr<JitKernel> KernelTuner::compile(const Candidate &c) const {
    return std::make_shared<JitKernel>(kind_, config_for(kind_, c), shapes_[0], target_);
}

inline void KernelTuner::add_crops(size_t source) {
    Problem &whole = checks_[source].problem;
    const TuneShape &s = whole.shape;
    const int64_t full_windows = (s.L - s.K) / s.S + 1;
    for (auto [first, n] : {std::pair<int64_t, int64_t>{1, 1}, {3, 5}, {7, 17}, {16, 37},
                            {129, 300}}) {
        if (first + n > full_windows) {
            continue;
        }
        Crop c{source, first, Problem{}};
        c.problem.shape = s;
        c.problem.shape.L = (n - 1) * s.S + s.K;
        c.problem.out_length = n;
        c.problem.x = make_buffer(c.problem.shape, c.problem.shape.L);
        c.problem.y = make_buffer(c.problem.shape, n);
        for (int64_t b = 0; b < s.N; b++)
            for (int64_t ch = 0; ch < s.C; ch++)
                for (int64_t l = 0; l < c.problem.shape.L; l++) {
                    Halide::Buffer<> &from = whole.x;
                    if (s.f64) {
                        *element<double>(c.problem.x, l, ch, b) =
                            *element<double>(from, first * s.S + l, ch, b);
                    } else {
                        *element<float>(c.problem.x, l, ch, b) =
                            *element<float>(from, first * s.S + l, ch, b);
                    }
                }
        c.problem.x.set_host_dirty();
        crops_.push_back(std::move(c));
    }
}

inline std::string KernelTuner::crop_mismatch(JitKernel &k) {
    const bool first = crop_ok_for_default_.empty();
    std::string first_failure;
    for (size_t i = 0; i < crops_.size(); i++) {
        Crop &c = crops_[i];
        k.run(c.problem);
        k.finish(c.problem);
        const std::string bad = compare_crop(c);
        if (first) {
            crop_ok_for_default_.push_back(bad.empty());
            if (!bad.empty()) {
                progress_.note("note: the default " + kind_.key + " does not hold: " + bad);
            }
        } else if (!bad.empty() && first_failure.empty()) {
            first_failure = bad;
        }
    }
    return first_failure;
}

inline std::string KernelTuner::compare_crop(Crop &c) {
    Halide::Buffer<> &whole = checks_[c.source].problem.y;
    const TuneShape &s = c.problem.shape;
    for (int64_t b = 0; b < s.N; b++)
        for (int64_t ch = 0; ch < s.C; ch++)
            for (int64_t j = 0; j < c.problem.out_length; j++) {
                const int64_t w = c.first_window + j;
                const bool same = s.f64 ? *element<double>(c.problem.y, j, ch, b) ==
                                              *element<double>(whole, w, ch, b)
                                        : *element<float>(c.problem.y, j, ch, b) ==
                                              *element<float>(whole, w, ch, b);
                if (!same) {
                    return "window " + std::to_string(w) + " of " + s.spec() +
                           " differs when computed from a slice of windows " +
                           std::to_string(c.first_window) + ".." +
                           std::to_string(c.first_window + c.problem.out_length - 1);
                }
            }
    return "";
}

inline std::vector<TuneShape> KernelTuner::check_shapes(const TuneShape &s) {
    std::vector<TuneShape> out;
    TuneShape few = s;
    few.N = 1;
    few.C = std::min<int64_t>(s.C, 3);
    few.L = std::min<int64_t>(s.L, int64_t(1) << 19);
    TuneShape many = s;
    many.L = std::min<int64_t>(s.L, std::max<int64_t>(s.K, 1500));
    if (s.channels_last) {
        many.N = 70, many.C = std::min<int64_t>(s.C, 19);
    } else {
        many.N = 2, many.C = 35;
    }
    TuneShape ragged = s;
    ragged.N = 1, ragged.C = 5;
    ragged.L = std::max<int64_t>(s.K + 37, std::min<int64_t>(s.L, 1037));
    return {few, many, ragged};
}

inline int64_t KernelTuner::independent_rows(size_t s) const {
    const Halide::Expr rows = lppool::independent_rows(kind_.layout(), timing_[s].result());
    return *Halide::Internal::as_const_int(rows);
}

inline bool KernelTuner::changes_code(const Candidate &from, const Candidate &to) const {
    if (opt_.device != Device::cpu) {
        return true;
    }
    const std::string rows_knob = lppool::knob::min_parallel_rows.name;
    const std::string long_knob = lppool::knob::long_chunk_outputs.name;
    auto few_rows = [&](const Candidate &c, size_t s) {
        return independent_rows(s) < knob_value(c, lppool::knob::min_parallel_rows);
    };
    bool same_branches = true, any_few = false;
    for (size_t s = 0; s < shapes_.size(); s++) {
        same_branches = same_branches && few_rows(from, s) == few_rows(to, s);
        any_few = any_few || few_rows(to, s);
    }
    // A forward without staged powers has no chunk buffer to place.
    const std::string stack_knob = lppool::knob::scratch_on_stack.name;
    const bool chunk_buffers =
        kind_.backward || knob_value(to, lppool::knob::stage_powers) != 0;
    for (const auto &[name, value] : to) {
        if (value == from.at(name)) continue;
        if (name == rows_knob   ? !same_branches
            : name == long_knob ? any_few
            : name == stack_knob ? chunk_buffers
                                 : true) {
            return true;
        }
    }
    return false;
}

}  // namespace lppool_tune
