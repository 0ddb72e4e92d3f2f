//! Access control lists: users, their passwords and what they may run
//! (Redis 7.0's ACL model).
//!
//! A user has flags (on/off, nopass, sanitize-payload), SHA-256 password
//! hashes, and selectors: the root one, plus any added with `(...)`. A
//! selector holds a bitmap of allowed commands (one bit per registry entry,
//! subcommands included, and a reserved bit for "future commands" that only
//! `+@all` sets), first-argument exceptions (`+select|0`), key patterns with
//! read/write permissions (`~`, `%R~`, `%W~`) and channel patterns (`&`). A
//! command runs if any selector allows the command, every key it names (for
//! the access its key specs declare) and every channel it publishes or
//! subscribes to.
//!
//! Rules are applied to a staged copy and take effect together (a bad rule
//! changes nothing). ACL LIST / GETUSER describe the command bitmap back as
//! rules with Redis's algorithm: `+@all` or `-@all`, then the categories
//! that fit best, then single commands; single commands follow our table's
//! order (Redis's follows its hash table's).
//!
//! Connections hold an `Arc<AclUser>`: SETUSER changes a user in place, so
//! logged-in connections see new rules at their next command; the common
//! unrestricted user (the default one) is checked with one atomic load.

use crate::cmdspec::{cat, f, ks, CommandSpec};
use crate::commands::registry;
use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

const PERM_R: u8 = 1;
const PERM_W: u8 = 2;
const PERM_RW: u8 = 3;

/// Why a rule was refused (Redis's errno values of ACLSetUser).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    UnknownCommand,
    Syntax,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// What a check refused, and the argument it is about (0 for the command).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denied {
    fn rank(self) -> u8 {
        match self {
            Denied::Command => 0,
            Denied::Key(_) => 1,
            Denied::Channel(_) => 2,
        }
    }

    pub fn pos(self) -> usize {
        match self {
            Denied::Command => 0,
            Denied::Key(p) | Denied::Channel(p) => p,
        }
    }
}

// ------------------------------------------------------------ the command list

/// A command or subcommand as ACLs see it.
struct CmdInfo {
    id: usize,
    fullname: String,
    cats: u64,
    /// Subcommands (containers only), in name order.
    subs: Vec<usize>,
    parent: bool,
}

struct Cmds {
    /// Top-level commands in name order, each followed by nothing: the
    /// subcommands are reached through `subs`.
    top: Vec<usize>,
    by_id: Vec<Option<CmdInfo>>,
    words: usize,
}

fn cmds() -> &'static Cmds {
    static C: OnceLock<Cmds> = OnceLock::new();
    C.get_or_init(|| {
        let r = registry();
        let mut by_id: Vec<Option<CmdInfo>> = (0..r.entries.len()).map(|_| None).collect();
        let mut top = Vec::new();
        for e in r.top_level() {
            let subs: Vec<usize> = r.subs_of(e).iter().map(|s| s.index).collect();
            for s in r.subs_of(e) {
                by_id[s.index] = Some(CmdInfo {
                    id: s.index,
                    fullname: s.spec.name.to_string(),
                    cats: s.spec.acl,
                    subs: vec![],
                    parent: true,
                });
            }
            by_id[e.index] =
                Some(CmdInfo { id: e.index, fullname: e.spec.name.to_string(), cats: e.spec.acl, subs, parent: false });
            top.push(e.index);
        }
        // One more bit for "future commands".
        let words = (r.entries.len() + 1).div_ceil(64);
        Cmds { top, by_id, words }
    })
}

fn info(id: usize) -> &'static CmdInfo {
    cmds().by_id[id].as_ref().expect("a registered command")
}

/// The bit that only +@all sets: the user may run commands added later.
fn future_bit() -> usize {
    registry().entries.len()
}

fn category_flag(name: &[u8]) -> Option<u64> {
    cat::NAMES.iter().position(|n| n.as_bytes().eq_ignore_ascii_case(name)).map(|i| 1u64 << i)
}

/// A command by name for a rule: `name` or `container|sub`.
fn lookup(name: &[u8]) -> Option<usize> {
    let r = registry();
    let name = std::str::from_utf8(name).ok()?;
    match name.split_once('|') {
        None => r.get(name.as_bytes()).map(|e| e.index),
        Some((c, s)) => {
            let e = r.get(c.as_bytes())?;
            r.sub(e, s.as_bytes()).map(|e| e.index)
        }
    }
}

