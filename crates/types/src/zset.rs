//! Sorted sets: members ordered by (score, member bytes), with O(1) score
//! lookup by member and O(log N) rank, select and range boundaries.
//!
//! Two representations, as Redis has, because OBJECT ENCODING reports them and
//! because small sets are far cheaper flat:
//!
//! * `Pack` ("listpack"): one vector of (score, member) kept sorted. Every
//!   operation is a scan or a binary search over at most
//!   `zset-max-listpack-entries` items.
//! * `Skip` ("skiplist"): an order-statistic tree (`Tree`, a treap whose nodes
//!   carry subtree sizes) for order, rank and ranges, plus an insertion-ordered
//!   hash map member -> score for lookups and for ZSCAN's cursor.
//!
//! A score update in `Skip` writes the score in place when the member's
//! neighbours still bracket it; otherwise the node leaves the order and comes
//! back with its priority (no slot freed or allocated), in one descent that
//! leaves subtree sizes alone where the old and new keys share the path.
//! Descents compare scores first and read member bytes only on ties.
//!
//! A set converts from `Pack` to `Skip` when an insert would pass either
//! threshold (the caller passes them in: they are configuration). It never
//! converts back by itself; `shrink_if_small` is the explicit conversion the
//! store commands apply to their results, as Redis does.
//!
//! Invariants: no NaN score is ever stored; `Pack` is strictly sorted; in
//! `Skip` the tree and the map hold exactly the same (member, score) pairs.
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

/// A tree node; `size == 0` marks a free slot of the arena.
struct Node {
    member: Bytes16,
    score: f64,
    left: u32,
    right: u32,
    size: u32,
    prio: u32,
}

/// An order-statistic treap over (score, member), nodes in an arena.
pub struct Tree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    rng: u64,
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

impl Tree {
    pub fn new() -> Tree {
        Tree { nodes: Vec::new(), free: Vec::new(), root: NIL, rng: 0x9E37_79B9_7F4A_7C15 }
    }

