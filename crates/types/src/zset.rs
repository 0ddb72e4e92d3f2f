//! Sorted sets: members ordered by (score, member bytes), with O(1) score
//! lookup by member and O(log N) rank, select and range boundaries.
//!
//! Two representations, as Redis has, because OBJECT ENCODING reports them and
//! because small sets are far cheaper flat:
//!
//! * `Pack` ("listpack"): one vector of (score, member) kept sorted. Every
//!   operation is a scan or a binary search over at most
//!   `zset-max-listpack-entries` items.
//! * `Skip` ("skiplist"): a member arena plus a counted B+tree for order,
//!   rank and ranges, plus a member index for lookups (ZSCORE is one index
//!   probe and one arena read).
//!
//! The arena (`Tree::items`) holds each member once, with its score, at a
//! stable u32 id (freed ids are reused); the index (`Index`, a `Slots`
//! table) maps member hashes to ids. The order is a B+tree of (score, id)
//! pairs, ordered by (score, member bytes): leaves hold up to 32 pairs in
//! two sorted arrays (scores beside ids) and link to their neighbours;
//! inner nodes hold up to 32 children, the number of pairs below each, and
//! as separators the exact first pair of every child but the first. Nodes
//! live in two `Vec` arenas addressed by u32 (no unsafe).
//!
//! Why a B+tree and not the treap it replaces: a treap of N members is
//! about 2 ln N levels deep (23 at 100,000), each level a separate node,
//! most of them a cache miss and a branch the CPU cannot predict; a score
//! update walked it twice (about 50 nodes). Here a descent visits 4 nodes
//! at 100,000 members (5 at 1,000,000), the top two levels (a few dozen
//! nodes) stay in cache, and inside a node a binary search reads adjacent
//! lines of one score array. Scores are copied into the leaves and
//! separators so that descents compare scores without touching the arena;
//! member bytes are read only on a score tie. Measured with callgrind on
//! `ZADD myzset <rand> element:<rand>` over 100,000 members (pipeline 16):
//! about the same instructions per op as the treap (5,314 against 5,263),
//! 24% fewer L1 misses (43 against 57) and 21% fewer misses of a simulated
//! 1 MiB last-level cache (20 against 25); the rest of a ZADD (parsing,
//! dispatch, the index probe) is unchanged. Callgrind models no hardware
//! prefetcher, which favours the adjacent lines read here over the
//! treap's scattered nodes.
//! Memory: 24 bytes of arena and about 12/fill of leaf per member (about
//! 18 at random inserts, 13 when built in order), inner nodes about 1,
//! plus the index slot: about the treap's 40 + index.
//!
//! Operations: insert and remove are one descent plus node work (a split or
//! a merge/borrow now and then, propagating up); rank (ZRANK) sums the
//! counts left of the path; select (ZRANGE by index) descends by counts;
//! bounds by score or lex (`count_before`) descend along a predicate that
//! holds for a prefix; iteration walks the leaf links either way. A score
//! update moves the pair inside its leaf when the new place is in the same
//! leaf (checked against the neighbouring leaves at the edges; no count
//! changes); otherwise the pair leaves the order and comes back, keeping
//! its arena id. Appends at the end of the order split a leaf unevenly
//! (the left one stays full), so sets built in order (copies, store
//! results, loads) have full leaves; removals that leave more than half of
//! a node arena free rebuild the order the same way.
//!
//! A set converts from `Pack` to `Skip` when an insert would pass either
//! threshold (the caller passes them in: they are configuration). It never
//! converts back by itself; `shrink_if_small` is the explicit conversion the
//! store commands apply to their results, as Redis does.
//!
//! Invariants: no NaN score is ever stored (a free arena slot has a NaN
//! score); `Pack` is strictly sorted; in `Skip` the arena, the tree and the
//! index hold exactly the same members, each with the same score in the
//! arena and in its leaf pair; every separator is the first pair of the
//! subtree to its right; every node but the root and the last leaf is at
//! least half full.
//! Scores compare with IEEE `<`/`==`, so -0 and 0 are the same score and the
//! member decides the order.

use crate::bytes16::Bytes16;
use crate::slots::{self, Slots};
use std::cmp::Ordering;