/// Every command and subcommand, depth first (containers before their
/// subcommands), in name order.
fn walk(mut f: impl FnMut(&'static CmdInfo)) {
    for &t in &cmds().top {
        let c = info(t);
        f(c);
        for &s in &c.subs {
            f(info(s));
        }
    }
}

// ------------------------------------------------------------ selectors

#[derive(Clone)]
pub struct Selector {
    root: bool,
    all_keys: bool,
    all_channels: bool,
    all_commands: bool,
    allowed: Vec<u64>,
    first_args: BTreeMap<usize, Vec<String>>,
    patterns: Vec<(Vec<u8>, u8)>,
    channels: Vec<Vec<u8>>,
}

impl Selector {
    fn new(root: bool, all_channels: bool) -> Selector {
        Selector {
            root,
            all_keys: false,
            all_channels,
            all_commands: false,
            allowed: vec![0; cmds().words],
            first_args: BTreeMap::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    fn bit(&self, id: usize) -> bool {
        self.allowed.get(id / 64).is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(w) = self.allowed.get_mut(id / 64) {
            if on {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
                self.all_commands = false;
            }
        }
    }

    /// Allows or denies a command, and its subcommands with it.
    fn change(&mut self, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.first_args.remove(&id);
        for &s in &info(id).subs {
            self.set_bit(s, allow);
        }
    }

    fn category(&mut self, flag: u64, allow: bool) {
        walk(|c| {
            if c.cats & flag != 0 {
                self.change(c.id, allow);
            }
        });
    }

    fn count_category(&self, flag: u64) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        walk(|c| {
            if c.cats & flag != 0 {
                if self.bit(c.id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        });
        (on, off)
    }

    /// One rule that acts on a selector (Redis's ACLSetSelector).
    fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if op.is_empty() {
            return Err(RuleError::Syntax);
        }
        let is = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
        if is("allkeys") || is("~*") {
            self.all_keys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.patterns.clear();
        } else if is("allchannels") || is("&*") {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.allowed.iter_mut().for_each(|w| *w = u64::MAX);
            self.all_commands = true;
            self.first_args.clear();
        } else if is("nocommands") || is("-@all") {
            self.allowed.iter_mut().for_each(|w| *w = 0);
            self.all_commands = false;
            self.first_args.clear();
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.all_keys {
                return Err(RuleError::KeyAfterAll);
            }
            let mut flags = 0;
            let mut offset = 1;
            if op[0] == b'%' {
                while let Some(&c) = op.get(offset) {
                    if c.eq_ignore_ascii_case(&b'R') && flags & PERM_R == 0 {
                        flags |= PERM_R;
                    } else if c.eq_ignore_ascii_case(&b'W') && flags & PERM_W == 0 {
                        flags |= PERM_W;
                    } else if c == b'~' {
                        offset += 1;
                        break;
                    } else {
                        return Err(RuleError::Syntax);
                    }
                    offset += 1;
                }
            } else {
                flags = PERM_RW;
            }
            if flags == 0 {
                return Err(RuleError::Syntax);
            }
            let pat = &op[offset.min(op.len())..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            match self.patterns.iter_mut().find(|(p, _)| p == pat) {
                Some((_, f)) => *f |= flags,
                None => self.patterns.push((pat.to_vec(), flags)),
            }
            self.all_keys = false;
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pat = &op[1..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pat) {
                self.channels.push(pat.to_vec());
            }
            self.all_channels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            let name = &op[1..];
            match name.iter().rposition(|&c| c == b'|') {
                None => self.change(lookup(name).ok_or(RuleError::UnknownCommand)?, true),
                Some(bar) => {
                    let (cmd, sub) = (&name[..bar], &name[bar + 1..]);
                    let id = lookup(cmd).ok_or(RuleError::UnknownCommand)?;
                    if info(id).parent {
                        return Err(RuleError::FirstArgOfSubcommand);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if !info(id).subs.is_empty() {
                        self.change(lookup(name).ok_or(RuleError::UnknownCommand)?, true);
                    } else {
                        tracing::warn!(
                            "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
                            String::from_utf8_lossy(name)
                        );
                        // (Redis skips this when the command is allowed.)
                        if !self.bit(id) {
                            let sub = String::from_utf8_lossy(sub).to_ascii_lowercase();
                            let list = self.first_args.entry(id).or_default();
                            if !list.contains(&sub) {
                                list.push(sub);
                            }
                        }
                    }
                }
            }
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            self.change(lookup(&op[1..]).ok_or(RuleError::UnknownCommand)?, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let flag = category_flag(&op[2..]).ok_or(RuleError::UnknownCommand)?;
            self.category(flag, op[0] == b'+');
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// The command rules that rebuild this bitmap (Redis's
    /// ACLDescribeSelectorCommandRules).
    fn describe_commands(&self) -> String {
        let mut rules = String::new();
        let additive = !self.bit(future_bit());
        let mut fake = Selector::new(false, false);
        if additive {
            rules.push_str("-@all ");
        } else {
            rules.push_str("+@all ");
            fake.apply(b"+@all").expect("valid");
        }
        let mut temp = self.clone();
        let mut applied = [false; 64];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, _) in cat::NAMES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (on, off) = temp.count_category(1 << j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(b) = best else { break };
            fake.category(1 << b, additive);
            temp.category(1 << b, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(cat::NAMES[b]);
            rules.push(' ');
            applied[b] = true;
        }
        // Single commands where the bitmaps still differ.
        walk(|c| {
            let (mine, theirs) = (self.bit(c.id), fake.bit(c.id));
            if mine != theirs {
                rules.push(if mine { '+' } else { '-' });
                rules.push_str(&c.fullname);
                rules.push(' ');
                fake.change(c.id, mine);
            }
            if !mine {
                if let Some(args) = self.first_args.get(&c.id) {
                    for a in args {
                        rules.push('+');
                        rules.push_str(&c.fullname);
                        rules.push('|');
                        rules.push_str(a);
                        rules.push(' ');
                    }
                }
            }
        });
        rules.pop();
        rules
    }

    fn keys_text(&self, sep: &str) -> String {
        if self.all_keys {
            return "~*".into();
        }
        let v: Vec<String> = self.patterns.iter().map(|(p, fl)| pattern_string(p, *fl)).collect();
        v.join(sep)
    }

    fn channels_text(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let v: Vec<String> = self.channels.iter().map(|c| format!("&{}", String::from_utf8_lossy(c))).collect();
        v.join(" ")
    }

    /// Keys, channels and commands, as ACL LIST shows a selector.
    fn describe(&self) -> String {
        let mut s = String::new();
        if self.all_keys {
            s.push_str("~* ");
        } else {
            for (p, fl) in &self.patterns {
                s.push_str(&pattern_string(p, *fl));
                s.push(' ');
            }
        }
        if self.all_channels {
            s.push_str("&* ");
        } else {
            s.push_str("resetchannels ");
            for c in &self.channels {
                s.push('&');
                s.push_str(&String::from_utf8_lossy(c));
                s.push(' ');
            }
        }
        s.push_str(&self.describe_commands());
        s
    }

    fn check_key(&self, key: &[u8], spec_flags: u64) -> bool {
        if self.all_keys {
            return true;
        }
        let mut want = 0;
        if spec_flags & ks::ACCESS != 0 {
            want |= PERM_R;
        }
        if spec_flags & (ks::INSERT | ks::DELETE | ks::UPDATE) != 0 {
            want |= PERM_W;
        }
        self.patterns.iter().any(|(p, fl)| fl & want == want && crate::glob::matches(p, key, false))
    }

    fn check_channel(&self, ch: &[u8], is_pattern: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|p| if is_pattern { p == ch } else { crate::glob::matches(p, ch, false) })
    }

    fn check(&self, spec: &CommandSpec, id: usize, argv: &[&[u8]], keys: &[(usize, u64)]) -> Result<(), Denied> {
        if !self.all_commands && !spec.has(f::NO_AUTH) && !self.bit(id) {
            let idx = if info(id).parent { 2 } else { 1 };
            let ok = argv.len() >= 2
                && self.first_args.get(&id).is_some_and(|l| {
                    argv.get(idx).is_some_and(|a| l.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(a)))
                });
            if !ok {
                return Err(Denied::Command);
            }
        }
        if !self.all_keys {
            for &(pos, fl) in keys {
                if !self.check_key(argv[pos], fl) {
                    return Err(Denied::Key(pos));
                }
            }
        }
        if !self.all_channels {
            for (pos, pattern) in channels(spec, argv) {
                if !self.check_channel(argv[pos], pattern) {
                    return Err(Denied::Channel(pos));
                }
            }
        }
        Ok(())
    }
}

/// The keys a command names, with the access each needs: its key specs,
/// without the arguments marked as not keys (shard channels), and with
/// the access worked out from the arguments where the spec says it varies
/// (Redis's setGetKeys and bitfieldGetKeys).
fn key_flags(spec: &CommandSpec, argv: &[&[u8]]) -> Vec<(usize, u64)> {
    let mut keys: Vec<(usize, u64)> = Vec::new();
    spec.walk_keys(argv, |pos, fl| {
        if fl & ks::NOT_KEY == 0 {
            keys.push((pos, fl));
        }
    });
    // (SET's options start after the key and the value.)
    let has = |w: &str| argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(w.as_bytes()));
    match spec.name {
        // SET only writes, unless GET also reads the old value.
        "set" if !has("get") => keys.iter_mut().for_each(|k| k.1 = ks::OW | ks::UPDATE),
        // SORT: the sorted key is read, the last STORE destination written
        // (Redis's sortGetKeys; the spec of STORE is incomplete).
        "sort" => {
            keys.retain(|k| k.0 == 1);
            let mut store = None;
            let mut i = 2;
            while i < argv.len() {
                let a = argv[i];
                if a.eq_ignore_ascii_case(b"limit") {
                    i += 2;
                } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
                    i += 1;
                } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
                    store = Some(i + 1);
                }
                i += 1;
            }
            if let Some(p) = store {
                keys.push((p, ks::OW | ks::UPDATE));
            }
        }
        // MIGRATE ... "" ... KEYS k1 k2: the empty key argument is not a key
        // (Redis's migrateGetKeys).
        "migrate" if argv.iter().skip(6).any(|a| a.eq_ignore_ascii_case(b"keys")) => keys.retain(|k| k.0 != 3),
        // BITFIELD with nothing but GET only reads.
        "bitfield" => {
            let mut writes = false;
            let mut i = 2;
            while i < argv.len() {
                let a = argv[i].to_ascii_lowercase();
                match a.as_slice() {
                    b"get" => i += 3,
                    b"set" | b"incrby" => {
                        writes = true;
                        i += 4
                    }
                    b"overflow" => i += 2,
                    _ => i += 1,
                }
            }
            if !writes {
                keys.iter_mut().for_each(|k| k.1 = ks::RO | ks::ACCESS);
            }
        }
        _ => {}
    }
    keys
}

fn pattern_string(p: &[u8], fl: u8) -> String {
    let prefix = match fl {
        PERM_R => "%R~",
        PERM_W => "%W~",
        _ => "~",
    };
    format!("{prefix}{}", String::from_utf8_lossy(p))
}

fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&c| c.is_ascii_whitespace() || c == 0)
}

/// The channels a command publishes or subscribes to: (argument, is a
/// pattern). Unsubscribing needs no permission.
fn channels(spec: &CommandSpec, argv: &[&[u8]]) -> Vec<(usize, bool)> {
    match spec.name {
        "publish" | "spublish" => (argv.len() > 1).then_some((1, false)).into_iter().collect(),
        "subscribe" | "ssubscribe" => (1..argv.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..argv.len()).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

// ------------------------------------------------------------ users

#[derive(Clone)]
pub struct User {
    pub name: String,
    enabled: bool,
    nopass: bool,
    /// None, or Some(true) for sanitize-payload, Some(false) for
    /// skip-sanitize-payload.
    sanitize: Option<bool>,
    /// SHA-256 hashes, hex, in the order added.
    passwords: Vec<String>,
    /// The root selector first.
    selectors: Vec<Selector>,
}

pub fn hash_password(p: &[u8]) -> String {
    let d = Sha256::digest(p);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64 && h.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

impl User {
    /// A new user: off, no passwords, no commands, no keys; channels as
    /// acl-pubsub-default says.
    pub fn new(name: &str, all_channels: bool) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, all_channels)],
        }
    }

    /// The default user: on, nopass, every command, key and channel.
    pub fn default_user() -> User {
        let mut u = User::new("default", false);
        for r in ["+@all", "~*", "&*", "on", "nopass"] {
            u.apply(r.as_bytes(), false).expect("valid");
        }
        u
    }

    /// One rule (Redis's ACLSetUser).
    pub fn apply(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let h = if op[0] == b'>' {
                hash_password(&op[1..])
            } else {
                if !valid_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            if !self.passwords.contains(&h) {
                self.passwords.push(h);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let h = if op[0] == b'<' {
                hash_password(&op[1..])
            } else {
                if !valid_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            let Some(i) = self.passwords.iter().position(|p| *p == h) else {
                return Err(RuleError::NoSuchPassword);
            };
            self.passwords.remove(i);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let inner = &op[1..op.len() - 1];
            let mut s = Selector::new(false, pubsub_all);
            let parts = resp::split_args(inner).ok_or(RuleError::Syntax)?;
            for p in parts {
                s.apply(&p)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for r in ["resetpass", "resetkeys", "resetchannels"] {
                self.apply(r.as_bytes(), pubsub_all)?;
            }
            if pubsub_all {
                self.apply(b"allchannels", pubsub_all)?;
            }
            for r in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                self.apply(r.as_bytes(), pubsub_all)?;
            }
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn nopass(&self) -> bool {
        self.nopass
    }

    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h = hash_password(pass);
        // Compared in full, whatever matches first.
        self.passwords.iter().fold(false, |ok, p| ok | (p.as_bytes() == h.as_bytes()))
    }

    /// Flag names, in Redis's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            v.push("nopass");
        }
        match self.sanitize {
            Some(false) => v.push("skip-sanitize-payload"),
            Some(true) => v.push("sanitize-payload"),
            None => {}
        }
        v
    }

    pub fn passwords(&self) -> &[String] {
        &self.passwords
    }

    /// The rules after `user <name> ` in ACL LIST and the ACL file.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for f in self.flag_names() {
            s.push_str(f);
            s.push(' ');
        }
        for p in &self.passwords {
            s.push('#');
            s.push_str(p);
            s.push(' ');
        }
        for sel in &self.selectors {
            if sel.root {
                s.push_str(&sel.describe());
            } else {
                s.push_str(&format!(" ({})", sel.describe()));
            }
        }
        s
    }

    /// (commands, keys, channels) of each selector, root first, for GETUSER.
    pub fn selector_fields(&self) -> Vec<[String; 3]> {
        self.selectors.iter().map(|s| [s.describe_commands(), s.keys_text(" "), s.channels_text()]).collect()
    }

    /// True if nothing is ever refused (every command, key and channel).
    fn unrestricted(&self) -> bool {
        let r = &self.selectors[0];
        r.all_commands && r.all_keys && r.all_channels
    }

    /// Whether the user may run the command (Redis's
    /// ACLCheckAllUserCommandPerm): the first selector that allows it
    /// wins; otherwise the refusal reported is the command if no selector
    /// got past it, else the key or channel furthest along.
    pub fn check(&self, spec: &CommandSpec, id: usize, argv: &[&[u8]]) -> Result<(), Denied> {
        let keys = key_flags(spec, argv);
        let mut worst = Denied::Command;
        for s in &self.selectors {
            match s.check(spec, id, argv, &keys) {
                Ok(()) => return Ok(()),
                Err(d) => {
                    if d.rank() > worst.rank() || (d.rank() == worst.rank() && d.pos() > worst.pos()) {
                        worst = d;
                    }
                }
            }
        }
        Err(worst)
    }

    /// Whether some selector allows the command and every key for `perm`
    /// (reads: SORT's BY and GET patterns reach keys the arguments do not
    /// name; Redis's ACLUserCheckCmdWithUnrestrictedKeyAccess).
    pub fn all_keys_readable(&self, spec: &CommandSpec, id: usize, argv: &[&[u8]]) -> bool {
        let keys = key_flags(spec, argv);
        self.selectors.iter().any(|s| {
            s.check(spec, id, argv, &keys).is_ok()
                && (s.all_keys || s.patterns.iter().any(|(p, fl)| fl & PERM_R != 0 && p == b"*"))
        })
    }

    /// Whether any selector allows `channel` (for pub/sub checks outside
    /// a command's arguments).
    pub fn channel_ok(&self, ch: &[u8], is_pattern: bool) -> bool {
        self.selectors.iter().any(|s| s.check_channel(ch, is_pattern))
    }
}

