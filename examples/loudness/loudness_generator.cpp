// A Halide generator that fuses Lp pooling into its own pipeline: the audio
// loudness envelope
//
//     db[n, c, j] = 20 * log10( LpPool_{p=2}(x)[n, c, j] / sqrt(K) )
//
// in one AOT-compiled pipeline, with no intermediate buffer for the pooled
// values. It includes the installed algorithm header (lppool1d_algorithm.h)
// and reuses the library's CPU schedule, which computes the pooling at the
// output's rows whatever the output Func is.
#include "Halide.h"
#include "cpu_schedule.h"
#include "lppool1d_algorithm.h"

namespace {

using namespace Halide;

class LoudnessEnvelope : public Generator<LoudnessEnvelope> {
public:
    GeneratorInput<Buffer<float, 3>> input{"input"};  // (L, C, N), any strides
    GeneratorInput<int> kernel_size{"kernel_size"};
    GeneratorInput<int> stride{"stride"};
    GeneratorOutput<Buffer<float, 3>> db{"db"};

    void generate() {
        lppool::Dims d;
        const Expr p = Expr(2.0);
        lppool::PoolShape shape{p, kernel_size, stride, input.dim(0).extent()};
        stages = lppool::define_forward(input, shape, d);
        // A floor keeps silence finite: -200 dB instead of -inf.
        Expr rms = stages.pooled(d.x, d.c, d.n) / sqrt(cast<float>(kernel_size));
        db(d.x, d.c, d.n) = 20.0f * log(max(rms, 1e-10f)) / float(std::log(10.0));

        for (int i = 0; i < 3; i++) {
            input.dim(i).set_min(0);
            db.dim(i).set_min(0);
        }
        input.dim(0).set_stride(Expr());
        db.dim(0).set_stride(Expr());

        Expr dense = input.dim(0).stride() == 1 && db.dim(0).stride() == 1;
        lppool::RunTimeFacts facts{dense, db.dim(1).extent() * db.dim(2).extent(), stride,
                                   kernel_size};
        lppool::schedule_forward_cpu(stages, db, lppool::Layout::Rows, p, facts, d,
                                     lppool::CpuKnobs{}, get_target());
    }

private:
    lppool::ForwardStages stages;
};

}  // namespace

HALIDE_REGISTER_GENERATOR(LoudnessEnvelope, loudness_envelope)
