# bench/rcrt/bench.cmake - rcrt's benchmarks, included from runtime/CMakeLists.txt. They link
# their own variants of the library, never sanitized: rcrt_bench_hooks (hooks compiled in, as
# the default build) and rcrt_bench_nohooks (RC_TRACE_HOOKS=0), for the hook-cost comparison.
# Run them with bench/rcrt/run.sh.
rcrt_library(rcrt_bench_hooks STATIC 1 OFF)
rcrt_library(rcrt_bench_nohooks STATIC 0 OFF)

add_executable(rcrt_bench_alloc ${PROJECT_SOURCE_DIR}/bench/rcrt/bench_alloc.c)
target_link_libraries(rcrt_bench_alloc PRIVATE rcrt_bench_hooks ${CMAKE_DL_LIBS})

add_executable(rcrt_bench_gc ${PROJECT_SOURCE_DIR}/bench/rcrt/bench_gc.c)
target_link_libraries(rcrt_bench_gc PRIVATE rcrt_bench_hooks)

add_executable(rcrt_bench_hooks_on ${PROJECT_SOURCE_DIR}/bench/rcrt/bench_hooks.c)
target_link_libraries(rcrt_bench_hooks_on PRIVATE rcrt_bench_hooks)
add_executable(rcrt_bench_hooks_off ${PROJECT_SOURCE_DIR}/bench/rcrt/bench_hooks.c)
target_link_libraries(rcrt_bench_hooks_off PRIVATE rcrt_bench_nohooks)