/// Splits SETUSER arguments, joining `(` ... `)` selectors written as
/// several arguments (Redis's ACLMergeSelectorArguments). Err: the index
/// of an unclosed selector.
fn merge_selectors(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, a) in args.iter().enumerate() {
        if let Some((_, buf)) = open.as_mut() {
            buf.push(b' ');
            buf.extend_from_slice(a);
            if a.last() == Some(&b')') {
                out.push(open.take().expect("open").1);
            }
            continue;
        }
        if a.first() == Some(&b'(') && a.last() != Some(&b')') {
            open = Some((j, a.to_vec()));
            continue;
        }
        out.push(a.to_vec());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}

// ------------------------------------------------------------ the registry of users

/// A user as connections hold it: changed in place by ACL SETUSER.
pub struct AclUser {
    data: RwLock<User>,
    /// Cached `User::unrestricted`: the check every command makes.
    open: AtomicBool,
    /// Deleted by ACL DELUSER (its connections are being closed).
    pub deleted: AtomicBool,
}

impl AclUser {
    fn new(u: User) -> Arc<AclUser> {
        let open = u.unrestricted();
        Arc::new(AclUser { data: RwLock::new(u), open: AtomicBool::new(open), deleted: AtomicBool::new(false) })
    }

    pub fn name(&self) -> String {
        self.data.read().name.clone()
    }