    pub fn len(&self) -> usize {
        self.size(self.root)
    }

    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    #[inline]
    fn size(&self, t: u32) -> usize {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].size as usize
        }
    }

    #[inline]
    fn update(&mut self, t: u32) {
        let n = &self.nodes[t as usize];
        let s = 1 + self.size(n.left) + self.size(n.right);
        self.nodes[t as usize].size = s as u32;
    }

    fn next_prio(&mut self) -> u32 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    fn alloc(&mut self, score: f64, member: Bytes16) -> u32 {
        let prio = self.next_prio();
        let node = Node { member, score, left: NIL, right: NIL, size: 1, prio };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, t: u32) -> (f64, Bytes16) {
        let n = &mut self.nodes[t as usize];
        let member = std::mem::take(&mut n.member);
        n.left = NIL;
        n.right = NIL;
        n.size = 0;
        self.free.push(t);
        (n.score, member)
    }

    /// The node `t` of the arena, if it holds a pair.
    fn live(&self, t: usize) -> Option<&Node> {
        self.nodes.get(t).filter(|n| n.size != 0)
    }

    /// True if node `a` is ordered before node `b`.
    #[inline]
    fn before(&self, a: u32, b: u32) -> bool {
        self.key_before(self.nodes[a as usize].score, a, b)
    }

    /// True if (`score`, member of node `k`) is ordered before node `t`.
    /// Scores decide first; member bytes are only read on a score tie.
    #[inline(always)]
    fn key_before(&self, score: f64, k: u32, t: u32) -> bool {
        let n = &self.nodes[t as usize];
        if score != n.score {
            return score < n.score;
        }
        self.nodes[k as usize].member.as_slice() < n.member.as_slice()
    }

    /// Points the link below `parent` (the root if NIL) on side `left` at `t`.
    #[inline]
    fn set_link(&mut self, parent: u32, left: bool, t: u32) {
        if parent == NIL {
            self.root = t;
        } else if left {
            self.nodes[parent as usize].left = t;
        } else {
            self.nodes[parent as usize].right = t;
        }
    }

    /// Moves live node `p` into free slot `q`, relinking its parent.
    fn move_node(&mut self, p: u32, q: u32) {
        let (mut parent, mut left, mut t) = (NIL, false, self.root);
        while t != p {
            parent = t;
            left = self.before(p, t);
            let n = &self.nodes[t as usize];
            t = if left { n.left } else { n.right };
        }
        self.nodes.swap(p as usize, q as usize);
        self.set_link(parent, left, q);
    }

    /// Links node `k` (allocated, detached) into the order: descends while
    /// the path's priorities outrank `k` (counting `k` into each subtree
    /// passed), then splits the subtree found around `k`, which takes its
    /// place. Expected O(log n), with one short split.
    fn link(&mut self, k: u32) {
        self.link_below(k, NIL, false);
    }

    /// `link`, starting the descent at the link below `parent` on side
    /// `left` (the root if NIL) instead of at the root: the caller knows `k`
    /// belongs in that subtree and has already counted it above.
    fn link_below(&mut self, k: u32, mut parent: u32, mut left: bool) {
        let (prio, score) = (self.nodes[k as usize].prio, self.nodes[k as usize].score);
        let mut t = match parent {
            NIL => self.root,
            p if left => self.nodes[p as usize].left,
            p => self.nodes[p as usize].right,
        };
        while t != NIL && self.nodes[t as usize].prio >= prio {
            self.nodes[t as usize].size += 1;
            parent = t;
            left = self.key_before(score, k, t);
            let n = &self.nodes[t as usize];
            t = if left { n.left } else { n.right };
        }
        let (l, r) = self.split_before_node(t, k);
        let n = &mut self.nodes[k as usize];
        (n.left, n.right) = (l, r);
        self.update(k);
        self.set_link(parent, left, k);
    }

    /// Takes node `k` out of the order, leaving it allocated and detached:
    /// descends to it (uncounting it from each subtree passed) and puts the
    /// merge of its children in its place.
    fn unlink(&mut self, k: u32) {
        self.unlink_from(k, NIL, false, self.root);
    }

    /// `unlink`, with the descent starting at node `t`, which hangs below
    /// `parent` on side `left` (NIL: the root); the sizes of the nodes above
    /// `t` are the caller's business.
    fn unlink_from(&mut self, k: u32, mut parent: u32, mut left: bool, mut t: u32) {
        let score = self.nodes[k as usize].score;
        while t != k {
            debug_assert!(t != NIL, "node is linked");
            self.nodes[t as usize].size -= 1;
            parent = t;
            left = self.key_before(score, k, t);
            let n = &self.nodes[t as usize];
            t = if left { n.left } else { n.right };
        }
        self.detach(k, parent, left);
    }

    /// Puts the merge of `k`'s children in its place below `parent` (side
    /// `left`) and leaves `k` detached; sizes above are the caller's.
    #[inline]
    fn detach(&mut self, k: u32, parent: u32, left: bool) {
        let (l, r) = (self.nodes[k as usize].left, self.nodes[k as usize].right);
        let m = self.merge(l, r);
        self.set_link(parent, left, m);
        let n = &mut self.nodes[k as usize];
        (n.left, n.right, n.size) = (NIL, NIL, 1);
    }

    /// Changes the score of linked node `k`. If its neighbours in the order
    /// still bracket the new (score, member), only the score is written (no
    /// node moves); otherwise the node is unlinked and linked again with its
    /// priority, so no slot is freed or allocated.
    ///
    /// One descent serves both: along the prefix of the path where the old
    /// and the new key go the same way, subtree sizes stay as they are (the
    /// node leaves and comes back); below the point where they part, the
    /// node is uncounted down to its place, and the new link starts there.
    fn rescore(&mut self, k: u32, score: f64) {
        let old = self.nodes[k as usize].score;
        let (mut parent, mut left, mut t) = (NIL, false, self.root);
        while t != k {
            debug_assert!(t != NIL, "node is linked");
            let l = self.key_before(old, k, t);
            if l != self.key_before(score, k, t) {
                break;
            }
            parent = t;
            left = l;
            let n = &self.nodes[t as usize];
            t = if l { n.left } else { n.right };
        }
        // The link where the paths part (or where `k` hangs).
        let (top, top_left) = (parent, left);
        if t == k {
            // Every ancestor brackets the new key; the nearest neighbours
            // are in `k`'s subtrees, if it has them.
            let n = &self.nodes[k as usize];
            let (mut p, mut q) = (n.left, n.right);
            if p != NIL {
                while self.nodes[p as usize].right != NIL {
                    p = self.nodes[p as usize].right;
                }
            }
            if q != NIL {
                while self.nodes[q as usize].left != NIL {
                    q = self.nodes[q as usize].left;
                }
            }
            if (p == NIL || !self.key_before(score, k, p)) && (q == NIL || self.key_before(score, k, q)) {
                self.nodes[k as usize].score = score;
                return;
            }
        }
        self.unlink_from(k, parent, left, t);
        self.nodes[k as usize].score = score;
        self.link_below(k, top, top_left);
    }

    /// Splits `t` into the nodes for which `before` holds (a prefix) and the rest.
    fn split_by(&mut self, t: u32, before: &impl Fn(f64, &[u8]) -> bool) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let n = &self.nodes[t as usize];
        if before(n.score, &n.member) {
            let (a, b) = self.split_by(n.right, before);
            self.nodes[t as usize].right = a;
            self.update(t);
            (t, b)
        } else {
            let (a, b) = self.split_by(n.left, before);
            self.nodes[t as usize].left = b;
            self.update(t);
            (a, t)
        }
    }

    /// Splits `t` into the nodes ordered before node `k` and the rest.
    fn split_before_node(&mut self, t: u32, k: u32) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        if self.before(t, k) {
            let n = &self.nodes[t as usize];
            let (a, b) = self.split_before_node(n.right, k);
            self.nodes[t as usize].right = a;
            self.update(t);
            (t, b)
        } else {
            let (a, b) = self.split_before_node(self.nodes[t as usize].left, k);
            self.nodes[t as usize].left = b;
            self.update(t);
            (a, t)
        }
    }

    /// Splits `t` into its first `k` nodes and the rest.
    fn split_at(&mut self, t: u32, k: usize) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let ls = self.size(self.nodes[t as usize].left);
        if k <= ls {
            let (a, b) = self.split_at(self.nodes[t as usize].left, k);
            self.nodes[t as usize].left = b;
            self.update(t);
            (a, t)
        } else {
            let (a, b) = self.split_at(self.nodes[t as usize].right, k - ls - 1);
            self.nodes[t as usize].right = a;
            self.update(t);
            (t, b)
        }
    }

    /// Joins two trees, every node of `a` ordered before every node of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].prio > self.nodes[b as usize].prio {
            let r = self.merge(self.nodes[a as usize].right, b);
            self.nodes[a as usize].right = r;
            self.update(a);
            a
        } else {
            let l = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = l;
            self.update(b);
            b
        }
    }

    /// Inserts a pair that is not present; returns its node.
    pub fn insert(&mut self, score: f64, member: Bytes16) -> u32 {
        let n = self.alloc(score, member);
        self.link(n);
        n
    }

    /// Removes the pair; returns its member bytes if it was present.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> Option<Bytes16> {
        let before = |s: f64, x: &[u8]| cmp_entry(s, x, score, member) == Ordering::Less;
        let (l, r) = self.split_by(self.root, &before);
        let (m, r2) = self.split_at(r, 1);
        let found = m != NIL && {
            let n = &self.nodes[m as usize];
            n.score == score && &*n.member == member
        };
        if found {
            let (_, mem) = self.release(m);
            self.root = self.merge(l, r2);
            Some(mem)
        } else {
            let r = self.merge(m, r2);
            self.root = self.merge(l, r);
            None
        }
    }

    /// How many leading pairs satisfy `before` (which must hold for a prefix).
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut t = self.root;
        let mut count = 0;
        while t != NIL {
            let n = &self.nodes[t as usize];
            if before(n.score, &n.member) {
                count += self.size(n.left) + 1;
                t = n.right;
            } else {
                t = n.left;
            }
        }
        count
    }

    /// The 0-based rank of a pair (the number of pairs ordered before it).
    pub fn rank(&self, score: f64, member: &[u8]) -> usize {
        self.count_before(|s, m| cmp_entry(s, m, score, member) == Ordering::Less)
    }

    /// The rank of linked node `k`: a descent to it, member bytes compared
    /// only on score ties.
    fn rank_of(&self, k: u32) -> usize {
        let score = self.nodes[k as usize].score;
        let (mut t, mut count) = (self.root, 0);
        while t != k {
            debug_assert!(t != NIL, "node is linked");
            let n = &self.nodes[t as usize];
            if self.key_before(score, k, t) {
                t = n.left;
            } else {
                count += self.size(n.left) + 1;
                t = n.right;
            }
        }
        count + self.size(self.nodes[k as usize].left)
    }

    /// The pair at rank `k`.
    pub fn nth(&self, mut k: usize) -> Option<(&[u8], f64)> {
        let mut t = self.root;
        while t != NIL {
            let n = &self.nodes[t as usize];
            let ls = self.size(n.left);
            match k.cmp(&ls) {
                Ordering::Less => t = n.left,
                Ordering::Equal => return Some((&n.member, n.score)),
                Ordering::Greater => {
                    k -= ls + 1;
                    t = n.right;
                }
            }
        }
        None
    }

    /// Removes the pairs of ranks `start..start + n`, calling `f` on each (in order).
    pub fn remove_ranks(&mut self, start: usize, n: usize, mut f: impl FnMut(u32, f64, Bytes16)) {
        let (l, r) = self.split_at(self.root, start);
        let (m, r2) = self.split_at(r, n);
        self.root = self.merge(l, r2);
        let mut stack = Vec::new();
        let mut t = m;
        // In-order walk of the detached subtree, releasing its nodes.
        loop {
            while t != NIL {
                stack.push(t);
                t = self.nodes[t as usize].left;
            }
            let Some(x) = stack.pop() else { break };
            t = self.nodes[x as usize].right;
            let (s, mem) = self.release(x);
            f(x, s, mem);
        }
    }

    /// Iterates pairs in order from rank `k` (ascending) or down from rank `k`
    /// (descending, `rev`).
    pub fn iter_from(&self, mut k: usize, rev: bool) -> TreeIter<'_> {
        let mut stack = Vec::new();
        let mut t = self.root;
        while t != NIL {
            let n = &self.nodes[t as usize];
            let ls = self.size(n.left);
            match k.cmp(&ls) {
                Ordering::Less => {
                    if !rev {
                        stack.push(t);
                    }
                    t = n.left;
                }
                Ordering::Equal => {
                    stack.push(t);
                    break;
                }
                Ordering::Greater => {
                    if rev {
                        stack.push(t);
                    }
                    k -= ls + 1;
                    t = n.right;
                }
            }
        }
        TreeIter { tree: self, stack, rev }
    }
}

