#!/usr/bin/env python3
"""The transparency suite (issue #13): real programs from Debian's packages must behave under
`leakgraph run` exactly as without it. This driver owns the transparency_ test cases: the
table CASES of programs with their inputs, and the ldd check of the shim against
allowed_libs.txt. The scaffolding (command line, running leakgraph, reading reports,
check/fail, the verdict and SKIP) is tests/lib/lgdriver.py; it must not be copied here.

A case runs its command twice, each time in a fresh directory WORK/NAME/{native,traced} under
the build tree with the same input files written into it, the same environment (fixed locale,
time zone, HOME, git identity and dates, hash seeds) and the same stdin: once untraced, once
under `leakgraph run --quiet` with the traces written outside that directory. It requires
  - the same exit status (a death by signal N counts as 128+N, as `leakgraph run` reports it),
  - the same stdout, byte for byte (and the same stderr where the case says so),
  - for every trace the run wrote (the main process's and every child's), a report:
    `leakgraph report --format json TRACE` exits 0 and its output parses as JSON.
Nothing is normalised: a case whose program prints times, pids or paths is given inputs that
make its output fixed (tar --mtime, git dates, relative paths), or sends that part elsewhere.
A case whose program is not installed passes with "SKIP: ..." (CTest's
SKIP_REGULAR_EXPRESSION turns it into a skip); scripts/install-deps.sh installs them.

Usage: driver.py --bin BINDIR --work DIR NAME          (a case of CASES)
       driver.py --bin BINDIR --work DIR --allowed FILE ldd   (the shim's libraries)
"""
import gzip, json, os, re, shutil, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lgdriver
from lgdriver import A, check, fail

# How long one run may take before the test fails on it instead of hanging (CTest's own
# timeout of these tests is 300 s): the slowest case (the JVM) takes ~10 s traced.
RUN_TIMEOUT = 120


# ---- inputs -------------------------------------------------------------------------------

def numbers(n, seed=1):
    """n lines of pseudo-random numbers with a word (a fixed LCG: the same bytes every time),
    ~16 bytes a line: text that compresses like real data and sorts non-trivially."""
    words = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")
    x, out = seed, []
    for i in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        out.append("%d %s %d\n" % (x >> 40, words[(x >> 20) & 7], i))
    return "".join(out)


DATA = numbers(2000)                # a small text file, data.txt, in every case's directory
BIG = numbers(250000, seed=7)       # ~4.5 MB, big.txt, for the multi-threaded tools

HELLO_C = r"""#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct pt { int x, y; };
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void)
{
    int v[] = {5, 3, 9, 1, 7};
    qsort(v, 5, sizeof v[0], cmp);
    char *s = strdup("hello from C");
    for (int i = 0; i < 5; i++) printf("%d ", v[i]);
    printf("\n%s %.6f\n", s, sqrt(2.0));
    free(s);
    return 0;
}
"""

HELLO_CPP = r"""#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
int main()
{
    std::map<std::string, int> m{{"one", 1}, {"two", 2}, {"three", 3}};
    for (auto &[k, v] : m) std::cout << k << '=' << v << '\n';
    std::vector<long> sums(4);
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&sums, t] { for (long i = 0; i < 100000; i++) sums[t] += i % (t + 2); });
    for (auto &t : ts) t.join();
    for (long s : sums) std::cout << s << '\n';
    try { throw std::runtime_error("caught"); } catch (const std::exception &e) { std::cout << e.what() << '\n'; }
    return 0;
}
"""

HELLO_RS = r"""use std::collections::BTreeMap;
use std::thread;
fn main() {
    let mut m = BTreeMap::new();
    for w in "the quick brown fox jumps over the lazy dog the end".split(' ') { *m.entry(w).or_insert(0) += 1; }
    println!("{:?}", m);
    let hs: Vec<_> = (0..3u64).map(|t| thread::spawn(move || (0..100000u64).map(|i| i % (t + 2)).sum::<u64>())).collect();
    for h in hs { println!("{}", h.join().unwrap()); }
}
"""