    /// Marks the user deleted: `check` refuses everything from now on.
    fn retire(&self) {
        self.deleted.store(true, Ordering::Release);
        self.open.store(false, Ordering::Release);
    }

    pub fn read(&self) -> parking_lot::RwLockReadGuard<'_, User> {
        self.data.read()
    }

    fn replace(&self, u: User) {
        let open = u.unrestricted();
        *self.data.write() = u;
        self.open.store(open, Ordering::Release);
    }

    /// The check a command makes before it runs.
    #[inline]
    pub fn check(&self, spec: &CommandSpec, id: usize, argv: &[&[u8]]) -> Result<(), Denied> {
        if self.open.load(Ordering::Acquire) {
            return Ok(());
        }
        // A deleted user's connections are being closed; commands they
        // had already sent run no more.
        if self.deleted.load(Ordering::Acquire) {
            return Err(Denied::Command);
        }
        self.data.read().check(spec, id, argv)
    }
}

/// An ACL LOG entry.
pub struct LogEntry {
    pub count: u64,
    pub reason: &'static str,
    pub context: &'static str,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    pub created_ms: i64,
    pub client_info: String,
}

#[derive(Default)]
pub struct Acl {
    users: RwLock<BTreeMap<Vec<u8>, Arc<AclUser>>>,
    default: OnceLock<Arc<AclUser>>,
    pub log: Mutex<VecDeque<LogEntry>>,
    /// Connections must authenticate: the default user is off or has a
    /// password (Redis's authRequired).
    need_auth: AtomicBool,
}