pub struct TreeIter<'a> {
    tree: &'a Tree,
    stack: Vec<u32>,
    rev: bool,
}

impl<'a> Iterator for TreeIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        let x = self.stack.pop()?;
        let nodes = &self.tree.nodes;
        let n = &nodes[x as usize];
        let mut t = if self.rev { n.left } else { n.right };
        while t != NIL {
            self.stack.push(t);
            let c = &nodes[t as usize];
            t = if self.rev { c.right } else { c.left };
        }
        Some((&n.member, n.score))
    }
}

/// The member index of a tree-encoded set: node ids by member hash (a
/// `Slots` table; the member is stored once, in its tree node).
#[derive(Default)]
struct Index {
    table: Slots,
}

impl Index {
    #[inline]
    fn find_hashed(&self, tree: &Tree, h: u64, member: &[u8]) -> Option<u32> {
        self.table.find(h, |k| &*tree.nodes[k].member == member).map(|k| k as u32)
    }

    fn find(&self, tree: &Tree, member: &[u8]) -> Option<u32> {
        self.find_hashed(tree, slots::hash(member), member)
    }

    fn add_hashed(&mut self, h: u64, k: u32) {
        self.table.insert(h, k as usize);
    }

    fn add(&mut self, tree: &Tree, k: u32) {
        self.add_hashed(slots::hash(&tree.nodes[k as usize].member), k);
    }