MAKEFILE = """\
OBJS := main.o util.o
CFLAGS := -O1 -Wall
all: app
\t@./app $(words $(OBJS)) $(shell echo from-shell)
app: $(OBJS)
\t$(CC) -o $@ $^
%.o: %.c
\t$(CC) $(CFLAGS) -c -o $@ $<
.PHONY: all
"""

CMAKELISTS = """\
cmake_minimum_required(VERSION 3.13)
project(tiny C)
add_executable(hello hello.c)
target_link_libraries(hello m)
"""

XML = """<?xml version="1.0"?>
<catalog><item id="1" n="3">first &amp; foremost</item><item id="2" n="5"><![CDATA[second <raw>]]></item>
<item id="3" n="8">third</item><!-- a comment --><group><item id="4" n="13">nested</item></group></catalog>
"""

JSON = json.dumps({"items": [{"n": i, "name": "item%d" % i, "tags": ["t%d" % (i % 3)]}
                             for i in range(50)], "meta": {"version": 2, "ok": True}})

SQL = """\
CREATE TABLE t(id INTEGER PRIMARY KEY, word TEXT, n INTEGER);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)
INSERT INTO t(word, n) SELECT printf('w%03d', i % 97), i * i % 1009 FROM c;
CREATE INDEX tn ON t(n);
SELECT word, count(*), sum(n) FROM t GROUP BY word ORDER BY 3 DESC LIMIT 5;
SELECT json_object('max', max(n), 'min', min(n), 'avg', round(avg(n), 3)) FROM t;
SELECT group_concat(id) FROM (SELECT id FROM t WHERE n BETWEEN 100 AND 110 ORDER BY id);
"""

DIFF_A = "".join("line %d\n" % i for i in range(30))
DIFF_B = DIFF_A.replace("line 7\n", "line seven\n").replace("line 20\n", "") + "added\n"
PATCH = """--- a.txt
+++ a.txt
@@ -6,3 +6,3 @@
 line 5
 line 6
-line 7
+line seven
@@ -20,3 +20,2 @@
 line 18
 line 19
-line 20
"""

SSH_PUB = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIrWIEVi0aB4ZKHRUkkDFC47qKEox3vztUFtTTyzAAM7"
           " lg@test\n")

MANPAGE = """.TH TINY 1 2020-01-01 "tiny 1.0"
.SH NAME
tiny \\- a page for the transparency suite
.SH SYNOPSIS
.B tiny
.RI [ options ]
.SH DESCRIPTION
.B tiny
does nothing, with
.I emphasis
and a table:
.TS
l l.
one\ttwo
three\tfour
.TE
"""

SRC_TREE = {"src/a.txt": "alpha\n" * 100, "src/b.txt": DATA[:5000], "src/sub/c.txt": "gamma\n",
            "src/sub/d.bin": bytes(range(256)) * 16, "src/empty.txt": ""}

TAR_OPTS = "--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner"


# ---- the cases ----------------------------------------------------------------------------

CASES = {}


def case(name, cmd, need=None, files=None, stdin=b"", stderr=False, env=None, setup=None, want=0):
    """One program: cmd is a list, or a string run by `sh -c`; {dir} in it becomes the
    absolute path of the case's directory. need: the executables that must be installed
    (the first word of cmd by default). files: relative path -> str or bytes, written into
    the directory; setup(dir): more preparation, untraced. stderr: compare stderr too.
    want: the exit status the untraced run must have (so that a case that no longer does
    what it means, e.g. a usage error, fails instead of comparing two failures)."""
    if need is None:
        need = [cmd[0] if isinstance(cmd, list) else cmd.split()[0]]
    CASES[name] = dict(cmd=cmd, need=need, files=files or {}, stdin=stdin, stderr=stderr,
                       env=env or {}, setup=setup, want=want)


def compile_c(flags, src="hello.c", out="hello"):
    """A setup step: compile the case's C file with gcc (untraced, before both runs)."""
    def step(d):
        subprocess.run(["gcc"] + flags + ["-o", out, src], cwd=d, check=True)
    return step


def rustup_homes():
    """A rustup install finds its toolchains through RUSTUP_HOME and CARGO_HOME, by default
    under $HOME, which the cases set to their own directory: the real ones, where they exist."""
    homes = {"RUSTUP_HOME": os.environ.get("RUSTUP_HOME") or os.path.expanduser("~/.rustup"),
             "CARGO_HOME": os.environ.get("CARGO_HOME") or os.path.expanduser("~/.cargo")}
    return {k: v for k, v in homes.items() if os.path.isdir(v)}


