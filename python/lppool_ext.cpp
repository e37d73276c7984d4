// _lppool: the Python binding of LPPool1d. Tensors cross as DLPack capsules
// (torch.utils.dlpack.to_dlpack, numpy's __dlpack__), so nothing is copied;
// the capsules stay owned by their producers. Kernels run with the GIL
// released. The C++ validation's messages are the Python errors:
// lppool::unsupported_dtype becomes TypeError, every other
// std::invalid_argument ValueError (pybind11's mapping).
//
// Parallel loops run on OpenMP, the pool PyTorch's CPU operations use (the
// same libgomp): beside PyTorch's threads, which spin for a while after each
// of its operations, Halide's own pool got a share of the cores.
#include <omp.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>

#include "dlpack/dlpack.h"
#include "lppool1d.h"

namespace py = pybind11;

namespace {

const DLTensor &tensor_of(const py::capsule &capsule, const char *name) {
    if (std::string(capsule.name() ? capsule.name() : "") != "dltensor") {
        throw py::type_error(std::string(name) + " must be an unconsumed DLPack capsule ('dltensor')");
    }
    return static_cast<DLManagedTensor *>(capsule.get_pointer())->dl_tensor;
}

// A compact (row-major) tensor of `shape` at `data`, with x's dtype, device
// and rank.
DLTensor compact_like(const DLTensor &x, int64_t *shape, uintptr_t data) {
    DLTensor t{};
    t.data = reinterpret_cast<void *>(data);
    t.device = x.device;
    t.ndim = x.ndim;
    t.dtype = x.dtype;
    t.shape = shape;
    t.strides = nullptr;
    return t;
}

// Threads for our loops; 0: OpenMP's count for the calling thread, which
// torch.set_num_threads sets.
std::atomic<int> loop_threads{0};

void openmp_loop(int n, void (*body)(void *state, int i), void *state) {
    const int requested = loop_threads.load(std::memory_order_relaxed);
    const int threads = std::max(1, std::min(n, requested > 0 ? requested : omp_get_max_threads()));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int i = 0; i < n; i++) {
        body(state, i);
    }
}

void set_num_threads(int threads) {
    lppool::set_num_threads(threads);  // validates; Halide's pool for its other uses
    loop_threads.store(threads, std::memory_order_relaxed);
}

}  // namespace

PYBIND11_MODULE(_lppool, m) {
    m.doc() = "LPPool1d kernels (Halide, AOT) for DLPack tensors";
    py::register_exception<lppool::unsupported_dtype>(m, "UnsupportedDtype", PyExc_TypeError);
    py::class_<lppool::LPPool1d>(m, "Pool")
        .def(py::init<double, int64_t, std::optional<int64_t>, bool>(), py::arg("norm_type"),
             py::arg("kernel_size"), py::arg("stride") = py::none(), py::arg("ceil_mode") = false)
        .def("output_length", &lppool::LPPool1d::output_length)
        .def("output_shape",
             [](const lppool::LPPool1d &pool, const py::capsule &x) {
                 return pool.output_shape(tensor_of(x, "x"));
             })
        .def("extra_repr", &lppool::LPPool1d::extra_repr)
        .def_property_readonly("stride", &lppool::LPPool1d::stride)
        .def("forward",
             [](const lppool::LPPool1d &pool, const py::capsule &x, const py::capsule &y) {
                 const DLTensor &tx = tensor_of(x, "x"), &ty = tensor_of(y, "y");
                 py::gil_scoped_release release;
                 pool.forward(tx, ty);
             })
        // For lppool's own calls: the output is a compact tensor it allocated
        // with x's dtype and device (forward: of output_shape(x); backward:
        // of x's shape), so only its data pointer crosses (exporting a
        // capsule of it was a sixth of a small call).
        .def("forward_into_compact",
             [](const lppool::LPPool1d &pool, const py::capsule &x, uintptr_t y_data) {
                 const DLTensor &tx = tensor_of(x, "x");
                 std::vector<int64_t> shape = pool.output_shape(tx);
                 const DLTensor ty = compact_like(tx, shape.data(), y_data);
                 py::gil_scoped_release release;
                 pool.forward(tx, ty);
             })
        .def("backward", [](const lppool::LPPool1d &pool, const py::capsule &x,
                            const py::capsule &y, const py::capsule &grad_y,
                            const py::capsule &grad_x) {
            const DLTensor &tx = tensor_of(x, "x"), &ty = tensor_of(y, "y"),
                           &tdy = tensor_of(grad_y, "grad_y"), &tdx = tensor_of(grad_x, "grad_x");
            py::gil_scoped_release release;
            pool.backward(tx, ty, tdy, tdx);
        })
        .def("backward_into_compact",
             [](const lppool::LPPool1d &pool, const py::capsule &x, const py::capsule &y,
                const py::capsule &grad_y, uintptr_t grad_x_data) {
                 const DLTensor &tx = tensor_of(x, "x"), &ty = tensor_of(y, "y"),
                                &tdy = tensor_of(grad_y, "grad_y");
                 const DLTensor tdx = compact_like(tx, tx.shape, grad_x_data);
                 py::gil_scoped_release release;
                 pool.backward(tx, ty, tdy, tdx);
             });
    m.def("set_num_threads", &set_num_threads, py::arg("threads"),
          "Threads for this module's kernels (0: OpenMP's count, as torch.set_num_threads sets it)");
    lppool::set_parallel_loop(&openmp_loop);
}
