#!/usr/bin/env python3
"""check-layout.py: the tree's dependency rules, checked (CTest: layout_deps, label unit).

1. Folders depend only downward, in the data-path order of LAYERS: a file's quoted #include
   must resolve to its own folder, a folder before it in LAYERS, the build's generated
   lg_version.h, or a public header under include/. preload/ and analyzer/ are separate
   branches above trace/: the shim never includes the analyzer, nor the analyzer the shim.
2. No circle between files: with a file and its header taken as one module (x.c + x.h), the
   graph of module includes inside the source folders has no cycle.
Prints every violation and exits 1 if there is one; exits 0 with a one-line summary otherwise.
usage: check-layout.py [REPO_ROOT]"""
import os, re, sys

# (folder, rank, branch). A file may include from a folder whose rank is lower and whose branch
# is its own or "base", or from its own folder.
LAYERS = [
    ("common", 0, "base"),
    ("trace", 1, "base"),
    ("preload", 2, "shim"),
    ("analyzer/replay", 2, "analyzer"),
    ("analyzer/collect", 3, "analyzer"),
    ("analyzer/symbols", 4, "analyzer"),
    ("analyzer/model", 5, "analyzer"),
    ("analyzer/ci", 6, "analyzer"),
    ("analyzer/report", 7, "analyzer"),
    ("analyzer/cli", 8, "analyzer"),
]
GENERATED = {"lg_version.h"}
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(rel):
    best = None
    for name, rank, branch in LAYERS:
        if rel == name or rel.startswith(name + "/"):
            if best is None or len(name) > len(best[0]):
                best = (name, rank, branch)
    return best


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    files = {}
    for name, _, _ in LAYERS:
        for d, _, fs in os.walk(os.path.join(root, name)):
            for f in fs:
                if f.endswith((".c", ".h")):
                    rel = os.path.relpath(os.path.join(d, f), root)
                    files[rel] = open(os.path.join(root, rel), errors="replace").read()
    by_base = {}
    for rel in files:
        by_base.setdefault(os.path.basename(rel), []).append(rel)
    errors, edges = [], {}
    for rel, text in sorted(files.items()):
        me = folder_of(rel)
        mod = os.path.splitext(rel)[0]
        for inc in INC.findall(text):
            if inc in GENERATED:
                continue
            # as the compiler looks: beside the file first, then the include directories
            near = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
            if near in files:
                target = near
            elif os.path.exists(os.path.join(root, "include", inc)):
                continue
            else:
                cands = [c for c in by_base.get(os.path.basename(inc), []) if c.endswith(inc)]
                if len(cands) != 1:
                    errors.append("%s: #include \"%s\": %s" % (rel, inc,
                                  "not found" if not cands else "ambiguous: " + ", ".join(cands)))
                    continue
                target = cands[0]
            to = folder_of(target)
            if to[0] != me[0] and not (to[1] < me[1] and to[2] in ("base", me[2])):
                errors.append("%s includes %s: %s may not depend on %s" % (rel, target, me[0], to[0]))
            tmod = os.path.splitext(target)[0]
            if tmod != mod:
                edges.setdefault(mod, set()).add(tmod)
    # cycles between modules (iterative DFS, colours)
    colour, stack_path = {}, []
    for start in sorted(edges):
        if colour.get(start):
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        colour[start] = 1
        stack_path.append(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack_path.pop()
                work.pop()
            elif colour.get(nxt) == 1:
                cyc = stack_path[stack_path.index(nxt):] + [nxt]
                errors.append("circle between files: " + " -> ".join(cyc))
            elif not colour.get(nxt):
                colour[nxt] = 1
                stack_path.append(nxt)
                work.append((nxt, iter(sorted(edges.get(nxt, ())))))
    for e in errors:
        print(e)
    if errors:
        print("layout: %d violation(s)" % len(errors))
        return 1
    print("layout: %d files in %d folders, dependencies downward, no circle" %
          (len(files), len(LAYERS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