# Shells
case("bash", ["bash", "-c", r"""
declare -A h=([one]=1 [two]=2); a=(x y z)
for k in $(printf '%s\n' "${!h[@]}" | sort); do echo "$k=${h[$k]}"; done
echo "${#a[@]} ${a[*]^^} $((2**20))"
read -r first rest < <(printf 'p q r\n'); echo "$first|$rest"
x=$(echo sub | tr a-z A-Z); echo "$x"
f() { local n=$1; (( n <= 1 )) && echo 1 || echo $(( n * $(f $((n-1))) )); }; f 10
sleep 0.01 & wait $!; echo "bg=$?"
(exit 4); echo "sub=$?"
exit 3"""], want=3)
case("dash", ["dash", "script.sh", "arg1", "arg 2"], files={"script.sh": r"""
set -e
count() { n=0; while read -r line; do n=$((n + 1)); done; echo "$n"; }
printf '%s\n' "$@"
head -n 50 data.txt | count
cat <<EOF
here-doc with $# args
EOF
trap 'echo trapped' EXIT
v=$(sort -n data.txt | head -n 1); echo "min line: $v"
case "$1" in arg*) echo matched ;; *) echo no ;; esac
exit 5
"""}, want=5)
case("sh_pipeline", "sort -k2,2 -k1,1n data.txt | uniq -c -f1 | awk '{print $1, $3}' | head -n 8 "
     "&& cut -d' ' -f2 data.txt | sort | uniq -c", need=["sh", "sort", "uniq", "awk", "cut"])