    fn forget(&mut self, member: &[u8], k: u32) {
        self.table.remove_pos(slots::hash(member), k as usize);
        self.table.shrink_if_sparse();
    }

    /// Points the entry of `member` at node `to` instead of `from`.
    fn moved(&mut self, member: &[u8], from: u32, to: u32) {
        self.table.repoint(slots::hash(member), from as usize, to as usize);
    }

    /// Gives back the arena space of removed members once more than half of
    /// it is free: the highest live nodes move down into the lowest holes and
    /// the arena is truncated. Nodes only ever move to lower slots, so a
    /// ZSCAN (which walks slots downward) may see a member twice but never
    /// misses one present for the whole scan.
    fn compact_if_sparse(&mut self, tree: &mut Tree) {
        let free = tree.free.len();
        // Tests compact tiny arenas too, so the property tests exercise it.
        let min_free = if cfg!(test) { 4 } else { 64 };
        if free < min_free || free * 2 <= tree.nodes.len() {
            return;
        }
        let mut holes = std::mem::take(&mut tree.free);
        holes.sort_unstable();
        let mut hi = tree.nodes.len();
        let mut used = 0;
        for &q in &holes {
            while hi > 0 && tree.nodes[hi - 1].size == 0 {
                hi -= 1;
            }
            if q as usize >= hi {
                break;
            }
            let p = (hi - 1) as u32;
            tree.move_node(p, q);
            self.moved(&tree.nodes[q as usize].member, p, q);
            hi -= 1;
            used += 1;
        }
        while hi > 0 && tree.nodes[hi - 1].size == 0 {
            hi -= 1;
        }
        tree.nodes.truncate(hi);
        tree.nodes.shrink_to_fit();
        tree.free = holes.into_iter().skip(used).filter(|&q| (q as usize) < hi).collect();
    }
}