/// Order of two (score, member) pairs.
#[inline]
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    if s1 < s2 {
        Ordering::Less
    } else if s1 > s2 {
        Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

const NIL: u32 = u32::MAX;

/// Deepest tree the fixed path arrays hold: nodes other than the root have
/// at least two children, so 32 levels cover any u32-counted set.
const MAX_HEIGHT: usize = 32;

/// Array slots of a leaf: up to 32 pairs, plus one for the moment between an
/// insert and the split it triggers. 32 rather than 64: a leaf is then 6.5
/// cache lines, of which a search touches about 4 and the shift of an
/// insert or removal the rest (callgrind with a 1 MiB last-level cache, ZADD
/// on 100,000 members: 9% fewer misses than with 64, for 1 byte a member).
const LEAF_SLOTS: usize = 33;
/// Array slots of an inner node: up to 32 children, plus one as above.
const INNER_SLOTS: usize = 33;

/// A member of the arena; a free slot has a NaN score (no stored score is NaN).
struct Item {
    member: Bytes16,
    score: f64,
}

impl Item {
    #[inline]
    fn is_free(&self) -> bool {
        self.score.is_nan()
    }
}

/// A leaf: `len` (score, member id) pairs in order, linked to its neighbours.
struct Leaf<const N: usize> {
    scores: [f64; N],
    ids: [u32; N],
    len: u32,
    prev: u32,
    next: u32,
}

impl<const N: usize> Leaf<N> {
    fn new() -> Self {
        Leaf { scores: [0.0; N], ids: [NIL; N], len: 0, prev: NIL, next: NIL }
    }

    #[inline]
    fn put(&mut self, at: usize, s: f64, id: u32) {
        let n = self.len as usize;
        self.scores.copy_within(at..n, at + 1);
        self.ids.copy_within(at..n, at + 1);
        self.scores[at] = s;
        self.ids[at] = id;
        self.len += 1;
    }

    #[inline]
    fn take(&mut self, at: usize) {
        let n = self.len as usize;
        self.scores.copy_within(at + 1..n, at);
        self.ids.copy_within(at + 1..n, at);
        self.len -= 1;
    }

    fn first(&self) -> (f64, u32) {
        (self.scores[0], self.ids[0])
    }
}

/// An inner node: `len` children with the number of pairs below each, and
/// between children `i` and `i + 1` the separator `seps[i]`: the first pair
/// (score, member id) of child `i + 1`'s subtree, exactly.
struct Inner<const N: usize> {
    sep_scores: [f64; N],
    sep_ids: [u32; N],
    children: [u32; N],
    counts: [u32; N],
    len: u32,
}

impl<const N: usize> Inner<N> {
    fn new() -> Self {
        Inner { sep_scores: [0.0; N], sep_ids: [NIL; N], children: [NIL; N], counts: [0; N], len: 0 }
    }

    /// Inserts child `c` (with `count` pairs below it) at index `at` >= 1,
    /// its first pair `sep` becoming separator `at - 1`.
    fn put(&mut self, at: usize, sep: (f64, u32), c: u32, count: u32) {
        let n = self.len as usize;
        self.children.copy_within(at..n, at + 1);
        self.counts.copy_within(at..n, at + 1);
        self.sep_scores.copy_within(at - 1..n - 1, at);
        self.sep_ids.copy_within(at - 1..n - 1, at);
        self.children[at] = c;
        self.counts[at] = count;
        (self.sep_scores[at - 1], self.sep_ids[at - 1]) = sep;
        self.len += 1;
    }

    /// Removes child `at` and the separator on its left (`at` >= 1), or
    /// child 0 and separator 0.
    fn take(&mut self, at: usize) {
        let n = self.len as usize;
        self.children.copy_within(at + 1..n, at);
        self.counts.copy_within(at + 1..n, at);
        let s = at.saturating_sub(1);
        self.sep_scores.copy_within(s + 1..n - 1, s);
        self.sep_ids.copy_within(s + 1..n - 1, s);
        self.len -= 1;
    }

    fn sep(&self, i: usize) -> (f64, u32) {
        (self.sep_scores[i], self.sep_ids[i])
    }

    fn total(&self) -> u32 {
        self.counts[..self.len as usize].iter().sum()
    }
}

/// The inner nodes of a descent (root first) and the child taken at each.
struct Path {
    node: [u32; MAX_HEIGHT],
    idx: [u32; MAX_HEIGHT],
}

impl Path {
    fn new() -> Path {
        Path { node: [NIL; MAX_HEIGHT], idx: [0; MAX_HEIGHT] }
    }
}

/// Two distinct elements of a slice, both mutable.
fn pair<T>(v: &mut [T], a: u32, b: u32) -> (&mut T, &mut T) {
    let (a, b) = (a as usize, b as usize);
    debug_assert!(a != b);
    if a < b {
        let (x, y) = v.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = v.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}

/// Puts `x` in a free slot of arena `v` (listed in `free`) or at its end;
/// returns the slot.
fn place<T>(v: &mut Vec<T>, free: &mut Vec<u32>, x: T) -> u32 {
    match free.pop() {
        Some(i) => {
            v[i as usize] = x;
            i
        }
        None => {
            v.push(x);
            (v.len() - 1) as u32
        }
    }
}

/// The first index of `scores`/`ids` for which `p` fails (`p` holds for a prefix).
#[inline(always)]
fn partition(scores: &[f64], ids: &[u32], p: impl Fn(f64, u32) -> bool) -> usize {
    let (mut lo, mut hi) = (0, scores.len().min(ids.len()));
    while lo < hi {
        let mid = (lo + hi) / 2;
        if p(scores[mid], ids[mid]) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The member arena and, over it, the order: a counted B+tree of
/// (score, member id) pairs (see the module header). `LN`/`IN` are the
/// array slots of leaves and inner nodes (capacity + 1); tests shrink them
/// to grow deep trees from few members.
pub struct Tree<const LN: usize = LEAF_SLOTS, const IN: usize = INNER_SLOTS> {
    items: Vec<Item>,
    free: Vec<u32>,
    leaves: Vec<Leaf<LN>>,
    inners: Vec<Inner<IN>>,
    free_leaves: Vec<u32>,
    free_inners: Vec<u32>,
    /// A leaf if `height` is 0, NIL when empty.
    root: u32,
    height: usize,
    len: usize,
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

impl<const LN: usize, const IN: usize> Tree<LN, IN> {
    const LEAF_MAX: usize = LN - 1;
    const LEAF_MIN: usize = (LN - 1) / 2;
    const INNER_MAX: usize = IN - 1;
    const INNER_MIN: usize = (IN - 1) / 2;

    pub fn new() -> Self {
        assert!(Self::LEAF_MIN >= 1 && Self::INNER_MIN >= 2, "node capacities too small");
        Tree {
            items: Vec::new(),
            free: Vec::new(),
            leaves: Vec::new(),
            inners: Vec::new(),
            free_leaves: Vec::new(),
            free_inners: Vec::new(),
            root: NIL,
            height: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes of the arena and the nodes (members' own heap bytes aside).
    pub fn mem_usage(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Item>()
            + (self.free.capacity() + self.free_leaves.capacity() + self.free_inners.capacity()) * 4
            + self.leaves.capacity() * std::mem::size_of::<Leaf<LN>>()
            + self.inners.capacity() * std::mem::size_of::<Inner<IN>>()
    }

    #[inline(always)]
    fn member(&self, id: u32) -> &[u8] {
        self.items[id as usize].member.as_slice()
    }

    /// True if pair (`s`, `id`) is ordered before (`ks`, `kid`), or is it.
    /// Member bytes are read only on a score tie.
    #[inline(always)]
    fn le(&self, s: f64, id: u32, ks: f64, kid: u32) -> bool {
        if s != ks {
            return s < ks;
        }
        id == kid || self.member(id) < self.member(kid)
    }

    /// True if pair (`s`, `id`) is ordered strictly before (`ks`, `kid`).
    #[inline(always)]
    fn lt(&self, s: f64, id: u32, ks: f64, kid: u32) -> bool {
        if s != ks {
            return s < ks;
        }
        id != kid && self.member(id) < self.member(kid)
    }

    fn alloc(&mut self, score: f64, member: Bytes16) -> u32 {
        place(&mut self.items, &mut self.free, Item { member, score })
    }

    fn release(&mut self, id: u32) -> (f64, Bytes16) {
        let it = &mut self.items[id as usize];
        let score = std::mem::replace(&mut it.score, f64::NAN);
        self.free.push(id);
        (score, std::mem::take(&mut it.member))
    }

    fn alloc_leaf(&mut self) -> u32 {
        place(&mut self.leaves, &mut self.free_leaves, Leaf::new())
    }

    fn alloc_inner(&mut self) -> u32 {
        place(&mut self.inners, &mut self.free_inners, Inner::new())
    }

    /// The arena item `i`, if it holds a member.
    fn live(&self, i: usize) -> Option<&Item> {
        self.items.get(i).filter(|it| !it.is_free())
    }

    /// Descends along the boundary of `p` (a predicate on pairs that holds
    /// for a prefix of the order), recording the path. Returns the leaf, the
    /// boundary's index in it and the number of pairs in the leaves before.
    #[inline(always)]
    fn descend(&self, path: &mut Path, p: impl Fn(f64, u32) -> bool) -> (u32, usize, usize) {
        let (mut x, mut before) = (self.root, 0usize);
        for d in 0..self.height {
            let n = &self.inners[x as usize];
            let seps = n.len as usize - 1;
            let c = partition(&n.sep_scores[..seps], &n.sep_ids[..seps], &p);
            before += n.counts[..c].iter().map(|&k| k as usize).sum::<usize>();
            (path.node[d], path.idx[d]) = (x, c as u32);
            x = n.children[c];
        }
        let l = &self.leaves[x as usize];
        let n = l.len as usize;
        (x, partition(&l.scores[..n], &l.ids[..n], &p), before)
    }

    /// Descends to the pair of rank `k` (< len); returns its leaf and index.
    fn descend_rank(&self, path: &mut Path, mut k: usize) -> (u32, usize) {
        let mut x = self.root;
        for d in 0..self.height {
            let n = &self.inners[x as usize];
            let mut c = 0;
            while k >= n.counts[c] as usize {
                k -= n.counts[c] as usize;
                c += 1;
            }
            (path.node[d], path.idx[d]) = (x, c as u32);
            x = n.children[c];
        }
        (x, k)
    }

    /// Finds linked member `id`: its path, leaf and index in the leaf.
    #[inline]
    fn locate(&self, path: &mut Path, id: u32) -> (u32, usize) {
        let s = self.items[id as usize].score;
        let (leaf, after, _) = self.descend(path, |x, i| self.le(x, i, s, id));
        debug_assert!(after > 0 && self.leaves[leaf as usize].ids[after - 1] == id, "member is linked");
        (leaf, after - 1)
    }

    /// Sets the separator that holds the first pair of the path's leaf (the
    /// deepest step that is not to a first child) to `key`.
    fn set_first(&mut self, path: &Path, key: (f64, u32)) {
        for d in (0..self.height).rev() {
            let c = path.idx[d] as usize;
            if c > 0 {
                let n = &mut self.inners[path.node[d] as usize];
                (n.sep_scores[c - 1], n.sep_ids[c - 1]) = key;
                return;
            }
        }
    }

    /// Links arena member `id` (not linked) into the order at its score.
    fn link(&mut self, id: u32) {
        let s = self.items[id as usize].score;
        self.len += 1;
        if self.root == NIL {
            let l = self.alloc_leaf();
            self.leaves[l as usize].put(0, s, id);
            (self.root, self.height) = (l, 0);
            return;
        }
        let mut path = Path::new();
        let (leaf, pos, _) = self.descend(&mut path, |x, i| self.le(x, i, s, id));
        for d in 0..self.height {
            self.inners[path.node[d] as usize].counts[path.idx[d] as usize] += 1;
        }
        let l = &mut self.leaves[leaf as usize];
        l.put(pos, s, id);
        let full = l.len as usize > Self::LEAF_MAX;
        if pos == 0 {
            self.set_first(&path, (s, id));
        }
        if full {
            self.split_leaf(&path, leaf, pos);
        }
    }

    /// Splits an overfull leaf in two. Appending at the very end of the
    /// order (increasing scores) leaves the left leaf full, so sets built
    /// in order (loads, copies, store results) get full leaves.
    fn split_leaf(&mut self, path: &Path, leaf: u32, pos: usize) {
        let r = self.alloc_leaf();
        let (a, b) = pair(&mut self.leaves, leaf, r);
        let n = a.len as usize;
        let at = if a.next == NIL && pos == n - 1 { n - 1 } else { n / 2 };
        b.scores[..n - at].copy_from_slice(&a.scores[at..n]);
        b.ids[..n - at].copy_from_slice(&a.ids[at..n]);
        (b.len, a.len) = ((n - at) as u32, at as u32);
        (b.prev, b.next, a.next) = (leaf, a.next, r);
        let (sep, next) = (b.first(), b.next);
        if next != NIL {
            self.leaves[next as usize].prev = r;
        }
        self.add_sibling(path, self.height, at as u32, r, (n - at) as u32, sep);
    }

    /// Inserts node `right` (with `right_count` pairs, first pair `sep`) as
    /// the right sibling of the node at depth `depth` of `path`, which keeps
    /// `left_count` pairs; splits the parent in turn if it overflows.
    fn add_sibling(
        &mut self,
        path: &Path,
        depth: usize,
        left_count: u32,
        right: u32,
        right_count: u32,
        sep: (f64, u32),
    ) {
        if depth == 0 {
            let old = self.root;
            let r = self.alloc_inner();
            let n = &mut self.inners[r as usize];
            n.children[0] = old;
            n.counts[0] = left_count;
            n.len = 1;
            n.put(1, sep, right, right_count);
            self.root = r;
            self.height += 1;
            return;
        }
        let (p, c) = (path.node[depth - 1], path.idx[depth - 1] as usize);
        let n = &mut self.inners[p as usize];
        n.counts[c] = left_count;
        n.put(c + 1, sep, right, right_count);
        if n.len as usize > Self::INNER_MAX {
            self.split_inner(path, depth - 1);
        }
    }

    /// Splits the overfull inner node at depth `depth` of `path` in halves;
    /// the separator between the halves moves up.
    fn split_inner(&mut self, path: &Path, depth: usize) {
        let x = path.node[depth];
        let r = self.alloc_inner();
        let (a, b) = pair(&mut self.inners, x, r);
        let n = a.len as usize;
        let m = n / 2;
        b.children[..n - m].copy_from_slice(&a.children[m..n]);
        b.counts[..n - m].copy_from_slice(&a.counts[m..n]);
        b.sep_scores[..n - m - 1].copy_from_slice(&a.sep_scores[m..n - 1]);
        b.sep_ids[..n - m - 1].copy_from_slice(&a.sep_ids[m..n - 1]);
        (b.len, a.len) = ((n - m) as u32, m as u32);
        let up = a.sep(m - 1);
        let (lc, rc) = (a.total(), b.total());
        self.add_sibling(path, depth, lc, r, rc, up);
    }

    /// Takes the pair at index `pos` of `leaf` (reached by `path`) out of
    /// the order, rebalancing the nodes that fall below half full.
    fn unlink_at(&mut self, path: &Path, leaf: u32, pos: usize) {
        for d in 0..self.height {
            self.inners[path.node[d] as usize].counts[path.idx[d] as usize] -= 1;
        }
        self.len -= 1;
        let l = &mut self.leaves[leaf as usize];
        l.take(pos);
        if pos == 0 {
            // The successor now begins every subtree the removed pair began.
            let succ = if l.len > 0 {
                Some(l.first())
            } else if l.next != NIL {
                let next = l.next;
                Some(self.leaves[next as usize].first())
            } else {
                None
            };
            if let Some(k) = succ {
                self.set_first(path, k);
            }
        }
        self.rebalance_leaf(path, leaf);
    }

    /// Brings an underfull leaf back to half full by merging it with a
    /// sibling or by taking pairs from one.
    fn rebalance_leaf(&mut self, path: &Path, leaf: u32) {
        let len = self.leaves[leaf as usize].len as usize;
        if self.height == 0 {
            if len == 0 {
                self.root = NIL;
                (self.leaves, self.inners) = (Vec::new(), Vec::new());
                (self.free_leaves, self.free_inners) = (Vec::new(), Vec::new());
            }
            return;
        }
        if len >= Self::LEAF_MIN {
            return;
        }
        let d = self.height - 1;
        let (p, c) = (path.node[d], path.idx[d] as usize);
        let (li, ri) = if c > 0 { (c - 1, c) } else { (c, c + 1) };
        let (la, lb) = {
            let n = &self.inners[p as usize];
            (n.children[li], n.children[ri])
        };
        let (a, b) = pair(&mut self.leaves, la, lb);
        let (na, nb) = (a.len as usize, b.len as usize);
        if na + nb <= Self::LEAF_MAX {
            a.scores[na..na + nb].copy_from_slice(&b.scores[..nb]);
            a.ids[na..na + nb].copy_from_slice(&b.ids[..nb]);
            a.len = (na + nb) as u32;
            a.next = b.next;
            let next = b.next;
            if next != NIL {
                self.leaves[next as usize].prev = la;
            }
            self.free_leaves.push(lb);
            let n = &mut self.inners[p as usize];
            n.counts[li] += n.counts[ri];
            n.take(ri);
            self.rebalance_inner(path, d);
        } else {
            let want = (na + nb) / 2;
            if na < want {
                let k = want - na;
                a.scores[na..want].copy_from_slice(&b.scores[..k]);
                a.ids[na..want].copy_from_slice(&b.ids[..k]);
                b.scores.copy_within(k..nb, 0);
                b.ids.copy_within(k..nb, 0);
            } else {
                let k = na - want;
                b.scores.copy_within(0..nb, k);
                b.ids.copy_within(0..nb, k);
                b.scores[..k].copy_from_slice(&a.scores[want..na]);
                b.ids[..k].copy_from_slice(&a.ids[want..na]);
            }
            (a.len, b.len) = (want as u32, (na + nb - want) as u32);
            let sep = b.first();
            let n = &mut self.inners[p as usize];
            (n.counts[li], n.counts[ri]) = (want as u32, (na + nb - want) as u32);
            (n.sep_scores[ri - 1], n.sep_ids[ri - 1]) = sep;
        }
    }

    /// Brings the inner node at depth `d` of `path`, which lost a child,
    /// back to half full (merging with a sibling or taking one child from
    /// it); the root gives way to its only child.
    fn rebalance_inner(&mut self, path: &Path, d: usize) {
        let x = path.node[d];
        let len = self.inners[x as usize].len as usize;
        if d == 0 {
            if len == 1 {
                self.root = self.inners[x as usize].children[0];
                self.height -= 1;
                self.free_inners.push(x);
            }
            return;
        }
        if len >= Self::INNER_MIN {
            return;
        }
        let (p, c) = (path.node[d - 1], path.idx[d - 1] as usize);
        let (li, ri) = if c > 0 { (c - 1, c) } else { (c, c + 1) };
        let (xa, xb, sep) = {
            let n = &self.inners[p as usize];
            (n.children[li], n.children[ri], n.sep(ri - 1))
        };
        let (a, b) = pair(&mut self.inners, xa, xb);
        let (na, nb) = (a.len as usize, b.len as usize);
        if na + nb <= Self::INNER_MAX {
            // The parent's separator (b's first pair) goes between them.
            a.children[na..na + nb].copy_from_slice(&b.children[..nb]);
            a.counts[na..na + nb].copy_from_slice(&b.counts[..nb]);
            (a.sep_scores[na - 1], a.sep_ids[na - 1]) = sep;
            a.sep_scores[na..na + nb - 1].copy_from_slice(&b.sep_scores[..nb - 1]);
            a.sep_ids[na..na + nb - 1].copy_from_slice(&b.sep_ids[..nb - 1]);
            a.len = (na + nb) as u32;
            self.free_inners.push(xb);
            let n = &mut self.inners[p as usize];
            n.counts[li] += n.counts[ri];
            n.take(ri);
            self.rebalance_inner(path, d - 1);
        } else if c > 0 {
            // x is b: it takes a's last child, whose first pair is a's last
            // separator; the parent's separator now begins that child.
            let (child, count, first) = (a.children[na - 1], a.counts[na - 1], a.sep(na - 2));
            a.len -= 1;
            b.children.copy_within(0..nb, 1);
            b.counts.copy_within(0..nb, 1);
            b.sep_scores.copy_within(0..nb - 1, 1);
            b.sep_ids.copy_within(0..nb - 1, 1);
            (b.children[0], b.counts[0]) = (child, count);
            (b.sep_scores[0], b.sep_ids[0]) = sep;
            b.len += 1;
            let n = &mut self.inners[p as usize];
            n.counts[li] -= count;
            n.counts[ri] += count;
            (n.sep_scores[ri - 1], n.sep_ids[ri - 1]) = first;
        } else {
            // x is a: it takes b's first child (first pair: the parent's
            // separator); b's first separator moves up.
            let (child, count, up) = (b.children[0], b.counts[0], b.sep(0));
            b.take(0);
            a.children[na] = child;
            a.counts[na] = count;
            (a.sep_scores[na - 1], a.sep_ids[na - 1]) = sep;
            a.len += 1;
            let n = &mut self.inners[p as usize];
            n.counts[li] += count;
            n.counts[ri] -= count;
            (n.sep_scores[ri - 1], n.sep_ids[ri - 1]) = up;
        }
    }

    /// Changes the score of linked member `id`. If its new place is in the
    /// same leaf (checked against the neighbouring leaves when it is at an
    /// edge), the pair moves inside the leaf and no count changes;
    /// otherwise it leaves the order and comes back. The arena slot stays.
    fn rescore(&mut self, id: u32, score: f64) {
        let mut path = Path::new();
        let (leaf, pos) = self.locate(&mut path, id);
        let l = &self.leaves[leaf as usize];
        let n = l.len as usize;
        // The old pair is before the new one iff its score is lower, so the
        // predicate still holds for a prefix of the leaf.
        let p = partition(&l.scores[..n], &l.ids[..n], |s, i| self.lt(s, i, score, id));
        let q = if p > pos { p - 1 } else { p };
        let fits_left = q > 0 || l.prev == NIL || {
            let pl = &self.leaves[l.prev as usize];
            let k = pl.len as usize - 1;
            self.lt(pl.scores[k], pl.ids[k], score, id)
        };
        let fits_right = q < n - 1 || l.next == NIL || {
            let (s, i) = self.leaves[l.next as usize].first();
            self.lt(score, id, s, i)
        };
        if fits_left && fits_right {
            self.items[id as usize].score = score;
            let l = &mut self.leaves[leaf as usize];
            l.take(pos);
            l.put(q, score, id);
            if pos == 0 || q == 0 {
                let first = l.first();
                self.set_first(&path, first);
            }
            return;
        }
        self.unlink_at(&path, leaf, pos);
        self.items[id as usize].score = score;
        self.link(id);
    }

    /// Points the order's references to arena item `p` (live) at `q`
    /// (free), and moves the item there.
    fn move_item(&mut self, p: u32, q: u32) {
        let mut path = Path::new();
        let (leaf, pos) = self.locate(&mut path, p);
        self.leaves[leaf as usize].ids[pos] = q;
        for d in 0..self.height {
            let (x, c) = (path.node[d] as usize, path.idx[d] as usize);
            if c > 0 && self.inners[x].sep_ids[c - 1] == p {
                self.inners[x].sep_ids[c - 1] = q;
            }
        }
        self.items.swap(p as usize, q as usize);
    }

    /// The arena ids of the members in order.
    fn ids_in_order(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len);
        let mut x = self.root;
        if x == NIL {
            return out;
        }
        for _ in 0..self.height {
            x = self.inners[x as usize].children[0];
        }
        while x != NIL {
            let l = &self.leaves[x as usize];
            out.extend_from_slice(&l.ids[..l.len as usize]);
            x = l.next;
        }
        out
    }

    /// Rebuilds the order once more than half of the node arenas is free
    /// (after many removals): relinking the members in order fills every
    /// leaf but the last (see `split_leaf`). Amortized O(log N) per removal.
    fn compact_nodes(&mut self) {
        let min_free = if cfg!(test) { 4 } else { 16 };
        let (fl, fi) = (self.free_leaves.len(), self.free_inners.len());
        if (fl < min_free || fl * 2 <= self.leaves.len()) && (fi < min_free || fi * 2 <= self.inners.len()) {
            return;
        }
        let ids = self.ids_in_order();
        (self.leaves, self.inners) = (Vec::new(), Vec::new());
        (self.free_leaves, self.free_inners) = (Vec::new(), Vec::new());
        (self.root, self.height, self.len) = (NIL, 0, 0);
        for id in ids {
            self.link(id);
        }
    }

    /// Inserts a pair whose member is not present; returns its arena id.
    pub fn insert(&mut self, score: f64, member: Bytes16) -> u32 {
        let id = self.alloc(score, member);
        self.link(id);
        id
    }

    /// Removes linked member `id` from the order and the arena.
    fn remove_id(&mut self, id: u32) -> (f64, Bytes16) {
        let mut path = Path::new();
        let (leaf, pos) = self.locate(&mut path, id);
        self.unlink_at(&path, leaf, pos);
        self.release(id)
    }

    /// Removes the pair; returns its member bytes if it was present.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> Option<Bytes16> {
        let r = self.rank(score, member);
        let (m, s) = self.nth(r)?;
        if s != score || m != member {
            return None;
        }
        let mut path = Path::new();
        let (leaf, pos) = self.descend_rank(&mut path, r);
        let id = self.leaves[leaf as usize].ids[pos];
        Some(self.remove_id(id).1)
    }

    /// How many leading pairs satisfy `before` (which must hold for a prefix).
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        self.count_before_by(|s, id| before(s, self.member(id)))
    }

    /// `count_before` for a predicate on scores alone: the descent reads
    /// no arena item (a score range's bounds).
    pub fn count_before_score(&self, before: impl Fn(f64) -> bool) -> usize {
        self.count_before_by(|s, _| before(s))
    }

    #[inline(always)]
    fn count_before_by(&self, before: impl Fn(f64, u32) -> bool) -> usize {
        if self.root == NIL {
            return 0;
        }
        let (_, pos, before_leaf) = self.descend(&mut Path::new(), before);
        before_leaf + pos
    }

    /// The 0-based rank of a pair (the number of pairs ordered before it).
    pub fn rank(&self, score: f64, member: &[u8]) -> usize {
        self.count_before(|s, m| cmp_entry(s, m, score, member) == Ordering::Less)
    }

    /// The rank of linked member `id`.
    fn rank_of(&self, id: u32) -> usize {
        let mut path = Path::new();
        let s = self.items[id as usize].score;
        let (_, after, before) = self.descend(&mut path, |x, i| self.le(x, i, s, id));
        before + after - 1
    }

    /// The pair at rank `k`.
    pub fn nth(&self, k: usize) -> Option<(&[u8], f64)> {
        if k >= self.len {
            return None;
        }
        let (leaf, pos) = self.descend_rank(&mut Path::new(), k);
        let l = &self.leaves[leaf as usize];
        Some((self.member(l.ids[pos]), l.scores[pos]))
    }

    /// Removes the pairs of ranks `start..start + n`, calling `f` on each (in order).
    pub fn remove_ranks(&mut self, start: usize, n: usize, mut f: impl FnMut(u32, f64, Bytes16)) {
        let mut path = Path::new();
        for _ in 0..n {
            if start >= self.len {
                break;
            }
            let (leaf, pos) = self.descend_rank(&mut path, start);
            let id = self.leaves[leaf as usize].ids[pos];
            self.unlink_at(&path, leaf, pos);
            let (s, m) = self.release(id);
            f(id, s, m);
        }
    }

    /// Iterates pairs in order from rank `k` (ascending) or down from rank `k`
    /// (descending, `rev`).
    pub fn iter_from(&self, k: usize, rev: bool) -> TreeIter<'_, LN, IN> {
        if k >= self.len {
            return TreeIter { tree: self, leaf: NIL, pos: 0, rev };
        }
        let (leaf, pos) = self.descend_rank(&mut Path::new(), k);
        TreeIter { tree: self, leaf, pos, rev }
    }
}

/// Pairs in order (or reverse order) from a position, along the leaf links.
pub struct TreeIter<'a, const LN: usize = LEAF_SLOTS, const IN: usize = INNER_SLOTS> {
    tree: &'a Tree<LN, IN>,
    leaf: u32,
    pos: usize,
    rev: bool,
}

impl<'a, const LN: usize, const IN: usize> Iterator for TreeIter<'a, LN, IN> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.leaf == NIL {
            return None;
        }
        let t = self.tree;
        let l = &t.leaves[self.leaf as usize];
        let item = (t.member(l.ids[self.pos]), l.scores[self.pos]);
        if !self.rev {
            self.pos += 1;
            if self.pos == l.len as usize {
                (self.leaf, self.pos) = (l.next, 0);
            }
        } else if self.pos > 0 {
            self.pos -= 1;
        } else {
            self.leaf = l.prev;
            if l.prev != NIL {
                self.pos = t.leaves[l.prev as usize].len as usize - 1;
            }
        }
        Some(item)
    }
}

/// The member index of a tree-encoded set: arena ids by member hash (a
/// `Slots` table; the member is stored once, in the arena).
#[derive(Default)]
struct Index {
    table: Slots,
}

impl Index {
    #[inline]
    fn find_hashed<const LN: usize, const IN: usize>(&self, tree: &Tree<LN, IN>, h: u64, member: &[u8]) -> Option<u32> {
        self.table.find(h, |k| &*tree.items[k].member == member).map(|k| k as u32)
    }

    fn find<const LN: usize, const IN: usize>(&self, tree: &Tree<LN, IN>, member: &[u8]) -> Option<u32> {
        self.find_hashed(tree, slots::hash(member), member)
    }

    fn add_hashed(&mut self, h: u64, k: u32) {
        self.table.insert(h, k as usize);
    }

    fn add<const LN: usize, const IN: usize>(&mut self, tree: &Tree<LN, IN>, k: u32) {
        self.add_hashed(slots::hash(&tree.items[k as usize].member), k);
    }

    fn forget(&mut self, member: &[u8], k: u32) {
        self.table.remove_pos(slots::hash(member), k as usize);
        self.table.shrink_if_sparse();
    }

    /// Points the entry of `member` at arena id `to` instead of `from`.
    fn moved(&mut self, member: &[u8], from: u32, to: u32) {
        self.table.repoint(slots::hash(member), from as usize, to as usize);
    }

    /// Gives back the arena space of removed members once more than half of
    /// it is free: the highest live members move down into the lowest holes
    /// (their pair in the order and their index entry follow) and the arena
    /// is truncated. Members only ever move to lower ids, so a ZSCAN (which
    /// walks ids downward) may see a member twice but never misses one
    /// present for the whole scan. Tree nodes are compacted likewise, by
    /// rebuilding the order (`Tree::compact_nodes`).
    fn compact_if_sparse<const LN: usize, const IN: usize>(&mut self, tree: &mut Tree<LN, IN>) {
        tree.compact_nodes();
        let free = tree.free.len();
        // Tests compact tiny arenas too, so the property tests exercise it.
        let min_free = if cfg!(test) { 4 } else { 64 };
        if free < min_free || free * 2 <= tree.items.len() {
            return;
        }
        let mut holes = std::mem::take(&mut tree.free);
        holes.sort_unstable();
        let mut hi = tree.items.len();
        let mut used = 0;
        for &q in &holes {
            while hi > 0 && tree.items[hi - 1].is_free() {
                hi -= 1;
            }
            if q as usize >= hi {
                break;
            }
            let p = (hi - 1) as u32;
            tree.move_item(p, q);
            self.moved(&tree.items[q as usize].member, p, q);
            hi -= 1;
            used += 1;
        }
        while hi > 0 && tree.items[hi - 1].is_free() {
            hi -= 1;
        }
        tree.items.truncate(hi);
        tree.items.shrink_to_fit();
        tree.free = holes.into_iter().skip(used).filter(|&q| (q as usize) < hi).collect();
    }
}

/// The tree of tree-encoded sets; tests use tiny nodes, so that a few
/// dozen members already make trees several levels deep.
#[cfg(not(test))]
type ZTree = Tree;
#[cfg(test)]
type ZTree = Tree<6, 5>;
#[cfg(not(test))]
type ZTreeIter<'a> = TreeIter<'a>;
#[cfg(test)]
type ZTreeIter<'a> = TreeIter<'a, 6, 5>;

enum Repr {
    Pack(Vec<(f64, Bytes16)>),
    Skip { tree: ZTree, index: Index },
}

/// A sorted set (see the module header).
pub struct ZSet {
    repr: Repr,
}

impl Clone for ZSet {
    fn clone(&self) -> Self {
        match &self.repr {
            Repr::Pack(v) => ZSet { repr: Repr::Pack(v.clone()) },
            Repr::Skip { .. } => {
                let mut z = ZSet::new_skip();
                for (m, s) in self.iter() {
                    z.insert_new_skip(m, s);
                }
                z
            }
        }
    }
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), s))).finish()
    }
}