# Interpreters with modules
case("python3_json", ["python3", "-c", r"""
import json, collections
d = json.load(open('data.json'))
c = collections.Counter(t for i in d['items'] for t in i['tags'])
print(json.dumps({'sum': sum(i['n'] for i in d['items']), 'tags': c}, sort_keys=True, indent=1))
print(json.loads('[1, 2.5, "x", null, true]'))
"""])
case("python3_sqlite3", ["python3", "-c", r"""
import sqlite3
db = sqlite3.connect('t.db')
db.execute('create table t(k text primary key, v integer)')
db.executemany('insert into t values (?, ?)', [('k%04d' % i, i * i % 977) for i in range(3000)])
db.commit()
print(db.execute('select count(*), sum(v), max(k) from t').fetchone())
print(db.execute("select k from t where v between 10 and 12 order by k").fetchall())
db.close()
"""])
case("python3_ctypes", ["python3", "-c", r"""
import ctypes, ctypes.util
name = ctypes.util.find_library('c')
print(name)
libc = ctypes.CDLL(name)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
p = libc.malloc(100); ctypes.memset(p, 65, 99); ctypes.memset(p + 99, 0, 1)
print(ctypes.string_at(p, 5), libc.strlen(ctypes.c_char_p(p)))
libc.free(p)
buf = ctypes.create_string_buffer(32)
libc.snprintf(buf, 32, b'%d-%s', 42, b'ok'); print(buf.value)
cmp = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
arr = (ctypes.c_int * 6)(5, 2, 9, 1, 7, 3)
libc.qsort(arr, 6, ctypes.sizeof(ctypes.c_int), cmp(lambda a, b: a[0] - b[0])); print(list(arr))
"""])
case("python3_threads", ["python3", "-c", r"""
import hashlib, zlib, concurrent.futures as cf
data = open('big.txt', 'rb').read()
chunks = [data[i:i + 500000] for i in range(0, len(data), 500000)]
with cf.ThreadPoolExecutor(4) as ex:
    hs = list(ex.map(lambda c: hashlib.sha256(zlib.compress(c, 6)).hexdigest(), chunks))
print(len(hs), hs[0], hs[-1])
"""])
case("python3_multiprocessing", ["python3", "-c", r"""
import multiprocessing as mp
def sq(x): return x * x
if __name__ == '__main__':
    mp.set_start_method('fork')
    with mp.Pool(2) as p: print(p.map(sq, range(20)))
    q = mp.Queue(); pr = mp.Process(target=q.put, args=('child says hi',)); pr.start()
    print(q.get()); pr.join(); print('exitcode', pr.exitcode)
"""])
case("python3_subprocess", ["python3", "-c", r"""
import subprocess, sys
print(subprocess.run(['sort', '-r'], input=b'a\nc\nb\n', capture_output=True).stdout)
print(subprocess.check_output(['sh', '-c', 'echo $((6 * 7)); exit 0']))
r = subprocess.run([sys.executable, '-c', 'import sys; sys.exit(9)']); print('child', r.returncode)
"""])
case("python3_stdlib", ["python3", "-c", r"""
import bz2, decimal, lzma, re, unicodedata, xml.etree.ElementTree as ET, zlib, struct
t = ET.parse('doc.xml'); print([i.get('id') for i in t.iter('item')])
decimal.getcontext().prec = 40; print(decimal.Decimal(2).sqrt())
b = open('data.txt', 'rb').read()
print(len(bz2.compress(b)), len(lzma.compress(b, preset=1)), zlib.crc32(b))
print(re.findall(r'(\w+) (\d+)$', b.decode(), re.M)[:3], unicodedata.name('\u00e9'))
print(struct.pack('<iqd', 1, -2, 0.5).hex())
"""])
case("perl_modules", ["perl", "-MData::Dumper", "-MDigest::MD5=md5_hex", "-MList::Util=sum,max",
                      "-MPOSIX=floor", "-MStorable=freeze,thaw", "-MEncode", "-e", r"""
$Data::Dumper::Sortkeys = 1; $Data::Dumper::Indent = 1;
my %h; while (<>) { my @f = split; $h{$f[1]} += $f[0] % 1000 }
print Dumper(\%h);
print md5_hex(join ',', map { "$_=$h{$_}" } sort keys %h), "\n";
print sum(values %h), ' ', max(values %h), ' ', floor(3.7), "\n";
my $t = thaw(freeze([1, {a => [2, 3]}])); print $t->[1]{a}[1], "\n";
print length(Encode::encode('UTF-8', "\x{e9}\x{263a}")), "\n";
""", "data.txt"], env={"PERL_HASH_SEED": "0"})
case("perl_threads", ["perl", "-Mthreads", "-e", r"""
my @t = map { my $n = $_; threads->create(sub { my $s = 0; $s += $_ % ($n + 2) for 1 .. 200000; $s }) } 1 .. 4;
print $_->join, "\n" for @t;
my $pid = open(my $fh, '-|') // die; if (!$pid) { print "from child\n"; exit 0 } print scalar <$fh>;
"""])
case("tclsh", ["tclsh", "script.tcl"], files={"script.tcl": r"""
set d [dict create]
set f [open data.txt]
while {[gets $f line] >= 0} { dict incr d [lindex $line 1] }
close $f
foreach k [lsort [dict keys $d]] { puts "$k [dict get $d $k]" }
puts [format "%.5f %x %s" [expr {atan(1) * 4}] 255 [string map {a A} banana]]
puts [clock format 86400 -gmt 1 -format "%Y-%m-%d %H:%M"]
puts [exec sh -c "echo from exec"]
proc fib {n} { expr {$n < 2 ? $n : [fib [expr {$n - 1}]] + [fib [expr {$n - 2}]]} }
puts [fib 18]
exit 2
"""}, want=2)
case("lua", ["lua5.4", "script.lua"], files={"script.lua": r"""
local t = {}
for line in io.lines("data.txt") do local n, w = line:match("(%d+) (%a+)"); t[#t + 1] = tonumber(n) end
table.sort(t); print(#t, t[1], t[#t])
local co = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i * i) end end)
print(co(), co(), co())
print(string.format("%5.2f %s %q", math.pi, ("x"):rep(3), "a\nb"))
local p = io.popen("echo from popen"); print(p:read("l")); p:close()
os.exit(6)
"""}, want=6)
case("node", ["node", "-e", r"""
const crypto = require('crypto'), zlib = require('zlib'), fs = require('fs');
const { Worker } = require('worker_threads');
const data = fs.readFileSync('data.txt');
console.log(crypto.createHash('sha256').update(data).digest('hex'));
console.log(zlib.gzipSync(data, { level: 9 }).length, JSON.stringify({ a: [1, 2], b: 'x' }));
const w = new Worker('const { parentPort } = require("worker_threads"); parentPort.postMessage(6 * 7);', { eval: true });
w.on('message', m => {
  console.log('worker', m);
  setTimeout(() => Promise.resolve(5).then(v => console.log('later', v)), 10);
});
"""])

