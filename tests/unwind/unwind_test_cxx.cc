// lg_unwind_backtrace against unw_backtrace in C++ code with exceptions enabled: template
// recursion, virtual calls, std::function and lambdas, std::sort comparators, a catch
// block, a destructor run while an exception propagates, and a std::thread.
#include "cmp.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

volatile long sink;

struct Checker {
    std::string what;
    explicit Checker(std::string w) : what(std::move(w)) {}
    ~Checker() { compare_maxes(what.c_str()); }
};

template <int N> __attribute__((noinline)) void trec(const std::function<void()> &f)
{
    std::vector<int> v(N + 1, N); // a frame with cleanups (landing pads)
    trec<N - 1>(f);
    sink += v[N];
}
template <> __attribute__((noinline)) void trec<0>(const std::function<void()> &f) { f(); }

struct Base {
    virtual ~Base() = default;
    virtual void run(int d) = 0;
};
struct Deep : Base {
    __attribute__((noinline)) void run(int d) override
    {
        if (d == 0) {
            compare_maxes("virtual");
            return;
        }
        std::unique_ptr<Base> next(new Deep);
        next->run(d - 1);
        sink++;
    }
};

__attribute__((noinline)) void thrower(int d)
{
    Checker c("destructor during unwinding");
    if (d == 0) throw std::runtime_error("boom");
    thrower(d - 1);
    sink++;
}

__attribute__((noinline)) void catcher(int d)
{
    try {
        thrower(d);
    } catch (const std::exception &e) {
        compare_maxes("catch block");
    }
}

int main()
{
    if (lg_unwind_init() != 0) return 1;
    for (int pass = 0; pass < 2; pass++) {
        trec<25>([] { compare_maxes("std::function in template recursion"); });
        auto lam = [](int x) {
            compare_maxes("lambda");
            return x + 1;
        };
        std::function<int(int)> f = lam;
        sink += f(3);
        Deep().run(12);
        for (int d = 0; d < 8; d += 3) catcher(d);
        std::vector<int> v{5, 3, 9, 1, 7, 2, 8};
        int n = 0;
        std::sort(v.begin(), v.end(), [&n](int a, int b) {
            if (n++ < 4) compare_maxes("sort comparator");
            return a < b;
        });
        std::thread t([] {
            trec<10>([] { compare_maxes("std::thread"); });
            catcher(3);
        });
        t.join();
    }
    long checks = CMP_GET(cmp_checks), failures = CMP_GET(cmp_failures);
    printf("%ld comparisons (%ld frames), %ld mismatches\n", checks, CMP_GET(cmp_frames), failures);
#ifdef LG_UNWIND_STATS
    lg_unwind_stats_t st;
    lg_unwind_get_stats(&st);
    printf("lg_unwind: %lu fast, %lu fallback, %lu rules computed, %lu not cacheable\n", st.fast,
           st.fallback, st.fills, st.bad_rules);
    if (st.fast < (unsigned long)checks / 2) return 1;
#endif
    return failures == 0 && checks > 0 ? 0 : 1;
}