/// The thresholds of the compact encoding (zset-max-listpack-entries/-value).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

type PackItems<'a> = std::slice::Iter<'a, (f64, Bytes16)>;

pub enum RangeIter<'a> {
    Pack(std::iter::Take<std::iter::Skip<PackItems<'a>>>),
    PackRev(std::iter::Take<std::iter::Skip<std::iter::Rev<PackItems<'a>>>>),
    Tree(std::iter::Take<ZTreeIter<'a>>),
}

impl<'a> Iterator for RangeIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            RangeIter::Pack(i) => i.next().map(|(s, m)| (&**m, *s)),
            RangeIter::PackRev(i) => i.next().map(|(s, m)| (&**m, *s)),
            RangeIter::Tree(i) => i.next(),
        }
    }
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new_pack()
    }
}

impl ZSet {
    pub fn new_pack() -> ZSet {
        ZSet { repr: Repr::Pack(Vec::new()) }
    }

    pub fn new_skip() -> ZSet {
        ZSet { repr: Repr::Skip { tree: Tree::new(), index: Index::default() } }
    }

    /// A new empty set in the encoding Redis picks for a set expected to hold
    /// `hint` members whose first member is `first_len` bytes long.
    pub fn for_size(hint: usize, first_len: usize, lim: Limits) -> ZSet {
        if hint > lim.max_entries || first_len > lim.max_value {
            ZSet::new_skip()
        } else {
            ZSet::new_pack()
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(v) => v.len(),
            Repr::Skip { index, .. } => index.table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// "listpack" or "skiplist".
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Skip { .. } => "skiplist",
        }
    }