# Compilers driving their children
case("gcc", "gcc -O2 -Wall -o hello hello.c -lm && ./hello", need=["gcc"],
     files={"hello.c": HELLO_C})
case("gpp", "g++ -std=c++17 -O1 -pthread -o hello hello.cpp && ./hello", need=["g++"],
     files={"hello.cpp": HELLO_CPP})
case("clang", "clang -O1 -o hello hello.c -lm && ./hello", need=["clang"],
     files={"hello.c": HELLO_C})
case("rustc", "rustc -O -o hello hello.rs && ./hello", need=["rustc"], files={"hello.rs": HELLO_RS},
     env=rustup_homes())
case("make", ["make", "-s", "CC=gcc"], need=["make", "gcc"],
     files={"Makefile": MAKEFILE,
            "main.c": '#include <stdio.h>\nint twice(int);\nint main(int c, char **v)'
                      '{ printf("%s %s %d\\n", v[1], v[2], twice(21)); return 0; }\n',
            "util.c": "int twice(int x) { return 2 * x; }\n"})
case("cmake", "cmake -S . -B b -G 'Unix Makefiles' >/dev/null && cmake --build b >/dev/null "
     "&& ./b/hello", need=["cmake", "make", "cc"],
     files={"CMakeLists.txt": CMAKELISTS, "hello.c": HELLO_C})
case("java_version", ["java", "-version"], stderr=True)
case("java_source", ["java", "Hello.java", "x", "y"], files={"Hello.java": r"""
import java.util.*;
import java.util.stream.*;
public class Hello {
    public static void main(String[] a) throws Exception {
        Map<String, Integer> m = new TreeMap<>();
        for (String w : "to be or not to be".split(" ")) m.merge(w, 1, Integer::sum);
        System.out.println(m + " " + String.join(",", a));
        Thread t = new Thread(() -> System.out.println(IntStream.range(0, 1000).sum())); t.start(); t.join();
        System.exit(7);
    }
}
"""}, want=7)
case("gdb_expr", ["gdb", "-batch", "-nx", "-ex", "print 6 * 7", "-ex", "print sizeof(long)",
                  "-ex", "python print(sum(range(10)))", "-ex", 'print $_streq("a", "a")'])
case("gdb_file", ["gdb", "-batch", "-nx", "-ex", "info line main", "-ex", "ptype struct pt",
                  "-ex", "info functions cmp", "./hello"], need=["gdb", "gcc"],
     files={"hello.c": HELLO_C}, setup=compile_c(["-g", "-O0"]))
case("objdump", ["objdump", "-d", "--no-show-raw-insn", "hello.o"], need=["objdump", "gcc"],
     files={"hello.c": HELLO_C}, setup=compile_c(["-O1", "-c"], out="hello.o"))
case("readelf", ["readelf", "-hSs", "-W", "hello.o"], need=["readelf", "gcc"],
     files={"hello.c": HELLO_C}, setup=compile_c(["-O1", "-c"], out="hello.o"))

# Crypto, version control, transfer
KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
case("openssl_enc", ["openssl", "enc", "-aes-256-cbc", "-K", KEY, "-iv", KEY[:32], "-a",
                     "-in", "data.txt"])
case("openssl_dgst", ["openssl", "dgst", "-sha256", "-sha512", "-r", "data.txt", "big.txt"])
case("gpg", ["gpg", "--homedir", "g", "--batch", "--print-md", "SHA256", "data.txt"],
     setup=lambda d: os.mkdir(os.path.join(d, "g"), 0o700))