impl Acl {
    pub fn default_user(&self) -> Arc<AclUser> {
        self.default
            .get_or_init(|| {
                let u = AclUser::new(User::default_user());
                self.users.write().insert(b"default".to_vec(), u.clone());
                u
            })
            .clone()
    }

    pub fn get(&self, name: &[u8]) -> Option<Arc<AclUser>> {
        self.default_user();
        self.users.read().get(name).cloned()
    }

    /// Every user, in name order.
    pub fn all(&self) -> Vec<Arc<AclUser>> {
        self.default_user();
        self.users.read().values().cloned().collect()
    }

    /// ACL SETUSER: applies the rules to a copy of the user (or a new
    /// one) and installs it only if all of them are valid. Returns the
    /// user as it was before (None: created).
    pub fn set_user(&self, name: &[u8], args: &[&[u8]], pubsub_all: bool) -> Result<Option<User>, String> {
        let merged = merge_selectors(args).map_err(|j| {
            format!("Unmatched parenthesis in acl selector starting at '{}'.", String::from_utf8_lossy(args[j]))
        })?;
        let existing = self.get(name);
        let old = existing.as_ref().map(|u| u.read().clone());
        let mut u = old.clone().unwrap_or_else(|| User::new(&String::from_utf8_lossy(name), pubsub_all));
        for op in &merged {
            u.apply(op, pubsub_all).map_err(|e| {
                format!("Error in ACL SETUSER modifier '{}': {}", String::from_utf8_lossy(op), e.message())
            })?;
        }
        match existing {
            Some(e) => e.replace(u),
            None => {
                self.users.write().insert(name.to_vec(), AclUser::new(u));
            }
        }
        self.refresh();
        Ok(old)
    }

