# bench/rcrt/gc_shapes.py - CPython's side of bench_gc: builds the same four shapes as
# bench_gc.c with the collector disabled, times one gc.collect() over each, and prints
# "<shape> <objects> <ns per object> <found>" per shape (median of RUNS runs).
# Classes use __slots__ so that each node is exactly one collector-tracked object, as in rcrt.
import gc
import sys
import time

N = 1_000_000
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


class Pair:
    __slots__ = ("other",)


class Link:
    __slots__ = ("next",)


class Tree:
    __slots__ = ("left", "right")


def cycles():
    for _ in range(N // 2):
        a = Pair()
        b = Pair()
        a.other = b
        b.other = a
    return None, N


def ring():
    first = Link()
    prev = first
    for _ in range(N - 1):
        n = Link()
        prev.next = n
        prev = n
    prev.next = first
    return None, N


def tree():
    # A complete binary tree of N nodes (heap order), held by its root.
    nodes = [Tree() for _ in range(N)]
    for i in range(N):
        node = nodes[i]
        node.left = nodes[2 * i + 1] if 2 * i + 1 < N else None
        node.right = nodes[2 * i + 2] if 2 * i + 2 < N else None
    root = nodes[0]
    del nodes
    return root, N


def list_of_lists():
    outer = [[[] for _ in range(999)] for _ in range(1000)]
    return outer, 1 + 1000 + 1000 * 999


def measure(build):
    best = []
    for _ in range(RUNS):
        gc.collect()
        gc.disable()
        keep, n = build()
        t0 = time.process_time_ns()
        found = gc.collect()
        dt = time.process_time_ns() - t0
        del keep
        gc.enable()
        gc.collect()
        best.append((dt / n, found, n))
    best.sort()
    return best[len(best) // 2]


for name, build in (("cycles", cycles), ("ring", ring), ("tree", tree),
                    ("lists", list_of_lists)):
    ns, found, n = measure(build)
    print(f"{name} {n} {ns:.2f} {found}", flush=True)