case("ssh_keygen", ["ssh-keygen", "-l", "-E", "sha256", "-f", "key.pub"], files={"key.pub": SSH_PUB})
GIT_ENV = {"GIT_AUTHOR_NAME": "Lg Test", "GIT_AUTHOR_EMAIL": "lg@example.org",
           "GIT_COMMITTER_NAME": "Lg Test", "GIT_COMMITTER_EMAIL": "lg@example.org",
           "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
           "GIT_CONFIG_NOSYSTEM": "1"}
case("git", "git init -q -b main repo && cd repo && cp ../data.txt . && git add data.txt "
     "&& git commit -q -m first && echo more >> data.txt && git commit -q -am second "
     "&& git log --format='%H %an %ad %s' --date=iso-strict && git diff --stat HEAD~1 "
     "&& git gc -q && git fsck --no-progress && git cat-file -p HEAD && git rev-list --count HEAD",
     need=["git"], env=GIT_ENV)
case("curl", ["curl", "-sS", "-w", "\n%{size_download} %{num_redirects}\n", "file://{dir}/data.txt"])

# Archives and compressors (tar drives the compressor as its child)
for n, flag, need in (("xz", "-J", "xz"), ("gz", "-z", "gzip"), ("bz2", "-j", "bzip2"),
                      ("zstd", "--zstd", "zstd")):
    case("tar_" + n, "tar %s %s -cf a.tar src && tar %s -tvf a.tar && tar %s -xOf a.tar | sha256sum"
         % (TAR_OPTS, flag, flag, flag), need=["tar", need, "sha256sum"], files=SRC_TREE)
case("xz_threads", ["xz", "-T2", "-3", "--block-size=1MiB", "-c", "big.txt"])
case("zstd_threads", ["zstd", "-T2", "-q", "-3", "-B1048576", "-c", "big.txt"])
case("sort_parallel", ["sort", "--parallel=2", "-S", "1M", "-k2,2", "-k1,1n", "big.txt"])
case("gzip", ["gzip", "-9", "-n", "-c", "data.txt"])
case("bzip2", ["bzip2", "-9", "-c", "data.txt"])
case("lz4", ["lz4", "-9", "-c", "data.txt"])
case("zip", "zip -q -X -r a.zip src && unzip -Z1 a.zip && unzip -p a.zip src/b.txt | sha256sum",
     need=["zip", "unzip", "sha256sum"], files=SRC_TREE,
     setup=lambda d: [os.utime(os.path.join(r, f), (0, 0)) for r, ds, fs in
                      os.walk(os.path.join(d, "src")) for f in ds + fs])

# Tools that read formats
case("file", ["file", "-b", "data.txt", "hello.c", "data.gz", "doc.xml", "/bin/true"],
     files={"hello.c": HELLO_C, "data.gz": gzip.compress(DATA.encode(), mtime=0)})
case("sqlite3", ["sqlite3", "t.db"], stdin=SQL.encode())
case("xmllint_format", ["xmllint", "--format", "doc.xml"])
case("xmllint_xpath", ["xmllint", "--xpath", "sum(//item/@n)", "doc.xml"])
case("jq", ["jq", "-S", "{total: (.items | map(.n) | add), names: [.items[:3][].name], meta}",
            "data.json"])
case("gawk", ["gawk", r"""{ s[$2] += $1 % 1000; n++ }
END { k = asorti(s, ks); for (i = 1; i <= k; i++) printf "%s %d\n", ks[i], s[ks[i]];
      print n, gensub(/(a+)/, "<\\1>", "g", "banana"); srand(1); print int(rand() * 1000) }""",
              "data.txt"])
case("m4", ["m4", "in.m4"], files={"in.m4": "define(`twice', `$1$1')dnl\n"
                                   "define(`cnt', `ifelse($1, 0, `', `$1 cnt(decr($1))')')dnl\n"
                                   "twice(ab) cnt(5) len(hello) eval(2**10)\n"})
case("bc", ["bc", "-l"], stdin=b"scale=40\n4*a(1)\ne(1)\nsqrt(2)\n2^100\n")
case("grep_match", ["grep", "-c", "-E", "^[0-9]+ (alpha|beta) ", "data.txt"])
case("grep_nomatch", ["grep", "-q", "no such text", "data.txt"], want=1)
case("sed", ["sed", "-n", "-E", r"1,200s/^([0-9]+) ([a-z]+) .*/\2:\1/p", "data.txt"])
case("find", "find src -type f -printf '%P %s\\n' | sort", need=["find", "sort"], files=SRC_TREE)
case("diff", ["diff", "a.txt", "b.txt"], files={"a.txt": DIFF_A, "b.txt": DIFF_B}, want=1)
case("patch", "patch -p0 -i x.diff && cat a.txt", need=["patch"],
     files={"a.txt": DIFF_A, "x.diff": PATCH})