    /// Removes users (never "default"); returns those removed.
    pub fn delete(&self, names: &[&[u8]]) -> Vec<Arc<AclUser>> {
        let mut w = self.users.write();
        let gone: Vec<Arc<AclUser>> = names.iter().filter_map(|n| w.remove(*n)).collect();
        for u in &gone {
            u.retire();
        }
        gone
    }

    /// Replaces every user at once (ACL LOAD); "default" is reset to the
    /// defaults unless the new set defines it.
    pub fn replace_all(&self, users: Vec<User>) {
        let def = self.default_user();
        let mut w = self.users.write();
        for (_, u) in w.iter() {
            if !Arc::ptr_eq(u, &def) {
                u.retire();
            }
        }
        w.retain(|n, _| n == b"default");
        let mut saw_default = false;
        for u in users {
            if u.name == "default" {
                def.replace(u);
                saw_default = true;
            } else {
                w.insert(u.name.as_bytes().to_vec(), AclUser::new(u));
            }
        }
        if !saw_default {
            def.replace(User::default_user());
        }
        drop(w);
        self.refresh();
    }

    /// requirepass: the default user's only password, or nopass.
    pub fn set_requirepass(&self, pass: &[u8]) {
        let d = self.default_user();
        let mut u = d.read().clone();
        u.apply(b"resetpass", false).expect("valid");
        if pass.is_empty() {
            u.apply(b"nopass", false).expect("valid");
        } else {
            let mut op = b">".to_vec();
            op.extend_from_slice(pass);
            u.apply(&op, false).expect("valid");
        }
        d.replace(u);
        self.refresh();
    }

    /// Checks a username and password: the user if they match and the user
    /// is enabled.
    pub fn authenticate(&self, name: &[u8], pass: &[u8]) -> Option<Arc<AclUser>> {
        let u = self.get(name)?;
        let ok = u.read().password_ok(pass);
        ok.then_some(u)
    }

    /// True if new connections start logged in as "default" (it is on and
    /// needs no password).
    pub fn default_open(&self) -> bool {
        let d = self.default_user();
        let u = d.read();
        u.enabled && u.nopass
    }

    /// Whether a connection that has not authenticated is refused.
    #[inline]
    pub fn auth_required(&self) -> bool {
        self.need_auth.load(Ordering::Relaxed)
    }

    fn refresh(&self) {
        self.need_auth.store(!self.default_open(), Ordering::Relaxed);
    }

    /// Adds an ACL LOG entry, merging it with a recent one for the same
    /// event (Redis's addACLLogEntry).
    #[allow(clippy::too_many_arguments)]
    pub fn log_event(
        &self,
        reason: &'static str,
        context: &'static str,
        object: &[u8],
        username: &[u8],
        now_ms: i64,
        client_info: String,
        max: usize,
    ) {
        let mut log = self.log.lock();
        let found = log
            .iter()
            .take(10)
            .position(|e| e.reason == reason && e.context == context && e.object == object && e.username == username);
        if let Some(i) = found {
            let mut e = log.remove(i).expect("found");
            e.count += 1;
            e.created_ms = now_ms;
            e.client_info = client_info;
            log.push_front(e);
            return;
        }
        log.push_front(LogEntry {
            count: 1,
            reason,
            context,
            object: object.to_vec(),
            username: username.to_vec(),
            created_ms: now_ms,
            client_info,
        });
        log.truncate(max);
    }
}

/// Adds an ACL LOG entry about `client` (reason "command", "key",
/// "channel" or "auth"; the context is the client's: "multi" inside MULTI,
/// "lua" inside a script, else "toplevel"). `username` for auth failures
/// (the name tried), else the client's user.
pub fn log_event(
    srv: &crate::server::Server,
    client: &crate::client::Client,
    reason: &'static str,
    object: &[u8],
    username: &[u8],
) {
    log_in(srv, client, reason, if client.multi.is_some() { "multi" } else { "toplevel" }, object, username);
}