    pub fn is_pack(&self) -> bool {
        matches!(self.repr, Repr::Pack(_))
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Pack(v) => v.iter().find(|(_, m)| &**m == member).map(|(s, _)| *s),
            Repr::Skip { tree, index } => index.find(tree, member).map(|k| tree.items[k as usize].score),
        }
    }

    /// True when members are found through an index (`prefetch_member`
    /// does something).
    pub fn has_index(&self) -> bool {
        !matches!(self.repr, Repr::Pack(_))
    }

    /// Prefetch step `step` for a member of hash `h` (`slots::hash`): 0
    /// its index slot line, 1 the arena item that slot points at, 2 the
    /// member's heap bytes. Nothing to do for a pack.
    #[inline]
    pub fn prefetch_member(&self, h: u64, step: u8) {
        let Repr::Skip { tree, index } = &self.repr else { return };
        if step == 0 {
            return index.table.prefetch_slot(h);
        }
        if let Some(n) = index.table.candidate(h).and_then(|k| tree.items.get(k)) {
            if step == 1 {
                slots::prefetch(n as *const Item);
            } else {
                slots::prefetch(n.member.as_slice().as_ptr());
            }
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// Converts a compact set to the tree encoding.
    pub fn convert_to_skip(&mut self) {
        if let Repr::Pack(v) = &mut self.repr {
            let v = std::mem::take(v);
            let mut z = ZSet::new_skip();
            for (s, m) in v {
                z.insert_new_skip(&m, s);
            }
            *self = z;
        }
    }

    /// Converts a tree-encoded set back to the compact encoding if it fits the
    /// limits (Redis's zsetConvertToListpackIfNeeded, used by store commands).
    pub fn shrink_if_small(&mut self, lim: Limits) {
        if self.is_pack() || self.len() > lim.max_entries {
            return;
        }
        if self.iter().any(|(m, _)| m.len() > lim.max_value) {
            return;
        }
        let v: Vec<(f64, Bytes16)> = self.iter().map(|(m, s)| (s + 0.0, Bytes16::new(m))).collect();
        self.repr = Repr::Pack(v);
    }

    /// A set from pairs already in order (distinct members), in the
    /// encoding Redis gives a computed result: compact if it fits `lim`.
    pub fn from_sorted<'m>(items: impl Iterator<Item = (&'m [u8], f64)>, lim: Limits) -> ZSet {
        let v: Vec<(&[u8], f64)> = items.collect();
        if v.len() <= lim.max_entries && v.iter().all(|(m, _)| m.len() <= lim.max_value) {
            return ZSet { repr: Repr::Pack(v.into_iter().map(|(m, s)| (s + 0.0, Bytes16::new(m))).collect()) };
        }
        let mut z = ZSet::new_skip();
        for (m, s) in v {
            z.insert_new_skip(m, s);
        }
        z
    }

    fn insert_new_skip(&mut self, member: &[u8], score: f64) {
        if let Repr::Skip { tree, index } = &mut self.repr {
            let k = tree.insert(score, Bytes16::new(member));
            index.add(tree, k);
        }
    }

    /// Sets the score of `member`, adding it if absent. Returns the old score.
    /// Converts to the tree encoding first if the insert would break `lim`.
    pub fn insert(&mut self, member: &[u8], score: f64, lim: Limits) -> Option<f64> {
        debug_assert!(!score.is_nan());
        if let Repr::Pack(v) = &mut self.repr {
            // A listpack keeps a score as text and reads "-0" back as 0.
            let score = score + 0.0;
            if let Some(i) = v.iter().position(|(_, m)| &**m == member) {
                let old = v[i].0;
                if old != score {
                    let (_, m) = v.remove(i);
                    let at = v.partition_point(|(s, x)| cmp_entry(*s, x, score, &m) == Ordering::Less);
                    v.insert(at, (score, m));
                }
                return Some(old);
            }
            if v.len() + 1 > lim.max_entries || member.len() > lim.max_value {
                self.convert_to_skip();
            } else {
                let at = v.partition_point(|(s, x)| cmp_entry(*s, x, score, member) == Ordering::Less);
                v.insert(at, (score, Bytes16::new(member)));
                return None;
            }
        }
        self.upsert(member, lim, |_| Some(score))
    }

    /// Looks `member` up once and calls `decide` with its current score
    /// (None if absent); if `decide` returns a score, the member gets it
    /// (added if absent, converting as `insert` does). Returns the old score.
    pub fn upsert(
        &mut self,
        member: &[u8],
        lim: Limits,
        decide: impl FnOnce(Option<f64>) -> Option<f64>,
    ) -> Option<f64> {
        let Repr::Skip { tree, index } = &mut self.repr else {
            let prev = self.score(member);
            if let Some(s) = decide(prev) {
                self.insert(member, s, lim);
            }
            return prev;
        };
        let h = slots::hash(member);
        match index.find_hashed(tree, h, member) {
            Some(k) => {
                let prev = tree.items[k as usize].score;
                if let Some(score) = decide(Some(prev)) {
                    debug_assert!(!score.is_nan());
                    // Same score (IEEE equal): the position cannot change.
                    if prev != score {
                        tree.rescore(k, score);
                    }
                }
                Some(prev)
            }
            None => {
                if let Some(score) = decide(None) {
                    debug_assert!(!score.is_nan());
                    let k = tree.insert(score, Bytes16::new(member));
                    index.add_hashed(h, k);
                }
                None
            }
        }
    }

    /// Removes `member`; returns its score if it was present.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Pack(v) => {
                let i = v.iter().position(|(_, m)| &**m == member)?;
                Some(v.remove(i).0)
            }
            Repr::Skip { tree, index } => {
                let k = index.find(tree, member)?;
                index.forget(member, k);
                let score = tree.remove_id(k).0;
                index.compact_if_sparse(tree);
                Some(score)
            }
        }
    }

    /// The 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Pack(v) => v.iter().position(|(_, m)| &**m == member),
            Repr::Skip { tree, index } => index.find(tree, member).map(|k| tree.rank_of(k)),
        }
    }

    /// The member at ascending rank `k`.
    pub fn nth(&self, k: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Pack(v) => v.get(k).map(|(s, m)| (&**m, *s)),
            Repr::Skip { tree, .. } => tree.nth(k),
        }
    }

    /// How many leading members satisfy `before(score, member)`, a predicate
    /// that holds for a prefix of the order (a range boundary).
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Pack(v) => v.partition_point(|(s, m)| before(*s, m)),
            Repr::Skip { tree, .. } => tree.count_before(before),
        }
    }

    /// `count_before` for a predicate on scores alone (score ranges): a
    /// large set then finds the boundary without reading any member.
    pub fn count_before_score(&self, before: impl Fn(f64) -> bool) -> usize {
        match &self.repr {
            Repr::Pack(v) => v.partition_point(|(s, _)| before(*s)),
            Repr::Skip { tree, .. } => tree.count_before_score(before),
        }
    }

    /// Members of ascending ranks `start..=end` (clamped by the caller), in
    /// ascending order, or in descending order from `end` down when `rev`.
    pub fn range(&self, start: usize, end: usize, rev: bool) -> RangeIter<'_> {
        let n = if end >= start { end - start + 1 } else { 0 };
        match &self.repr {
            Repr::Pack(v) => {
                if rev {
                    let skip = v.len().saturating_sub(end + 1);
                    RangeIter::PackRev(v.iter().rev().skip(skip).take(n))
                } else {
                    RangeIter::Pack(v.iter().skip(start).take(n))
                }
            }
            Repr::Skip { tree, .. } => {
                if n == 0 {
                    return RangeIter::Tree(tree.iter_from(usize::MAX, false).take(0));
                }
                let from = if rev { end } else { start };
                RangeIter::Tree(tree.iter_from(from, rev).take(n))
            }
        }
    }

    /// All members in ascending order.
    pub fn iter(&self) -> RangeIter<'_> {
        let n = self.len();
        self.range(0, n.saturating_sub(1), false)
    }

    /// Removes ascending ranks `start..start + n`; calls `f` on each removed
    /// member (ascending).
    pub fn remove_ranks(&mut self, start: usize, n: usize, mut f: impl FnMut(&[u8], f64)) {
        match &mut self.repr {
            Repr::Pack(v) => {
                let end = (start + n).min(v.len());
                for (s, m) in v.drain(start.min(end)..end) {
                    f(&m, s);
                }
            }
            Repr::Skip { tree, index } => {
                tree.remove_ranks(start, n, |k, s, m| {
                    index.forget(&m, k);
                    f(&m, s);
                });
                index.compact_if_sparse(tree);
            }
        }
    }

    /// One ZSCAN step. Compact sets are returned whole (cursor 0 after); tree
    /// sets walk their arena's slots from `cursor` (0 = start) downward
    /// and return the next cursor (0 = done). A member keeps its slot, or moves
    /// to a lower one (`compact_if_sparse`), while its member is in the set,
    /// so a member present for the whole scan is returned.
    pub fn scan<'s>(&'s self, cursor: u64, count: usize, mut f: impl FnMut(&'s [u8], f64)) -> u64 {
        match &self.repr {
            Repr::Pack(v) => {
                for (s, m) in v {
                    f(m, *s);
                }
                0
            }
            Repr::Skip { tree, .. } => {
                let len = tree.items.len();
                let mut b = if cursor == 0 { len } else { (cursor as usize).min(len) };
                let mut n = 0;
                while b > 0 && n < count {
                    b -= 1;
                    if let Some(item) = tree.live(b) {
                        f(&item.member, item.score);
                        n += 1;
                    }
                }
                b as u64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashMap};

    const SMALL: Limits = Limits { max_entries: 8, max_value: 64 };

    /// The model: a map member -> score and the ordered set of pairs.
    #[derive(Default)]
    struct Model {
        scores: HashMap<Vec<u8>, f64>,
    }

    impl Model {
        fn sorted(&self) -> Vec<(Vec<u8>, f64)> {
            let mut v: Vec<(Vec<u8>, f64)> = self.scores.iter().map(|(m, s)| (m.clone(), *s)).collect();
            v.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
            v
        }
    }

    fn check(z: &ZSet, model: &Model) {
        let want = model.sorted();
        let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(got, want);
        assert_eq!(z.len(), want.len());
        for (i, (m, s)) in want.iter().enumerate() {
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.score(m), Some(*s));
            assert_eq!(z.nth(i).map(|(m, s)| (m.to_vec(), s)), Some((m.clone(), *s)));
        }
        // Reverse ranges from every position.
        for end in 0..want.len() {
            let got: Vec<Vec<u8>> = z.range(0, end, true).map(|(m, _)| m.to_vec()).collect();
            let exp: Vec<Vec<u8>> = want[..=end].iter().rev().map(|(m, _)| m.clone()).collect();
            assert_eq!(got, exp);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i8),
        Remove(u8),
        RemoveRanks(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), -4i8..4).prop_map(|(m, s)| Op::Insert(m % 40, s)),
            2 => any::<u8>().prop_map(|m| Op::Remove(m % 40)),
            1 => (any::<u8>(), 0u8..4).prop_map(|(a, n)| Op::RemoveRanks(a % 40, n)),
        ]
    }

    proptest! {
        #[test]
        fn matches_model(ops in proptest::collection::vec(op(), 1..200), small in any::<bool>()) {
            let lim = if small { SMALL } else { Limits { max_entries: 0, max_value: 0 } };
            let mut z = ZSet::new_pack();
            let mut model = Model::default();
            for op in ops {
                match op {
                    Op::Insert(m, s) => {
                        let m = vec![b'a' + m % 26, m];
                        let old = z.insert(&m, s as f64 / 2.0, lim);
                        prop_assert_eq!(old, model.scores.insert(m, s as f64 / 2.0));
                    }
                    Op::Remove(m) => {
                        let m = vec![b'a' + m % 26, m];
                        prop_assert_eq!(z.remove(&m), model.scores.remove(&m));
                    }
                    Op::RemoveRanks(a, n) => {
                        let sorted = model.sorted();
                        let a = (a as usize).min(sorted.len());
                        let n = (n as usize).min(sorted.len() - a);
                        let mut removed = Vec::new();
                        z.remove_ranks(a, n, |m, _| removed.push(m.to_vec()));
                        let exp: Vec<Vec<u8>> = sorted[a..a + n].iter().map(|(m, _)| m.clone()).collect();
                        prop_assert_eq!(&removed, &exp);
                        for m in exp { model.scores.remove(&m); }
                    }
                }
                check(&z, &model);
            }
            let pairs: BTreeSet<Vec<u8>> = model.scores.keys().cloned().collect();
            let mut seen = BTreeSet::new();
            let mut c = 0;
            loop {
                c = z.scan(c, 3, |m, _| { seen.insert(m.to_vec()); });
                if c == 0 { break; }
            }
            prop_assert_eq!(seen, pairs);
        }
    }

    #[test]
    fn converts_at_thresholds() {
        let mut z = ZSet::new_pack();
        for i in 0..8 {
            z.insert(format!("m{i}").as_bytes(), i as f64, SMALL);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"m9", 9.0, SMALL);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"m9");
        assert_eq!(z.encoding(), "skiplist");
        z.shrink_if_small(SMALL);
        assert_eq!(z.encoding(), "listpack");
        z.insert(&[b'x'; 65], 1.0, SMALL);
        assert_eq!(z.encoding(), "skiplist");
    }

    #[test]
    fn sparse_arena_compacts_without_hiding_members_from_scan() {
        let lim = Limits { max_entries: 0, max_value: 0 };
        let mut z = ZSet::new_pack();
        let mut model = Model::default();
        for i in 0..5000u32 {
            let m = format!("m{i}").into_bytes();
            z.insert(&m, (i % 97) as f64, lim);
            model.scores.insert(m, (i % 97) as f64);
        }
        let mut seen = BTreeSet::new();
        let mut c = z.scan(0, 100, |m, _| {
            seen.insert(m.to_vec());
        });
        for i in (0..5000u32).filter(|i| i % 10 != 0) {
            let m = format!("m{i}").into_bytes();
            assert_eq!(z.remove(&m), model.scores.remove(&m));
        }
        z.remove_ranks(0, 3, |m, _| {
            model.scores.remove(m);
        });
        while c != 0 {
            c = z.scan(c, 100, |m, _| {
                seen.insert(m.to_vec());
            });
        }
        let Repr::Skip { tree, index } = &z.repr else { panic!("tree expected") };
        assert!(tree.items.len() < 1000, "arena of {} slots", tree.items.len());
        assert_eq!(index.table.len(), 497);
        for m in model.scores.keys() {
            assert!(seen.contains(m));
        }
        check(&z, &model);
        // The arena keeps working after compaction.
        for i in 0..300u32 {
            let m = format!("n{i}").into_bytes();
            z.insert(&m, i as f64, lim);
            model.scores.insert(m, i as f64);
        }
        check(&z, &model);
    }

    #[test]
    fn big_tree_ranks() {
        let mut t: Tree = Tree::new();
        for i in 0..10_000u32 {
            let k = (i.wrapping_mul(7919)) % 10_000;
            t.insert(k as f64, Bytes16::new(&k.to_be_bytes()));
        }
        assert_eq!(t.len(), 10_000);
        assert_eq!(check_tree(&t), 10_000);
        for k in (0..10_000u32).step_by(97) {
            assert_eq!(t.rank(k as f64, &k.to_be_bytes()), k as usize);
            assert_eq!(t.nth(k as usize).unwrap().1, k as f64);
        }
        let v: Vec<f64> = t.iter_from(9_995, false).map(|(_, s)| s).collect();
        assert_eq!(v, vec![9995.0, 9996.0, 9997.0, 9998.0, 9999.0]);
        let v: Vec<f64> = t.iter_from(2, true).map(|(_, s)| s).collect();
        assert_eq!(v, vec![2.0, 1.0, 0.0]);
        assert!(t.remove(5.0, &5u32.to_be_bytes()).is_some());
        assert!(t.remove(5.0, &5u32.to_be_bytes()).is_none());
        assert_eq!(t.count_before(|s, _| s < 10.0), 9);
        assert_eq!(check_tree(&t), 9_999);
    }

    /// Checks the tree's invariants (pairs in strict order and equal to
    /// their arena items, exact separators and counts, node fill, leaf
    /// links, free lists); returns the number of pairs.
    fn check_tree<const LN: usize, const IN: usize>(t: &Tree<LN, IN>) -> usize {
        let live = t.items.iter().filter(|it| !it.is_free()).count();
        assert_eq!(live + t.free.len(), t.items.len(), "free list");
        assert_eq!(live, t.len);
        if t.root == NIL {
            assert_eq!(t.len, 0);
            return 0;
        }
        let mut leaves = Vec::new();
        let (n, _) = check_node(t, t.root, 0, &mut leaves);
        assert_eq!(n, t.len, "len");
        let mut prev = NIL;
        for (i, &x) in leaves.iter().enumerate() {
            let l = &t.leaves[x as usize];
            assert_eq!(l.prev, prev, "prev link");
            assert_eq!(l.next, leaves.get(i + 1).copied().unwrap_or(NIL), "next link");
            if l.next != NIL {
                assert!(l.len as usize >= Tree::<LN, IN>::LEAF_MIN, "leaf fill");
            }
            prev = x;
        }
        let mut last: Option<(f64, u32)> = None;
        for &x in &leaves {
            let l = &t.leaves[x as usize];
            for i in 0..l.len as usize {
                let (s, id) = (l.scores[i], l.ids[i]);
                assert_eq!(t.items[id as usize].score.to_bits(), s.to_bits(), "arena score");
                if let Some((ps, pid)) = last {
                    assert!(t.lt(ps, pid, s, id), "order");
                }
                last = Some((s, id));
            }
        }
        assert_eq!(leaves.len() + t.free_leaves.len(), t.leaves.len(), "leaf arena");
        n
    }

    fn check_node<const LN: usize, const IN: usize>(
        t: &Tree<LN, IN>,
        x: u32,
        depth: usize,
        leaves: &mut Vec<u32>,
    ) -> (usize, (f64, u32)) {
        if depth == t.height {
            let l = &t.leaves[x as usize];
            assert!(l.len >= 1 && l.len as usize <= Tree::<LN, IN>::LEAF_MAX, "leaf size");
            leaves.push(x);
            return (l.len as usize, l.first());
        }
        let n = &t.inners[x as usize];
        let len = n.len as usize;
        assert!(len >= 2 && len <= Tree::<LN, IN>::INNER_MAX, "inner size");
        if depth > 0 {
            assert!(len >= Tree::<LN, IN>::INNER_MIN, "inner fill");
        }
        let (mut total, mut first) = (0, (0.0, NIL));
        for i in 0..len {
            let (c, f) = check_node(t, n.children[i], depth + 1, leaves);
            assert_eq!(n.counts[i] as usize, c, "count");
            if i == 0 {
                first = f;
            } else {
                let s = n.sep(i - 1);
                assert!(s.0.to_bits() == f.0.to_bits() && s.1 == f.1, "separator {i} at depth {depth}");
            }
            total += c;
        }
        (total, first)
    }

    #[derive(PartialEq, Clone, Copy, Debug)]
    struct Sc(f64);
    impl Eq for Sc {}
    impl PartialOrd for Sc {
        fn partial_cmp(&self, o: &Sc) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Sc {
        fn cmp(&self, o: &Sc) -> Ordering {
            self.0.partial_cmp(&o.0).expect("no NaN")
        }
    }

    /// Gives `m` score `s` in the ordered model.
    fn model_set(model: &mut BTreeSet<(Sc, Vec<u8>)>, scores: &mut HashMap<Vec<u8>, f64>, m: &[u8], s: f64) {
        if let Some(c) = scores.insert(m.to_vec(), s) {
            model.remove(&(Sc(c + 0.0), m.to_vec()));
        }
        model.insert((Sc(s + 0.0), m.to_vec()));
    }

    fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed;
        move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        }
    }

    /// Heavy churn on a tree with node capacities `LN - 1`/`IN - 1`, driven
    /// the way `ZSet` drives it (arena ids through an `Index`), against an
    /// ordered model: growth to `max` members and back, inserts, removals,
    /// score updates among many equal scores (in-leaf moves, moves across
    /// leaves), rank removals, compaction; ranks, selects, score and lex
    /// bounds and iteration from positions in both directions.
    fn churn<const LN: usize, const IN: usize>(seed: u64, steps: u32, max: u64, queries: bool) {
        let mut next = rng(seed);
        let mut t: Tree<LN, IN> = Tree::new();
        let mut index = Index::default();
        let mut model: BTreeSet<(Sc, Vec<u8>)> = BTreeSet::new();
        let mut scores: HashMap<Vec<u8>, f64> = HashMap::new();
        let (mut max_height, mut max_len) = (0, 0);
        for step in 0..steps {
            // Waves: grow towards `max`, then shrink, so nodes split and
            // merge at every level more than once.
            let growing = (step / (steps / 4).max(1)).is_multiple_of(2);
            let id = next(max);
            let m = format!("m{id:0w$}", w = (id % 23) as usize).into_bytes();
            let cur = scores.get(&m).copied();
            let op = next(20);
            if op < 10 || (growing && op < 14) {
                let s = match (next(5), cur) {
                    (0, Some(c)) => c + (next(3) as f64 - 1.0) * 1e-9,
                    (1, _) => [0.0, -0.0, 1.0, 2.0][next(4) as usize],
                    _ => next(200) as f64 / 4.0,
                };
                match index.find(&t, &m) {
                    Some(k) => {
                        if t.items[k as usize].score != s {
                            t.rescore(k, s);
                        }
                    }
                    None => {
                        let k = t.insert(s, Bytes16::new(&m));
                        index.add(&t, k);
                    }
                }
                model_set(&mut model, &mut scores, &m, s);
            } else if op < 17 {
                let k = index.find(&t, &m);
                assert_eq!(k.is_some(), cur.is_some());
                if let Some(k) = k {
                    index.forget(&m, k);
                    let (s, b) = t.remove_id(k);
                    assert_eq!((s, b.as_slice()), (cur.unwrap(), &m[..]));
                    index.compact_if_sparse(&mut t);
                    model.remove(&(Sc(s + 0.0), m.clone()));
                    scores.remove(&m);
                }
            } else if op == 17 {
                let start = next(model.len() as u64 + 1) as usize;
                let n = if !growing && next(10) == 0 { next(200) } else { next(4) } as usize;
                let exp: Vec<Vec<u8>> = model.iter().skip(start).take(n).map(|(_, m)| m.clone()).collect();
                let mut got = Vec::new();
                t.remove_ranks(start, n, |k, _, b| {
                    index.forget(&b, k);
                    got.push(b.to_vec());
                });
                index.compact_if_sparse(&mut t);
                assert_eq!(got, exp);
                for m in exp {
                    let s = scores.remove(&m).unwrap();
                    model.remove(&(Sc(s + 0.0), m));
                }
            } else if queries {
                let want = cur.map(|c| model.range(..(Sc(c + 0.0), m.clone())).count());
                assert_eq!(index.find(&t, &m).map(|k| t.rank_of(k)), want);
                let lo = next(200) as f64 / 4.0;
                assert_eq!(t.count_before(|s, _| s < lo), model.range(..(Sc(lo), vec![])).count());
                assert_eq!(t.count_before_score(|s| s < lo), model.range(..(Sc(lo), vec![])).count());
                assert_eq!(t.count_before(|s, _| s <= lo), model.range(..(Sc(lo), vec![0xff; 40])).count());
                let lex = (Sc(lo), m.clone());
                let by_lex = t.count_before(|s, x| cmp_entry(s, x, lo, &m) == Ordering::Less);
                assert_eq!(by_lex, model.range(..lex).count());
                let k = next(model.len() as u64 + 2) as usize;
                let n = next(3 * LN as u64) as usize;
                let exp = model.iter().nth(k).map(|(s, m)| (m.clone(), s.0));
                assert_eq!(t.nth(k).map(|(m, s)| (m.to_vec(), s + 0.0)), exp);
                let got: Vec<Vec<u8>> = t.iter_from(k, false).take(n).map(|(m, _)| m.to_vec()).collect();
                let exp: Vec<Vec<u8>> = model.iter().skip(k).take(n).map(|(_, m)| m.clone()).collect();
                assert_eq!(got, exp);
                let got: Vec<Vec<u8>> = t.iter_from(k, true).take(n).map(|(m, _)| m.to_vec()).collect();
                let exp: Vec<Vec<u8>> = if k < model.len() {
                    model.iter().take(k + 1).rev().take(n).map(|(_, m)| m.clone()).collect()
                } else {
                    vec![]
                };
                assert_eq!(got, exp);
            }
            assert_eq!(t.len(), model.len());
            max_height = max_height.max(t.height);
            max_len = max_len.max(t.len);
            if step % (steps / 16).max(1) == 0 || step == steps - 1 {
                assert_eq!(check_tree(&t), model.len());
                assert_eq!(index.table.len(), model.len());
                let all: Vec<(Vec<u8>, f64)> = t.iter_from(0, false).map(|(m, s)| (m.to_vec(), s + 0.0)).collect();
                let exp: Vec<(Vec<u8>, f64)> = model.iter().map(|(s, m)| (m.clone(), s.0)).collect();
                assert_eq!(all, exp);
            }
        }
        assert!(max_height >= 3, "height {max_height}, up to {max_len} members");
    }

    #[test]
    fn churn_tiny_nodes() {
        churn::<4, 6>(0x9e37_79b9_7f4a_7c15, 40_000, 400, true);
        churn::<6, 5>(0x1234_5678_9abc_def1, 40_000, 1500, true);
    }

    /// Production capacities: about 60,000 members make three levels.
    #[test]
    fn churn_real_nodes() {
        churn::<LEAF_SLOTS, INNER_SLOTS>(0x5151_2727_aaaa_0001, 800_000, 400_000, false);
    }

    /// Randomized model test of a big tree-encoded set: adds, score updates
    /// (small moves that keep the position and random ones that do not),
    /// removals, against an ordered set of (score, member).
    #[test]
    fn big_tree_matches_ordered_model() {
        let lim = Limits { max_entries: 0, max_value: 0 };
        let mut rng = 0x1234_5678_9abc_def1u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut z = ZSet::new_pack();
        let mut model: BTreeSet<(Sc, Vec<u8>)> = BTreeSet::new();
        let mut scores: HashMap<Vec<u8>, f64> = HashMap::new();
        for step in 0..40_000u32 {
            // Members of 2..40 bytes: inline and heap Bytes16 both.
            let id = next(3000);
            let m = format!("m{id:0w$}", w = (id % 39) as usize).into_bytes();
            let cur = scores.get(&m).copied();
            match next(10) {
                0..=5 => {
                    let s = match (next(4), cur) {
                        (0, Some(c)) => c + (next(3) as f64 - 1.0) * 1e-9,
                        (1, _) => [0.0, -0.0, 1.0][next(3) as usize],
                        _ => next(500) as f64 / 4.0,
                    };
                    let old = z.upsert(&m, lim, |c| {
                        assert_eq!(c, cur);
                        Some(s)
                    });
                    assert_eq!(old, cur);
                    model_set(&mut model, &mut scores, &m, s);
                }
                6 | 7 => {
                    assert_eq!(z.remove(&m), cur);
                    if let Some(c) = cur {
                        model.remove(&(Sc(c + 0.0), m.clone()));
                        scores.remove(&m);
                    }
                }
                _ => {
                    let want = cur.map(|c| model.range(..(Sc(c + 0.0), m.clone())).count());
                    assert_eq!(z.rank(&m), want);
                    let lo = next(500) as f64 / 4.0;
                    assert_eq!(z.count_before(|s, _| s < lo), model.range(..(Sc(lo), vec![])).count());
                    assert_eq!(z.count_before_score(|s| s <= lo), model.range(..(Sc(lo), vec![0xff; 40])).count());
                    let lex = (Sc(lo), m.clone());
                    let by_lex = z.count_before(|s, x| cmp_entry(s, x, lex.0 .0, &lex.1) == Ordering::Less);
                    assert_eq!(by_lex, model.range(..lex.clone()).count());
                    let start = next(model.len() as u64 + 1) as usize;
                    let got: Vec<(Vec<u8>, f64)> =
                        z.range(start, start + 9, false).map(|(m, s)| (m.to_vec(), s + 0.0)).collect();
                    let exp: Vec<(Vec<u8>, f64)> =
                        model.iter().skip(start).take(10).map(|(s, m)| (m.clone(), s.0)).collect();
                    assert_eq!(got, exp);
                }
            }
            assert_eq!(z.len(), model.len());
            if step % 4000 == 0 || step == 39_999 {
                if let Repr::Skip { tree, .. } = &z.repr {
                    assert_eq!(check_tree(tree), model.len());
                }
                let all: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s + 0.0)).collect();
                let exp: Vec<(Vec<u8>, f64)> = model.iter().map(|(s, m)| (m.clone(), s.0)).collect();
                assert_eq!(all, exp);
            }
        }
    }

    /// Bytes per member of a large set (arena, nodes and index; the members
    /// here need no heap bytes of their own), built at random and in order.
    /// Counted by length, not capacity: the unused tail of a large vector is
    /// never touched, so it costs address space, not RSS. The treap this
    /// tree replaced cost 40 bytes a member plus the same index.
    #[test]
    fn bytes_per_member() {
        let n = 300_000u32;
        let mut next = rng(7);
        for sorted in [false, true] {
            let mut t: Tree = Tree::new();
            let mut index = Index::default();
            for i in 0..n {
                let s = if sorted { i as f64 } else { next(1_000_000) as f64 / 1000.0 };
                let k = t.insert(s, Bytes16::new(format!("member:{i}").as_bytes()));
                index.add(&t, k);
            }
            let nodes = t.leaves.len() * std::mem::size_of::<Leaf<LEAF_SLOTS>>()
                + t.inners.len() * std::mem::size_of::<Inner<INNER_SLOTS>>();
            let tree = (t.items.len() * std::mem::size_of::<Item>() + nodes) as f64 / n as f64;
            let index = index.table.mem_usage() as f64 / n as f64;
            let fill = 100.0 * n as f64 / (t.leaves.len() * (LEAF_SLOTS - 1)) as f64;
            println!("sorted {sorted}: {tree:.1} + index {index:.1} bytes per member, leaves {fill:.0}% full");
            assert!(tree < if sorted { 40.0 } else { 46.0 }, "{tree} bytes per member");
        }
    }

    #[test]
    fn negative_zero_equals_zero() {
        let mut z = ZSet::new_pack();
        z.insert(b"b", 0.0, SMALL);
        z.insert(b"a", -0.0, SMALL);
        let v: Vec<&[u8]> = z.iter().map(|(m, _)| m).collect();
        assert_eq!(v, vec![b"a".as_ref(), b"b".as_ref()]);
    }
}