case("iconv", ["iconv", "-f", "UTF-8", "-t", "UTF-16LE", "u.txt"],
     files={"u.txt": "caf\u00e9 \u20ac \u263a \u65e5\u672c\n" * 20})
case("iconv_latin", ["iconv", "-f", "UTF-8", "-t", "ISO-8859-15//TRANSLIT", "u.txt"],
     files={"u.txt": "caf\u00e9 \u20ac na\u00efve \u2018q\u2019\n" * 20})
case("groff", ["groff", "-t", "-T", "utf8", "-man", "tiny.1"], files={"tiny.1": MANPAGE})
case("sha256sum", ["sha256sum", "data.txt", "big.txt"])
case("base64", ["base64", "data.txt"])
case("od", ["od", "-A", "x", "-t", "x1z", "-N", "512", "data.txt"])
case("xxd", ["xxd", "-l", "256", "data.txt"])
case("dpkg_query", ["dpkg-query", "-W", "-f", "${Package} ${Status}\\n", "coreutils", "bash"])

# Files every case's directory gets.
COMMON = {"data.txt": DATA, "big.txt": BIG, "doc.xml": XML, "data.json": JSON}


# ---- running a case -----------------------------------------------------------------------

# The cases' PATH: Debian's programs first (not a pyenv shim or a /usr/local build that
# happens to come first on the caller's PATH), then the caller's (rustup's rustc).
PATH = "/usr/bin:/bin:" + os.environ.get("PATH", "")


def environment(d, extra):
    """The environment of both runs: the same for each (PATH kept, everything that makes
    output vary fixed)."""
    env = {"PATH": PATH, "HOME": d, "LC_ALL": "C",
           "LANG": "C", "TZ": "UTC", "TERM": "dumb", "TMPDIR": os.path.join(d, "tmp"),
           "SOURCE_DATE_EPOCH": "0", "PYTHONHASHSEED": "0", "PERL_HASH_SEED": "0"}
    env.update(extra)
    return env


def prepare(c, d):
    """A fresh directory d with the case's inputs."""
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "tmp"))
    for rel, text in list(COMMON.items()) + list(c["files"].items()):
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(text if isinstance(text, bytes) else text.encode())
    if c["setup"]:
        c["setup"](d)


def command(c, d):
    cmd = c["cmd"]
    if isinstance(cmd, str):
        cmd = ["sh", "-c", cmd]
    return [a.replace("{dir}", d) for a in cmd]


def status(rc):
    """A process's exit status as `leakgraph run` gives it: 128+N for a death by signal N."""
    return 128 - rc if rc < 0 else rc


def first_difference(a, b):
    """Where two outputs first differ, for the failure message."""
    la, lb = a.split(b"\n"), b.split(b"\n")
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else b"<end>"
        y = lb[i] if i < len(lb) else b"<end>"
        if x != y:
            return "line %d: untraced %r, traced %r (lengths %d, %d)" % (
                i + 1, x[:200], y[:200], len(a), len(b))
    return "equal"


# Cases run again preloaded by hand (LD_PRELOAD, LEAKGRAPH_OUTPUT) instead of under `leakgraph
# run`, as hand_NAME: there the shim starts its own collector, which the program must not see
# either (shells and make wait for their children, python's multiprocessing and git fork and
# exec, sort and xz run threads).
BY_HAND = ("bash", "sh_pipeline", "make", "git", "python3_multiprocessing",
           "python3_subprocess", "perl_threads", "sort_parallel", "xz_threads", "gcc")


