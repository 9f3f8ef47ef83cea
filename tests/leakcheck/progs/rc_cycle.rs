/* A Rust Rc cycle: two nodes of 64 bytes each (Rc's two counts, RefCell's flag, the link and
 * a payload of 32 bytes) point at each other through Rc<RefCell<Node>>, and both handles are
 * dropped: each count stays at 1, so neither is freed. Nothing else points at them: one is
 * definitely lost and the other indirectly, one cycle (Memcheck: 64 B definite, 64 B
 * indirect). Still reachable: Rust's runtime keeps blocks of its own (the stack-overflow
 * handler's thread table when it installs its handler), hence at least 0.
 * EXPECT definite=64/1 indirect=64/1 possible=0/0 reachable>=0/0 cycles=1 */
use std::cell::RefCell;
use std::rc::Rc;

struct Node {
    next: Option<Rc<RefCell<Node>>>,
    payload: [u64; 4],
}

fn make_cycle() -> u64 {
    let a = Rc::new(RefCell::new(Node { next: None, payload: [1; 4] }));
    let b = Rc::new(RefCell::new(Node { next: Some(a.clone()), payload: [2; 4] }));
    a.borrow_mut().next = Some(b.clone());
    let sum = a.borrow().payload[0] + b.borrow().payload[0];
    drop(a);
    drop(b);
    sum
}

fn main() {
    std::process::exit(if make_cycle() == 3 { 0 } else { 1 });
}