pub fn log_in(
    srv: &crate::server::Server,
    client: &crate::client::Client,
    reason: &'static str,
    context: &'static str,
    object: &[u8],
    username: &[u8],
) {
    let now = srv.clock.now_ms();
    let mut info = String::new();
    crate::commands::client::describe(&client.info, now, &mut info);
    let max = crate::cfg_num!(srv.config, "acllog-max-len").max(0) as usize;
    srv.acl.log_event(reason, context, object, username, now, info, max);
}

/// A command refused by ACLs: the ACL LOG entry and the error the client
/// gets (Redis's processCommand).
pub fn denied(
    srv: &crate::server::Server,
    client: &crate::client::Client,
    spec: &CommandSpec,
    argv: &[&[u8]],
    d: Denied,
) -> String {
    log_denied(srv, client, if client.multi.is_some() { "multi" } else { "toplevel" }, spec, argv, d);
    match d {
        Denied::Command => format!("NOPERM this user has no permissions to run the '{}' command", spec.full_name()),
        Denied::Key(_) => "NOPERM this user has no permissions to access one of the keys used as arguments".into(),
        Denied::Channel(_) => {
            "NOPERM this user has no permissions to access one of the channels used as arguments".into()
        }
    }
}

/// The commands (and subcommands) of a category, for ACL CAT; None for an
/// unknown category.
pub fn commands_in_category(name: &[u8]) -> Option<Vec<&'static str>> {
    let flag = category_flag(name)?;
    let mut v = Vec::new();
    walk(|c| {
        if c.cats & flag != 0 {
            v.push(c.fullname.as_str());
        }
    });
    Some(v)
}

/// ACL LOAD: replaces every user with those of the file, or changes
/// nothing and returns the errors (Redis's ACLLoadFromFile).
pub fn load_file(srv: &crate::server::Server, path: &str) -> Result<(), String> {
    let text = std::fs::read(path).map_err(|e| format!("Error loading ACLs, opening file '{path}': {e}"))?;
    let pubsub_all = pubsub_default_all(srv);
    let mut errors = String::new();
    let mut users: Vec<User> = Vec::new();
    for (i, line) in text.split(|&c| c == b'\n').enumerate() {
        let n = i + 1;
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&[u8]> = line.split(|&c| c == b' ').filter(|w| !w.is_empty()).collect();
        if words.len() < 2 || words[0] != b"user" {
            errors.push_str(&format!("{path}:{n} should start with user keyword followed by the username. "));
            continue;
        }
        if users.iter().any(|u| u.name.as_bytes() == words[1]) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {n}. ",
                String::from_utf8_lossy(words[1])
            ));
            continue;
        }
        match parse_user(&words[1..], pubsub_all) {
            Ok(u) => users.push(u),
            Err(e) => errors.push_str(&format!("{path}:{n}: {e}. ")),
        }
    }
    if !errors.is_empty() {
        errors.push_str("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
        return Err(errors);
    }
    srv.acl.replace_all(users);
    // Every user but "default" is a new object now: their connections are
    // closed, as Redis frees the old users.
    for c in srv.clients.all() {
        if *c.user.lock() != "default" {
            c.request_kill();
        }
    }
    Ok(())
}

/// acl-pubsub-default: whether new users start with every channel.
pub fn pubsub_default_all(srv: &crate::server::Server) -> bool {
    srv.config.get_text("acl-pubsub-default").is_some_and(|v| v.eq_ignore_ascii_case("allchannels"))
}

/// Startup: the users of `user` directives, or of the ACL file (not both,
/// as Redis refuses).
pub fn load_at_start(srv: &crate::server::Server) -> Result<(), String> {
    let declared = srv.config.users.lock().clone();
    let file = srv.config.get_text("aclfile").filter(|f| !f.is_empty());
    if !declared.is_empty() && file.is_some() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    if let Some(f) = file {
        return load_file(srv, &f);
    }
    let pubsub_all = pubsub_default_all(srv);
    for w in declared {
        // Each starts from scratch, "default" included.
        let mut refs: Vec<&[u8]> = vec![b"reset"];
        refs.extend(w[1..].iter().map(|x| x.as_slice()));
        srv.acl.set_user(&w[0], &refs, pubsub_all)?;
    }
    Ok(())
}