def t_program(name, by_hand=False):
    c = CASES[name]
    for exe in c["need"]:
        if not shutil.which(exe, path=PATH):
            raise lgdriver.Skip("%s is not installed (scripts/install-deps.sh)" % exe)
    base = os.path.join(A.work, ("hand_" if by_hand else "") + name)
    results = {}
    traces_dir = lgdriver.tmpdir()
    out = os.path.join(traces_dir, "t.lgt")
    for mode in ("native", "traced"):
        d = os.path.join(base, mode)
        prepare(c, d)
        cmd = command(c, d)
        env = environment(d, c["env"])
        if mode == "traced" and by_hand:
            env.update(LD_PRELOAD=os.path.realpath(lgdriver.shim()), LEAKGRAPH_OUTPUT=out)
        elif mode == "traced":
            cmd = [A.lg, "run", "--quiet", "--output", out, "--"] + cmd
        try:
            results[mode] = subprocess.run(cmd, cwd=d, env=env,
                                           input=c["stdin"], capture_output=True,
                                           timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            fail("%s run: no end within %d s (a hang)" % (mode, RUN_TIMEOUT))
            return
    n, t = results["native"], results["traced"]
    tail = lambda b: b[-1500:].decode(errors="replace")
    check(status(n.returncode) == c["want"], "the untraced run exited %d, want %d: the case "
          "is broken here\nstderr: %s" % (status(n.returncode), c["want"], tail(n.stderr)))
    check(status(n.returncode) == status(t.returncode),
          "exit status: untraced %d, traced %d\nuntraced stderr: %s\ntraced stderr: %s" %
          (status(n.returncode), status(t.returncode), tail(n.stderr), tail(t.stderr)))
    check(n.stdout == t.stdout, "stdout differs: %s\ntraced stderr: %s" %
          (first_difference(n.stdout, t.stdout), tail(t.stderr)))
    if c["stderr"]:
        check(n.stderr == t.stderr, "stderr differs: %s" % first_difference(n.stderr, t.stderr))
    found = lgdriver.traces(out) if os.path.exists(out) else []
    check(found, "the traced run wrote no trace %s" % out)
    for tr in found:
        lgdriver.report(tr, note="(trace %s)" % os.path.basename(tr))
    print("%s: exit %d, %d bytes of stdout, %d trace(s) read" %
          (name, status(n.returncode), len(n.stdout), len(found)))
    if not lgdriver.FAILS:
        shutil.rmtree(base, ignore_errors=True)


# ---- the shim's libraries -----------------------------------------------------------------

def allowed_libs(path):
    """allowed_libs.txt: the sonames the shim may need, one a line ('#' starts a comment)."""
    libs = []
    for line in open(path):
        words = line.split("#")[0].split()
        if words:
            libs.append(words[0])
    return libs


def t_ldd():
    shim = os.path.realpath(lgdriver.shim())
    r = subprocess.run(["ldd", shim], capture_output=True, text=True, timeout=60)
    if not check(r.returncode == 0, "ldd %s: exit %d: %s" % (shim, r.returncode, r.stderr)):
        return
    needed = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\S+)", line)
        name = m.group(1) if m else ""
        if not name or name.startswith("linux-vdso") or "ld-linux" in name:
            continue
        needed.append(name)
    allowed = allowed_libs(A.allowed)
    extra = [n for n in needed if n not in allowed]
    check(not extra, "the shim needs libraries not in %s: %s (ldd:\n%s)" %
          (A.allowed, " ".join(extra), r.stdout))
    print("the shim needs: %s" % " ".join(needed))
    gone = [n for n in allowed if n not in needed]
    if gone:
        print("listed but no longer needed (remove them from the list): %s" % " ".join(gone))


def main_case():
    A.lg = os.path.abspath(A.lg)  # the cases run in their own directories
    if A.name == "ldd":
        return t_ldd()
    if A.name.startswith("hand_") and A.name[5:] in BY_HAND:
        return t_program(A.name[5:], by_hand=True)
    if A.name not in CASES:
        print("unknown case", A.name)
        return 2
    return t_program(A.name)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--list":
        print(";".join(sorted(CASES) + ["hand_" + n for n in BY_HAND]))
        sys.exit(0)
    p = lgdriver.parser(__doc__, "--work")
    p.add_argument("--allowed", help="allowed_libs.txt, for the ldd case")
    p.add_argument("name")
    sys.exit(lgdriver.main(p, main_case))
