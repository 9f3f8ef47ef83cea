// A threaded Rust program for the Memcheck comparison (memcheck_real_rust_churn): four threads
// churn the heap through Rust's own containers -- Vec growth (realloc), String formatting,
// boxed slices of 16 B to 64 KiB, a BTreeMap -- then each leaks through Box::leak: a boxed
// slice whose reference is dropped (definitely lost), a node whose box owns a child box
// (definite + indirect), and one kept in a static (still reachable). Deterministic: no
// randomness, no clock. Built with rustc when it is on PATH (tests/leakcheck/CMakeLists.txt).
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::thread;

static KEPT: Mutex<Vec<&'static [u64]>> = Mutex::new(Vec::new());

struct Node {
    tag: u64,
    child: Box<[u64; 16]>,
}

fn churn(index: u64, rounds: u64) -> u64 {
    let mut state = 0x2545f4914f6cdd1d_u64 ^ (index + 1).wrapping_mul(0x9e3779b97f4a7c15);
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(2685821657736338717)
    };
    let mut live: Vec<Option<Box<[u8]>>> = (0..128).map(|_| None).collect();
    let mut words: Vec<String> = Vec::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut sum = 0u64;
    for round in 0..rounds {
        let r = next();
        let slot = (r % 128) as usize;
        let size = (16usize << (r >> 8) % 13).min(65536);
        live[slot] = if live[slot].is_some() { None } else { Some(vec![r as u8; size].into_boxed_slice()) };
        let w = format!("w{}-{}", r % 97, index);
        *counts.entry(w.clone()).or_insert(0) += 1;
        words.push(w);
        if words.len() > 1000 {
            sum += words.drain(..500).map(|s| s.len() as u64).sum::<u64>();
            words.shrink_to_fit();
        }
        if round % 64 == 0 {
            counts.retain(|_, n| *n > 1);
        }
    }
    // the leaks (black_box: the optimizer may not drop an allocation nothing reads): 100 +
    // index bytes lost; a node (16 bytes) owning a child (128 bytes) lost; 8 * (4 + index)
    // bytes kept in a static
    let lost: &'static mut [u8] = Box::leak(black_box(vec![7u8; 100 + index as usize].into_boxed_slice()));
    sum += black_box(&*lost)[0] as u64;
    let node: &'static mut Node = Box::leak(black_box(Box::new(Node { tag: index, child: Box::new([index; 16]) })));
    sum += black_box(&*node).tag + node.child[3];
    let kept: &'static [u64] = Box::leak(black_box(vec![index; 4 + index as usize].into_boxed_slice()));
    KEPT.lock().unwrap().push(kept);
    sum + counts.len() as u64 + live.iter().flatten().count() as u64
}

fn main() {
    let rounds: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20000);
    let handles: Vec<_> = (0..4).map(|i| thread::spawn(move || churn(i, rounds))).collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("{} {}", total, KEPT.lock().unwrap().len());
}