/// ACL SAVE: every user as a line, written to a temporary file renamed
/// over the ACL file.
pub fn save_file(srv: &crate::server::Server, path: &str) -> std::io::Result<()> {
    let mut text = String::new();
    for u in srv.acl.all() {
        let u = u.read();
        text.push_str(&format!("user {} {}\n", u.name, u.describe()));
    }
    let tmp = format!("{path}.tmp-{}", std::process::id());
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The ACL LOG entry of a refusal: its reason, and the command, key or
/// channel refused.
pub fn log_denied(
    srv: &crate::server::Server,
    client: &crate::client::Client,
    context: &'static str,
    spec: &CommandSpec,
    argv: &[&[u8]],
    d: Denied,
) {
    let user = client.info.user.lock().clone();
    let (reason, object): (&'static str, &[u8]) = match d {
        Denied::Command => ("command", spec.full_name().as_bytes()),
        Denied::Key(p) => ("key", argv[p]),
        Denied::Channel(p) => ("channel", argv[p]),
    };
    log_in(srv, client, reason, context, object, user.as_bytes());
}

/// Parses one line of an ACL file or a `user` directive's words (after
/// "user"): a user, or Redis's error text.
pub fn parse_user(words: &[&[u8]], pubsub_all: bool) -> Result<User, String> {
    let Some((name, rules)) = words.split_first() else { return Err("Wrong format".into()) };
    if has_spaces(name) {
        return Err("Usernames can't contain spaces or null characters".into());
    }
    let merged = merge_selectors(rules).map_err(|j| {
        format!("Unmatched parenthesis in acl selector starting at '{}'.", String::from_utf8_lossy(rules[j]))
    })?;
    let mut u = User::new(&String::from_utf8_lossy(name), pubsub_all);
    for op in &merged {
        u.apply(op, pubsub_all)
            .map_err(|e| format!("Error in user declaration '{}': {}", String::from_utf8_lossy(op), e.message()))?;
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> User {
        let mut u = User::new("u", false);
        for r in rules {
            u.apply(r.as_bytes(), false).unwrap_or_else(|e| panic!("{r}: {e:?}"));
        }
        u
    }

    fn spec(name: &str) -> (&'static CommandSpec, usize) {
        let e = registry().get(name.as_bytes()).unwrap();
        (e.spec, e.index)
    }

    #[test]
    fn default_user_describes_as_redis() {
        assert_eq!(User::default_user().describe(), "on nopass ~* &* +@all");
        assert_eq!(User::new("x", false).describe(), "off resetchannels -@all");
    }

    #[test]
    fn rules_and_description() {
        let u = user(&["on", ">pw", "~k*", "%R~r*", "&ch", "+@all", "-@dangerous"]);
        assert_eq!(u.describe(), format!("on #{} ~k* %R~r* resetchannels &ch +@all -@dangerous", hash_password(b"pw")));
        let u = user(&["+get", "+set"]);
        assert_eq!(u.describe(), "off resetchannels -@all +get +set");
        let u = user(&["+@all", "-get"]);
        assert_eq!(u.describe_commands_root(), "+@all -get");
    }

    #[test]
    fn rule_errors() {
        let mut u = User::new("u", false);
        assert_eq!(u.apply(b"+nosuch", false), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"+@nosuch", false), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"bogus", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"#abc", false), Err(RuleError::BadHash));
        assert_eq!(u.apply(b"<nope", false), Err(RuleError::NoSuchPassword));
        assert_eq!(u.apply(b"%X~a", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"%", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"%~a", false), Err(RuleError::Syntax));
        u.apply(b"~*", false).unwrap();
        assert_eq!(u.apply(b"~a", false), Err(RuleError::KeyAfterAll));
        assert_eq!(u.apply(b"+config|get|x", false), Err(RuleError::FirstArgOfSubcommand));
    }

    #[test]
    fn checks() {
        let u = user(&["on", "+get", "+set", "%R~r*", "~rw*"]);
        let (get, gid) = spec("get");
        let (set, sid) = spec("set");
        let (del, did) = spec("del");
        assert_eq!(u.check(get, gid, &[b"get", b"r1"]), Ok(()));
        assert_eq!(u.check(set, sid, &[b"set", b"r1", b"v"]), Err(Denied::Key(1)));
        assert_eq!(u.check(set, sid, &[b"set", b"rw1", b"v"]), Ok(()));
        assert_eq!(u.check(del, did, &[b"del", b"rw1"]), Err(Denied::Command));
        // A selector can allow what the root does not.
        let mut u2 = u.clone();
        u2.apply(b"(+del ~d*)", false).unwrap();
        assert_eq!(u2.check(del, did, &[b"del", b"d1"]), Ok(()));
        assert_eq!(u2.check(del, did, &[b"del", b"x"]), Err(Denied::Key(1)));
        // First-argument exceptions.
        let (sel, selid) = spec("select");
        let u3 = user(&["+select|0"]);
        assert_eq!(u3.check(sel, selid, &[b"select", b"0"]), Ok(()));
        assert_eq!(u3.check(sel, selid, &[b"select", b"1"]), Err(Denied::Command));
        let (publ, pid) = spec("publish");
        let u4 = user(&["+publish", "&news.*"]);
        assert_eq!(u4.check(publ, pid, &[b"publish", b"news.a", b"m"]), Ok(()));
        assert_eq!(u4.check(publ, pid, &[b"publish", b"other", b"m"]), Err(Denied::Channel(1)));
    }

    #[test]
    fn selectors_merge() {
        let args: Vec<&[u8]> = vec![b"on", b"(+get", b"~a)", b"(+set ~b)"];
        assert_eq!(merge_selectors(&args).unwrap(), vec![b"on".to_vec(), b"(+get ~a)".to_vec(), b"(+set ~b)".to_vec()]);
        assert_eq!(merge_selectors(&[b"(+get".as_ref()]), Err(0));
    }

    impl User {
        fn describe_commands_root(&self) -> String {
            self.selectors[0].describe_commands()
        }
    }
}