enum Repr {
    Pack(Vec<(f64, Bytes16)>),
    Skip { tree: Tree, index: Index },
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
    Tree(std::iter::Take<TreeIter<'a>>),
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
            Repr::Skip { tree, index } => index.find(tree, member).map(|k| tree.nodes[k as usize].score),
        }
    }

    /// Prefetch step `step` for a member of hash `h` (`slots::hash`): 0
    /// its index slot line, 1 the tree node that slot points at, 2 the
    /// member's heap bytes. Nothing to do for a pack.
    #[inline]
    pub fn prefetch_member(&self, h: u64, step: u8) {
        let Repr::Skip { tree, index } = &self.repr else { return };
        if step == 0 {
            return index.table.prefetch_slot(h);
        }
        if let Some(n) = index.table.candidate(h).and_then(|k| tree.nodes.get(k)) {
            if step == 1 {
                slots::prefetch(n as *const Node);
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
                let prev = tree.nodes[k as usize].score;
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
                tree.unlink(k);
                let score = tree.release(k).0;
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
    /// sets walk their arena's node slots from `cursor` (0 = start) downward
    /// and return the next cursor (0 = done). A node keeps its slot, or moves
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
                let len = tree.nodes.len();
                let mut b = if cursor == 0 { len } else { (cursor as usize).min(len) };
                let mut n = 0;
                while b > 0 && n < count {
                    b -= 1;
                    if let Some(node) = tree.live(b) {
                        f(&node.member, node.score);
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
        assert!(tree.nodes.len() < 1000, "arena of {} slots", tree.nodes.len());
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
        let mut t = Tree::new();
        for i in 0..10_000u32 {
            let k = (i.wrapping_mul(7919)) % 10_000;
            t.insert(k as f64, Bytes16::new(&k.to_be_bytes()));
        }
        assert_eq!(t.len(), 10_000);
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
    }

    /// Checks the treap's invariants: in-order, heap-ordered priorities,
    /// subtree sizes; returns the subtree size.
    fn check_tree(t: &Tree, x: u32) -> usize {
        if x == NIL {
            return 0;
        }
        let n = &t.nodes[x as usize];
        for c in [n.left, n.right] {
            if c != NIL {
                assert!(t.nodes[c as usize].prio <= n.prio, "heap order");
            }
        }
        if n.left != NIL {
            assert!(t.before(n.left, x));
        }
        if n.right != NIL {
            assert!(t.before(x, n.right));
        }
        let size = 1 + check_tree(t, n.left) + check_tree(t, n.right);
        assert_eq!(n.size as usize, size, "subtree size");
        size
    }

    /// Randomized model test of a big tree-encoded set: adds, score updates
    /// (small moves that keep the position and random ones that do not),
    /// removals, against an ordered set of (score, member).
    #[test]
    fn big_tree_matches_ordered_model() {
        #[derive(PartialEq, PartialOrd, Clone, Copy, Debug)]
        struct Sc(f64);
        impl Eq for Sc {}
        impl Ord for Sc {
            fn cmp(&self, o: &Sc) -> Ordering {
                self.0.partial_cmp(&o.0).expect("no NaN")
            }
        }
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
                    if let Some(c) = cur {
                        if c != s {
                            model.remove(&(Sc(c + 0.0), m.clone()));
                            model.insert((Sc(s + 0.0), m.clone()));
                            scores.insert(m.clone(), s);
                        }
                    } else {
                        model.insert((Sc(s + 0.0), m.clone()));
                        scores.insert(m.clone(), s);
                    }
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
                    assert_eq!(check_tree(tree, tree.root), model.len());
                }
                let all: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s + 0.0)).collect();
                let exp: Vec<(Vec<u8>, f64)> = model.iter().map(|(s, m)| (m.clone(), s.0)).collect();
                assert_eq!(all, exp);
            }
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
