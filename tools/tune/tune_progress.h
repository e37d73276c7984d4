// lppool-tune: the progress line on the terminal.
#pragma once

#include "tune_shapes.h"

namespace lppool_tune {

// Progress on the terminal: a bar redrawn in place on a TTY, else one line
// per candidate (CI logs).

class Progress {
public:
    Progress(double budget_s, bool quiet)
        : start_(Clock::now()), budget_s_(budget_s), tty_(isatty(2) != 0), quiet_(quiet) {}

    double elapsed() const { return seconds_since(start_); }
    double left() const { return budget_s_ - elapsed(); }

    void update(const std::string &kernel, int tried, int rejected, double best_ratio,
                const std::string &last) {
        if (quiet_) {
            return;
        }
        const double e = elapsed();
        const double frac = std::min(1.0, e / budget_s_);
        const int width = 24, filled = int(frac * width);
        char line[512];
        std::snprintf(line, sizeof line,
                      "[%s%s] %3.0f%% %5.0f/%.0f s  %-30s tried %3d (%d rejected)  best %.3fx "
                      "default  ETA %.0f s",
                      std::string(filled, '#').c_str(), std::string(width - filled, '-').c_str(),
                      frac * 100, e, budget_s_, kernel.c_str(), tried, rejected, best_ratio,
                      std::max(0.0, budget_s_ - e));
        if (tty_) {
            std::fprintf(stderr, "\r%s\033[K", line);
        } else {
            std::fprintf(stderr, "%s  | %s\n", line, last.c_str());
        }
        std::fflush(stderr);
    }

    void end_line() {
        if (tty_ && !quiet_) {
            std::fprintf(stderr, "\n");
        }
    }

    void note(const std::string &msg) {
        end_line();
        std::fprintf(stderr, "%s\n", msg.c_str());
    }

private:
    Clock::time_point start_;
    double budget_s_;
    bool tty_, quiet_;
};

}  // namespace lppool_tune
