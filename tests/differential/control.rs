//! Control-flow programs whose stack height at a block differs with the path that reaches it:
//! the shapes `dynjump`, `heights` and `recurse`, and the jump-biased token soup of `raw`.
//!
//! Compiled code keeps stack slots in registers within a *region* of blocks joined by static
//! edges, relative to a base read from memory only at region heads and at landing pads
//! (JUMPDESTs that dynamic jumps reach besides static edges). What the static analysis cannot
//! see is the height a dynamic jump arrives with: a landing pad entered below the height its
//! fallthrough predecessor leaves, a loop head whose height changes every iteration, a block
//! near 0 or near 1024. Such an entry (a landing pad entered below its region's planned
//! height) is what made compiled code write below its stack buffer, at slot -1; 60,000 cases
//! of the shapes of `gen.rs`, which keep every fragment's depth fixed, never made one. These
//! shapes make them on purpose:
//!
//! - `dynjump`: a *soup* of blocks, each a JUMPDEST with a planned entry height and a body
//!   that moves it, ended by fallthroughs, static jumps, subroutine calls and returns, and
//!   dynamic JUMP/JUMPI whose targets come from calldata, storage, transient storage, a jump
//!   table in memory (indexed by a constant or by calldata), arithmetic the compiler cannot
//!   fold, or a run-time choice between two blocks. Every block is a dynamic-jump target, most
//!   are also reached by fallthrough or static jumps, and jump sites sit at other heights than
//!   their targets: one JUMPDEST is reached from several heights, statically and dynamically.
//! - `heights`: loops entered, iterated and left through dynamic (or static) jumps whose
//!   height grows or shrinks by k every iteration, for a count that stops short of the limit,
//!   meets it exactly, passes it by one (overflow or underflow at the boundary) or never ends;
//!   two blocks ping-ponging through dynamic jumps with different deltas; from start heights
//!   near 0, in between, and near 1024.
//! - `recurse`: the program calls itself (CALL, DELEGATECALL, CALLCODE or STATICCALL to
//!   ADDRESS) with its calldata and a depth counter, as deep as a limit in the calldata or the
//!   gas allows, running a soup in every frame. (Since EIP-150 a frame passes on at most 63/64
//!   of its gas, so even 2^24 gas reaches a few hundred frames, never the 1024 limit.)
//!
//! Jump targets live in tables: calldata words (from [`CD_TABLE`] on), storage slots (preset in
//! the pre-state), transient slots and memory words (written by the program before the code
//! that reads them). A [`Program`] carries the calldata and storage its code expects.

use super::asm::{Asm, Label};
use super::gen::{inline_binary_ops, inline_ops};
use super::rng::Rng;
use alloy_primitives::U256;
use kiln_frontend::opcode as op;

const DUP2: u8 = op::DUP1 + 1;
const DUP3: u8 = op::DUP1 + 2;
const SWAP2: u8 = op::SWAP1 + 1;
const LOG1: u8 = op::LOG0 + 1;

/// A generated program and the calldata and storage it reads its jump targets from.
pub struct Program {
    pub code: Vec<u8>,
    pub calldata: Vec<u8>,
    pub storage: Vec<(U256, U256)>,
}

/// Calldata words: the recursion depth, its limit, a zero and a one (values the compiler
/// cannot fold), then the jump table.
const CD_DEPTH: u64 = 0;
const CD_LIMIT: u64 = 32;
const CD_ZERO: u64 = 64;
const CD_ONE: u64 = 96;
const CD_TABLE: u64 = 4;
/// Storage and transient keys of the jump tables; transient keys of loop counters and of
/// results.
const SLOT_TABLE: u64 = 0x7a00;
const TKEY_TABLE: u64 = 0x7b00;
const TKEY_COUNTER: u64 = 0x7d00;
const TKEY_RESULT: u64 = 0x7e00;
/// Memory: loop counters at 0..0x80, the jump table at 0x200..0x400, results from 0x400, a
/// child's calldata at 0x800 and its return data at 0xc00 (after the frame's depth).
const MEM_TABLE: u64 = 0x200;
const MEM_TABLE_LEN: usize = 16;
const RESULT_MEM: u64 = 0x400;
const CHILD_ARGS: u64 = 0x800;
const CHILD_RET: u64 = 0xc00;
const RESULT_SLOT: u64 = 0x100;
const LIMIT: i64 = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Calldata,
    Storage,
    Transient,
    Memory,
}

/// A jump-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// The JUMPDEST of a block.
    Block(usize),
    /// A block's position plus a constant: a byte next to its JUMPDEST, or the right target
    /// with high bits set (never a valid destination).
    Bad(usize, U256),
    /// A plain value (a condition, an index into the memory table).
    Word(U256),
}

/// Where a jump takes its target from.
#[derive(Clone, Copy, Debug)]
enum Dest {
    Static(usize),
    Table(Source, usize),
    /// A memory-table entry, at the index that calldata entry `.0` holds.
    Indexed(usize),
    /// The block's position through arithmetic (variant `.1`).
    Arith(usize, u8),
    /// Block `.0` or `.1`, chosen at run time by a bit.
    Select(usize, usize),
}

#[derive(Clone, Copy, Debug)]
enum Term {
    Fall,
    Jump(Dest),
    JumpI(Dest),
    /// Pushes the next block as return address and jumps to subroutine block `.0`.
    Call(usize, Dest),
    /// A subroutine's return: JUMP to the address on top.
    Ret,
    End,
}

struct Ctl<'r> {
    rng: &'r mut Rng,
    a: Asm,
    /// Every block of the program, by index (tables and dests name blocks by index).
    blocks: Vec<Label>,
    /// Jump tables, by [`Source`].
    tables: [Vec<Entry>; 4],
    /// Transient and memory entries the code already writes (the rest are written by the
    /// next [`Ctl::prestore`], before the code that may read them).
    stored: [usize; 4],
    next_slot: u64,
    next_mem: u64,
    depth_word: U256,
    limit_word: U256,
}

pub fn dynjump(rng: &mut Rng) -> Program {
    let mut c = Ctl::new(rng);
    let start = c.start_height();
    c.fill(start);
    let mut h = start;
    for _ in 0..c.rng.range(1, 2) {
        h = c.soup(h);
    }
    c.ending(h);
    c.finish()
}

pub fn heights(rng: &mut Rng) -> Program {
    let mut c = Ctl::new(rng);
    let start = match c.rng.below(10) {
        0..4 => 0,
        4..6 => c.rng.range(1, 8) as i64,
        6..8 => c.rng.range(9, 200) as i64,
        _ => c.rng.range(990, 1024) as i64,
    };
    c.fill(start);
    let mut h = start;
    for _ in 0..c.rng.range(1, 3) {
        h = match c.rng.weighted(&[60, 20, 20]) {
            0 => c.height_loop(h),
            1 => c.ping_pong(h),
            _ => c.soup(h),
        };
    }
    c.ending(h);
    c.finish()
}

pub fn recurse(rng: &mut Rng) -> Program {
    let mut c = Ctl::new(rng);
    c.depth_word = U256::ZERO;
    c.limit_word = U256::from(match c.rng.below(10) {
        0..4 => c.rng.range(1, 4),
        4..7 => c.rng.range(5, 60),
        // As deep as the gas allows.
        _ => 1024 + c.rng.below(2),
    });
    // A soup before the recursion (which often halts the frame: not always).
    if c.rng.percent(55) {
        let start = if c.rng.percent(70) { 0 } else { c.rng.range(1, 4) as i64 };
        c.fill(start);
        c.soup(start);
    }
    c.recursion();
    c.finish()
}

impl<'r> Ctl<'r> {
    fn new(rng: &'r mut Rng) -> Self {
        let depth_word = U256::from(rng.range(0, 3));
        let limit_word = U256::from(rng.range(0, 3));
        Ctl {
            rng,
            a: Asm::new(),
            blocks: Vec::new(),
            tables: Default::default(),
            stored: [0; 4],
            next_slot: RESULT_SLOT,
            next_mem: 0,
            depth_word,
            limit_word,
        }
    }

    fn finish(self) -> Program {
        let pos = |b: usize| U256::from(self.a.position(self.blocks[b]));
        let value = |e: &Entry| match *e {
            Entry::Block(b) => pos(b),
            Entry::Bad(b, d) => pos(b).wrapping_add(d),
            Entry::Word(w) => w,
        };
        let mut calldata = Vec::new();
        for w in [self.depth_word, self.limit_word, U256::ZERO, U256::from(1)] {
            calldata.extend_from_slice(&w.to_be_bytes::<32>());
        }
        for e in &self.tables[Source::Calldata as usize] {
            calldata.extend_from_slice(&value(e).to_be_bytes::<32>());
        }
        let storage = self.tables[Source::Storage as usize]
            .iter()
            .enumerate()
            .map(|(i, e)| (U256::from(SLOT_TABLE + i as u64), value(e)))
            .collect();
        let mut code = self.a.finish();
        // Code in the state may not start with the EIP-7702 designation prefix.
        if code.starts_with(&[0xef, 0x01]) {
            code[1] = 0;
        }
        let rng = self.rng;
        if rng.percent(5) {
            // Cut inside the table: the last target reads zero-padded.
            let cut = rng.usize(4 * 32, calldata.len());
            calldata.truncate(cut);
        }
        Program { code, calldata, storage }
    }

    fn block(&mut self) -> usize {
        let l = self.a.label();
        self.blocks.push(l);
        self.blocks.len() - 1
    }

    fn bind(&mut self, b: usize) {
        self.a.bind(self.blocks[b]);
    }

    fn start_height(&mut self) -> i64 {
        match self.rng.below(20) {
            0..10 => 0,
            10..15 => self.rng.range(1, 4) as i64,
            15..18 => self.rng.range(5, 40) as i64,
            _ => self.rng.range(1000, 1024) as i64,
        }
    }

    /// Pushes `n` items.
    fn fill(&mut self, n: i64) {
        for i in 0..n {
            match self.rng.below(6) {
                0 => self.a.op(op::PUSH0),
                1 => self.a.ops(&[op::PUSH1, self.rng.next_u64() as u8]),
                2 if i > 0 => self.a.op(op::DUP1),
                3 => self.a.op(op::PC),
                4 => self.a.op(op::CALLDATASIZE),
                _ => self.a.op(op::GAS),
            }
        }
    }

    // ----- tables and destinations --------------------------------------------------------

    /// The index of `e` in the table of `src` (memory if it has room, else transient).
    fn entry(&mut self, src: Source, e: Entry) -> (Source, usize) {
        let src = if src == Source::Memory && self.tables[src as usize].len() >= MEM_TABLE_LEN {
            Source::Transient
        } else {
            src
        };
        let t = &mut self.tables[src as usize];
        let i = t.iter().position(|x| *x == e).unwrap_or_else(|| {
            t.push(e);
            t.len() - 1
        });
        (src, i)
    }

    /// Writes the transient and memory entries not yet written.
    fn prestore(&mut self) {
        for src in [Source::Transient, Source::Memory] {
            let s = src as usize;
            while self.stored[s] < self.tables[s].len() {
                let i = self.stored[s];
                let e = self.tables[s][i];
                self.push_entry(e);
                self.table_store(src, i);
                self.stored[s] += 1;
            }
        }
    }

    fn table_store(&mut self, src: Source, i: usize) {
        match src {
            Source::Transient => {
                self.a.push_u(TKEY_TABLE + i as u64);
                self.a.op(op::TSTORE);
            }
            Source::Memory => {
                self.a.push_u(MEM_TABLE + 32 * i as u64);
                self.a.op(op::MSTORE);
            }
            Source::Storage => {
                self.a.push_u(SLOT_TABLE + i as u64);
                self.a.op(op::SSTORE);
            }
            Source::Calldata => unreachable!("calldata is not written"),
        }
    }

    fn push_entry(&mut self, e: Entry) {
        match e {
            Entry::Block(b) => self.a.push_label(self.blocks[b]),
            Entry::Bad(b, d) => {
                self.a.push_label(self.blocks[b]);
                self.a.push(d);
                self.a.op(op::ADD);
            }
            Entry::Word(w) => self.a.push(w),
        }
    }

    fn table_dest(&mut self, src: Source, e: Entry) -> Dest {
        let (src, i) = self.entry(src, e);
        Dest::Table(src, i)
    }

    /// A way to jump to block `b`.
    fn dest(&mut self, b: usize, static_ok: bool) -> Dest {
        let w = [if static_ok { 20 } else { 0 }, 20, 12, 15, 10, 6, 12, 8];
        match self.rng.weighted(&w) {
            0 => Dest::Static(b),
            1 => self.table_dest(Source::Calldata, Entry::Block(b)),
            2 => self.table_dest(Source::Storage, Entry::Block(b)),
            3 => self.table_dest(Source::Transient, Entry::Block(b)),
            4 => self.table_dest(Source::Memory, Entry::Block(b)),
            5 => match self.entry(Source::Memory, Entry::Block(b)) {
                (Source::Memory, m) => {
                    let (_, c) = self.entry(Source::Calldata, Entry::Word(U256::from(m)));
                    Dest::Indexed(c)
                }
                (src, i) => Dest::Table(src, i),
            },
            6 => Dest::Arith(b, self.rng.below(6) as u8),
            _ => {
                let other = self.rng.usize(0, self.blocks.len() - 1);
                Dest::Select(b, other)
            }
        }
    }

    /// A dynamic jump near block `b` that is no valid destination.
    fn bad_dest(&mut self, b: usize) -> Dest {
        let p = |n: usize| U256::from(1) << n;
        let d = *self.rng.pick(&[
            U256::from(1),
            U256::from(2),
            U256::MAX,
            p(16),
            p(32),
            p(64),
            p(128),
            p(255),
        ]);
        let src =
            *self.rng.pick(&[Source::Calldata, Source::Storage, Source::Transient, Source::Memory]);
        self.table_dest(src, Entry::Bad(b, d))
    }

    /// Pushes the target of `d`.
    fn push_dest(&mut self, d: Dest) {
        let a = &mut self.a;
        match d {
            Dest::Static(b) => a.push_label(self.blocks[b]),
            Dest::Table(Source::Calldata, i) => {
                let off = 32 * (CD_TABLE + i as u64);
                if self.rng.percent(25) {
                    // The low two bytes only, as a packed table is read.
                    a.push_u(off + 30);
                    a.ops(&[op::CALLDATALOAD, op::PUSH1, 240, op::SHR]);
                } else {
                    a.push_u(off);
                    a.op(op::CALLDATALOAD);
                }
            }
            Dest::Table(Source::Storage, i) => {
                a.push_u(SLOT_TABLE + i as u64);
                a.op(op::SLOAD);
            }
            Dest::Table(Source::Transient, i) => {
                a.push_u(TKEY_TABLE + i as u64);
                a.op(op::TLOAD);
            }
            Dest::Table(Source::Memory, i) => {
                a.push_u(MEM_TABLE + 32 * i as u64);
                a.op(op::MLOAD);
            }
            Dest::Indexed(c) => {
                a.push_u(32 * (CD_TABLE + c as u64));
                a.ops(&[op::CALLDATALOAD, op::PUSH1, 5, op::SHL]);
                a.push_u(MEM_TABLE);
                a.ops(&[op::ADD, op::MLOAD]);
            }
            Dest::Arith(b, v) => {
                let l = self.blocks[b];
                match v {
                    0 => {
                        a.push_label(l);
                        a.push_u(CD_ZERO);
                        a.ops(&[op::CALLDATALOAD, op::ADD]);
                    }
                    1 => {
                        // PC-relative, modulo 2^16 (the target may lie behind).
                        let p = a.pc();
                        a.op(op::PC);
                        a.push_label_wrapping(l, p);
                        a.op(op::ADD);
                        a.push_u(0xffff);
                        a.op(op::AND);
                    }
                    2 => {
                        a.push_label(l);
                        a.push_u(CD_ONE);
                        a.ops(&[op::CALLDATALOAD, op::MUL]);
                    }
                    3 => {
                        // l + d - d, with d from the calldata (opaque) or a constant.
                        let d = self.rng.word();
                        a.push_label(l);
                        a.push(d);
                        a.op(op::ADD);
                        a.push(d);
                        a.ops(&[op::SWAP1, op::SUB]);
                    }
                    4 => {
                        // Wraps around 2^256 back to the target.
                        a.push_label(l);
                        a.push(U256::MAX);
                        a.op(op::ADD);
                        a.push_u(1);
                        a.op(op::ADD);
                    }
                    _ => {
                        let k = self.rng.range(1, 200);
                        a.push_label(l);
                        a.push_u(CD_ZERO);
                        a.ops(&[op::CALLDATALOAD, op::XOR]);
                        a.push_u(k);
                        a.op(op::SHL);
                        a.push_u(k);
                        a.op(op::SHR);
                    }
                }
            }
            Dest::Select(b, other) => {
                // other ^ ((b ^ other) * bit)
                a.push_label(self.blocks[other]);
                a.push_label(self.blocks[b]);
                a.ops(&[DUP2, op::XOR]);
                self.bit();
                self.a.ops(&[op::MUL, op::XOR]);
            }
        }
    }

    /// Pushes 0 or 1, known only at run time.
    fn bit(&mut self) {
        let a = &mut self.a;
        match self.rng.below(5) {
            0 => a.ops(&[op::GAS, op::PUSH1, 1, op::AND]),
            // The recursion depth's parity: frames take different paths.
            1 => {
                a.push_u(CD_DEPTH);
                a.ops(&[op::CALLDATALOAD, op::PUSH1, 1, op::AND]);
            }
            2 => {
                a.push_u(CD_ONE);
                a.op(op::CALLDATALOAD);
            }
            3 => {
                a.push_u(CD_ZERO);
                a.op(op::CALLDATALOAD);
            }
            _ => a.ops(&[op::CALLDATASIZE, op::PUSH1, 5, op::SHR, op::PUSH1, 1, op::AND]),
        }
    }

    /// Pushes a JUMPI condition; `d` is the height below it.
    fn cond(&mut self, d: i64) {
        match self.rng.below(8) {
            0 => self.a.op(op::PUSH0),
            1 => self.a.push_u(1),
            2 => {
                let p = |n: usize| U256::from(1) << n;
                let v = *self.rng.pick(&[p(64), p(128), p(255), U256::MAX]);
                self.a.push(v);
            }
            3 if d > 0 => {
                let k = self.rng.range(1, d.min(4) as u64) as u8;
                self.a.op(op::DUP1 + k - 1);
            }
            4 => {
                let w = *self.rng.pick(&[U256::ZERO, U256::from(1), U256::from(1) << 128]);
                let (_, i) = self.entry(Source::Calldata, Entry::Word(w));
                self.a.push_u(32 * (CD_TABLE + i as u64));
                self.a.op(op::CALLDATALOAD);
            }
            5 => {
                // A transient jump-table entry (non-zero) or a key past the table (zero).
                let n = self.tables[Source::Transient as usize].len() as u64;
                self.a.push_u(TKEY_TABLE + self.rng.below(n + 1));
                self.a.op(op::TLOAD);
            }
            _ => self.bit(),
        }
    }

    // ----- bodies -------------------------------------------------------------------------

    /// Pushes one value: a constant, a block's position (a target left on the stack) or an
    /// environment value.
    fn value(&mut self) {
        match self.rng.below(10) {
            0..3 => {
                let v = U256::from(self.rng.range(0, 300));
                self.a.push(v);
            }
            3 => {
                let v = *self.rng.pick(&[U256::MAX, U256::from(1) << 255, U256::from(1) << 64]);
                self.a.push(v);
            }
            4 => {
                let w = self.rng.word();
                self.a.push(w);
            }
            5 if !self.blocks.is_empty() => {
                let b = self.rng.usize(0, self.blocks.len() - 1);
                self.a.push_label(self.blocks[b]);
            }
            6 => self.a.op(op::PUSH0),
            7 => self.a.op(op::PC),
            _ => self.a.op(op::GAS),
        }
    }

    /// Stores the item on top (consuming it) where the outcome shows it.
    fn store(&mut self) {
        match self.rng.below(20) {
            0..8 => {
                let slot = self.next_slot;
                self.next_slot = RESULT_SLOT + (self.next_slot + 1 - RESULT_SLOT) % 32;
                self.a.push_u(slot);
                self.a.op(op::SSTORE);
            }
            8..13 => {
                self.a.push_u(TKEY_RESULT + self.rng.below(8));
                self.a.op(op::TSTORE);
            }
            _ => {
                let off = RESULT_MEM + 32 * (self.next_mem % 32);
                self.next_mem += 1;
                self.a.push_u(off);
                self.a.op(op::MSTORE);
            }
        }
    }

    fn dup_depth(&mut self, d: i64) -> u8 {
        let hi = if self.rng.percent(70) { d.min(3) } else { d.min(16) };
        self.rng.range(1, hi as u64) as u8
    }

    /// One operation at height `d` (updated).
    fn body_op(&mut self, d: &mut i64) {
        let room = *d < LIMIT;
        match self.rng.below(100) {
            0..18 if room => {
                self.value();
                *d += 1;
            }
            18..30 if room && *d >= 1 => {
                let k = self.dup_depth(*d);
                self.a.op(op::DUP1 + k - 1);
                *d += 1;
            }
            30..40 if *d >= 2 => {
                let k = self.rng.range(1, (*d - 1).min(16) as u64) as u8;
                self.a.op(op::SWAP1 + k - 1);
            }
            40..46 if *d >= 1 => {
                self.a.op(op::POP);
                *d -= 1;
            }
            46..60 if *d >= 2 => {
                let o = *self.rng.pick(inline_binary_ops());
                self.a.op(o);
                *d -= 1;
            }
            60..64 if *d >= 1 => {
                let o = *self.rng.pick(&[op::ISZERO, op::NOT]);
                self.a.op(o);
            }
            64..74 if room && *d >= 1 => {
                let k = self.dup_depth(*d);
                self.a.op(op::DUP1 + k - 1);
                self.store();
            }
            74..82 if room => {
                match self.rng.below(6) {
                    0 => {
                        self.a.push_u(self.rng.range(0, 8));
                        self.a.op(op::SLOAD);
                    }
                    1 => {
                        let n = self.tables[Source::Transient as usize].len() as u64;
                        self.a.push_u(TKEY_TABLE + self.rng.below(n + 1));
                        self.a.op(op::TLOAD);
                    }
                    2 => {
                        self.a.push_u(RESULT_MEM + 32 * self.rng.below(4));
                        self.a.op(op::MLOAD);
                    }
                    3 => {
                        self.a.push_u(self.rng.range(0, 200));
                        self.a.op(op::CALLDATALOAD);
                    }
                    4 => self.a.ops(&[op::ADDRESS, op::BALANCE]),
                    _ => self.a.op(op::SELFBALANCE),
                }
                *d += 1;
            }
            82..87 if room => {
                let o = *self.rng.pick(&[
                    op::GAS,
                    op::PC,
                    op::MSIZE,
                    op::CALLDATASIZE,
                    op::RETURNDATASIZE,
                ]);
                self.a.op(o);
                *d += 1;
            }
            87..91 => self.retarget(),
            91..94 => {
                self.a.push_u(32);
                self.a.push_u(RESULT_MEM);
                if *d >= 1 && self.rng.percent(50) {
                    // The topic: a copy of the top, pushed below the region.
                    self.a.ops(&[DUP3, SWAP2, op::SWAP1, LOG1]);
                } else {
                    self.a.op(op::LOG0);
                }
            }
            94..97 => self.a.op(op::JUMPDEST),
            _ => {}
        }
    }

    /// Points a written jump-table entry at another block.
    fn retarget(&mut self) {
        let src = *self.rng.pick(&[Source::Transient, Source::Memory, Source::Storage]);
        let s = src as usize;
        let n = if src == Source::Storage { self.tables[s].len() } else { self.stored[s] };
        if n == 0 {
            return;
        }
        let i = self.rng.usize(0, n - 1);
        let b = self.rng.usize(0, self.blocks.len() - 1);
        self.a.push_label(self.blocks[b]);
        self.table_store(src, i);
    }

    /// Operations from height `h` to `x` (as planned: a block entered lower may underflow).
    fn body(&mut self, h: i64, x: i64) {
        let mut d = h;
        for _ in 0..self.rng.range(0, 8) {
            self.body_op(&mut d);
        }
        while d < x {
            if d >= 1 && self.rng.percent(30) {
                let k = self.dup_depth(d);
                self.a.op(op::DUP1 + k - 1);
            } else {
                self.value();
            }
            d += 1;
        }
        while d > x {
            match self.rng.below(4) {
                0 => self.a.op(op::POP),
                1 if d >= 2 => {
                    let o = *self.rng.pick(&[op::ADD, op::XOR, op::SUB, op::MUL]);
                    self.a.op(o);
                }
                _ => self.store(),
            }
            d -= 1;
        }
    }

    /// A subroutine's body: the return address stays on top; `delta` items are inserted or
    /// removed below it.
    fn sub_body(&mut self, h: i64, delta: i64) {
        for _ in 0..self.rng.range(0, 3) {
            match self.rng.below(4) {
                0 if h >= 2 => {
                    self.a.op(DUP2);
                    self.store();
                }
                1 => {
                    self.value();
                    self.store();
                }
                2 => self.retarget(),
                _ => {}
            }
        }
        for _ in 0..delta.max(0) {
            self.value();
            self.a.op(op::SWAP1);
        }
        for _ in 0..(-delta).max(0) {
            self.a.ops(&[op::SWAP1, op::POP]);
        }
    }

    /// A block's planned exit height from entry height `h`.
    fn plan_exit(&mut self, h: i64) -> i64 {
        let d = match self.rng.weighted(&[20, 35, 30, 10, 5]) {
            0 => 0,
            1 => self.rng.range(1, 4) as i64,
            2 => -(self.rng.range(1, 4) as i64),
            3 => self.rng.range(5, 17) as i64,
            _ => -(self.rng.range(5, 17) as i64),
        };
        let x = (h + d).max(0);
        if x > LIMIT && !self.rng.percent(5) {
            LIMIT
        } else {
            x
        }
    }

    /// The planned height of a block no fallthrough reaches, after a jump from height `x`.
    fn free_height(&mut self, x: i64) -> i64 {
        match self.rng.below(10) {
            0..3 => x,
            3..7 => self.rng.range(0, 3) as i64,
            7..9 => (x - 6 + self.rng.range(0, 12) as i64).clamp(0, LIMIT),
            _ => 0,
        }
    }

    // ----- the soup -----------------------------------------------------------------------

    /// A target for a jump from soup block `i` of `n` (index `n` is the exit): mostly
    /// forward, sometimes back (a loop that runs until the gas or the stack gives out); never
    /// a subroutine (whose top would be no return address).
    fn soup_target(&mut self, i: usize, first: usize, n: usize, subs: &[Option<i64>]) -> usize {
        for _ in 0..4 {
            let j =
                if self.rng.percent(86) { self.rng.usize(i + 1, n) } else { self.rng.usize(0, n) };
            if j == n || subs[j].is_none() {
                return first + j;
            }
        }
        first + n
    }

    fn soup_dest(
        &mut self,
        i: usize,
        first: usize,
        n: usize,
        subs: &[Option<i64>],
        static_ok: bool,
    ) -> Dest {
        let t = self.soup_target(i, first, n, subs);
        if self.rng.percent(4) {
            self.bad_dest(t)
        } else {
            self.dest(t, static_ok)
        }
    }

    /// Soup blocks from planned height `start`, then their exit block; returns the planned
    /// height at which the last block falls into the exit.
    fn soup(&mut self, start: i64) -> i64 {
        let n = self.rng.usize(2, 10);
        let first = self.blocks.len();
        for _ in 0..=n {
            self.block();
        }
        // Subroutines (never the first block, entered from the code before the soup).
        let mut subs: Vec<Option<i64>> = vec![None; n];
        for s in subs.iter_mut().skip(1) {
            if self.rng.percent(15) {
                *s = Some(self.rng.range(0, 6) as i64 - 3);
            }
        }
        let sub_list: Vec<usize> = (0..n).filter(|&i| subs[i].is_some()).collect();
        let mut terms = Vec::with_capacity(n);
        for i in 0..n {
            let next_is_sub = i + 1 < n && subs[i + 1].is_some();
            let t = if subs[i].is_some() {
                Term::Ret
            } else {
                let call = if sub_list.is_empty() || next_is_sub { 0 } else { 10 };
                match self.rng.weighted(&[30, 25, 25, call, 3]) {
                    0 => Term::Fall,
                    1 => Term::Jump(self.soup_dest(i, first, n, &subs, true)),
                    2 => Term::JumpI(self.soup_dest(i, first, n, &subs, true)),
                    3 => {
                        let s = *self.rng.pick(&sub_list);
                        Term::Call(s, self.dest(first + s, true))
                    }
                    _ => Term::End,
                }
            };
            terms.push(t);
        }
        self.prestore();

        let mut h = start;
        for i in 0..n {
            self.bind(first + i);
            let next_is_sub = i + 1 < n && subs[i + 1].is_some();
            if let Some(delta) = subs[i] {
                self.sub_body(h, delta);
                self.a.op(op::JUMP);
                let x = (h + delta - 1).max(0);
                h = self.free_height(x);
                if next_is_sub {
                    h = h.max(1);
                }
                continue;
            }
            let mut x = self.plan_exit(h);
            self.body(h, x);
            let falls = matches!(terms[i], Term::Fall | Term::JumpI(_));
            if next_is_sub && falls {
                // Falling into a subroutine: hand it a return address.
                let r = self.soup_target(i + 1, first, n, &subs);
                self.a.push_label(self.blocks[r]);
                x += 1;
            }
            h = match terms[i] {
                Term::Fall => x,
                Term::Jump(d) => {
                    self.push_dest(d);
                    self.a.op(op::JUMP);
                    self.free_height(x)
                }
                Term::JumpI(d) => {
                    self.cond(x);
                    self.push_dest(d);
                    self.a.op(op::JUMPI);
                    x
                }
                Term::Call(s, d) => {
                    self.a.push_label(self.blocks[first + i + 1]);
                    self.push_dest(d);
                    self.a.op(op::JUMP);
                    (x + subs[s].unwrap_or(0)).max(0)
                }
                Term::End => {
                    self.terminal();
                    self.free_height(x)
                }
                Term::Ret => unreachable!("subroutines are handled above"),
            };
            if next_is_sub && !falls {
                h = h.max(1);
            }
        }
        self.bind(first + n);
        h
    }

    /// STOP, RETURN, REVERT or INVALID.
    fn terminal(&mut self) {
        match self.rng.below(4) {
            0 => self.a.op(op::STOP),
            1 | 2 => {
                self.a.push_u(32 * self.next_mem.clamp(1, 8));
                self.a.push_u(RESULT_MEM);
                self.a.op(if self.rng.percent(70) { op::RETURN } else { op::REVERT });
            }
            _ => self.a.op(op::INVALID),
        }
    }

    /// The end of a program reached at planned height `h`.
    fn ending(&mut self, h: i64) {
        if h >= 1 && self.rng.percent(50) {
            self.a.op(op::DUP1);
            self.store();
        }
        match self.rng.weighted(&[50, 25, 10, 15]) {
            0 => {
                self.a.push_u(32 * self.next_mem.clamp(1, 32));
                self.a.push_u(RESULT_MEM);
                self.a.op(op::RETURN);
            }
            1 => self.a.op(op::STOP),
            2 => {
                self.a.push_u(32);
                self.a.push_u(RESULT_MEM);
                self.a.op(op::REVERT);
            }
            _ => self.a.op(op::JUMPDEST), // falls off the end
        }
    }

    // ----- loops that move the height -----------------------------------------------------

    /// The highest the stack gets, relative to where it was, over the straight-line code
    /// emitted since `pc`.
    fn peak_since(&self, pc: usize) -> i64 {
        let code = self.a.code_from(pc);
        let (mut d, mut peak, mut i) = (0i64, 0i64, 0);
        while i < code.len() {
            let o = code[i];
            if let Some(info) = op::info(o) {
                d += info.stack_delta() as i64;
                peak = peak.max(d);
            }
            i += 1 + op::immediate_size(o);
        }
        peak
    }

    /// A loop whose height moves by k every iteration; returns the planned height after it.
    ///
    /// The count is chosen once the loop is emitted (a PUSH32 placeholder is patched), from the
    /// highest the stack gets in an iteration: for a growing loop, `room` iterations fit and
    /// one more overflows, at the instruction that would push the 1025th item; a shrinking
    /// loop has `room` iterations' worth of items below it and one more underflows.
    fn height_loop(&mut self, h: i64) -> i64 {
        #[derive(Clone, Copy, PartialEq)]
        enum Place {
            Stack,
            Transient,
            Memory,
        }
        let place = match self.rng.below(10) {
            0..4 => Place::Stack,
            4..8 => Place::Transient,
            _ => Place::Memory,
        };
        // From height 0 a shrinking loop can only underflow at once.
        let grow = self.rng.percent(if h == 0 { 90 } else { 50 });
        let k_max = if place == Place::Stack && grow { 16 } else { 24 };
        let k = (if self.rng.percent(60) { self.rng.range(1, 4) } else { self.rng.range(5, k_max) })
            as i64;
        let head_h = h + i64::from(place == Place::Stack);
        let key = TKEY_COUNTER + self.rng.below(4);
        let off = 32 * self.rng.below(4);
        let head = self.block();
        let exit = self.block();
        let while_form = self.rng.percent(50);
        let entry = match self.rng.weighted(&[50, 20, 30]) {
            0 => None,
            1 => Some(Dest::Static(head)),
            _ => Some(self.dest(head, false)),
        };
        let back = if self.rng.percent(30) { Dest::Static(head) } else { self.dest(head, false) };
        let out = if self.rng.percent(30) { Dest::Static(exit) } else { self.dest(exit, false) };
        self.prestore();

        // The counter's place: the stack (kept under the loop's work), a transient slot or a
        // memory word; `load` copies it to the top, `save` writes the top back.
        let access = move |c: &mut Self, transient: u8, memory: u8| match place {
            Place::Stack => {}
            Place::Transient => {
                c.a.push_u(key);
                c.a.op(transient);
            }
            Place::Memory => {
                c.a.push_u(off);
                c.a.op(memory);
            }
        };
        let load = |c: &mut Self| match place {
            Place::Stack => c.a.op(op::DUP1),
            _ => access(c, op::TLOAD, op::MLOAD),
        };
        let save = |c: &mut Self| access(c, op::TSTORE, op::MSTORE);
        let count_at = self.a.pc() + 1;
        self.a.push_n(U256::ZERO, 32);
        save(self);
        if let Some(d) = entry {
            self.push_dest(d);
            self.a.op(op::JUMP);
            if self.rng.percent(30) {
                self.a.op(op::INVALID);
            }
        }
        self.bind(head);
        let iteration = self.a.pc();
        let mut test_peak = 0;
        if while_form {
            load(self);
            self.a.op(op::ISZERO);
            self.push_dest(out);
            test_peak = self.peak_since(iteration);
            self.a.op(op::JUMPI);
        }
        if self.rng.percent(40) {
            // Something the outcome shows: the item below the counter, or the gas.
            if head_h >= 2 {
                let k = if place == Place::Stack { 2 } else { 1 };
                self.a.op(op::DUP1 + k - 1);
            } else {
                self.a.op(op::GAS);
            }
            self.store();
        }
        for _ in 0..k {
            if grow {
                self.value();
            } else if place == Place::Stack {
                self.a.ops(&[op::SWAP1, op::POP]);
            } else {
                self.a.op(op::POP);
            }
        }
        if grow && place == Place::Stack {
            // The counter back on top.
            self.a.op(op::SWAP1 + k as u8 - 1);
        }
        // The counter minus one.
        self.a.push_u(1);
        if place == Place::Stack {
            self.a.op(op::SWAP1);
        } else {
            load(self);
        }
        self.a.op(op::SUB);
        save(self);
        if while_form {
            self.push_dest(back);
        } else {
            load(self);
            self.push_dest(back);
        }
        let peak = self.peak_since(iteration);
        self.a.op(if while_form { op::JUMP } else { op::JUMPI });
        self.bind(exit);
        if place == Place::Stack {
            self.a.op(op::POP);
        }

        // Iterations that fit: each starts `k` higher (or lower); a while loop tests once more.
        let fits = |n: i64| -> bool {
            if !grow {
                return n * k <= h;
            }
            let runs = if while_form { n } else { n.max(1) };
            let body = runs == 0 || head_h + k * (runs - 1) + peak <= LIMIT;
            body && (!while_form || head_h + k * n + test_peak <= LIMIT)
        };
        let mut room = 0;
        while room < 2 * LIMIT && fits(room + 1) {
            room += 1;
        }
        let room = room as u64;
        let n = match self.rng.below(8) {
            0..3 => U256::from(self.rng.range(0, room.min(6))),
            3 => U256::from(room),
            4 => U256::from(room + 1),
            5 => U256::MAX,
            6 => U256::from(self.rng.range(0, room)),
            _ => U256::from(room.saturating_sub(1)),
        };
        self.a.patch(count_at, &n.to_be_bytes::<32>());
        // A do-while loop from zero wraps: it runs until the stack or the gas gives out.
        let runs = u64::try_from(n).unwrap_or(u64::MAX);
        let runs = if !while_form && runs == 0 { u64::MAX } else { runs };
        if runs > room || !fits(runs as i64) {
            // The loop never gets here: plan the rest from where it started.
            return h;
        }
        let moved = k * runs as i64;
        if grow {
            h + moved
        } else {
            h - moved
        }
    }

    /// Two blocks jumping to each other, one pushing `ka` items, the other popping `kb`, a
    /// counter in transient storage; returns the planned height after them.
    fn ping_pong(&mut self, h: i64) -> i64 {
        let ka = self.rng.range(0, 6) as i64;
        let kb = self.rng.range(u64::from(ka == 0), 6) as i64;
        let n = match self.rng.below(4) {
            0 | 1 => self.rng.range(1, 20),
            2 => self.rng.range(50, 400),
            // Wraps: runs until the stack or the gas gives out.
            _ => 0,
        };
        let key = TKEY_COUNTER + self.rng.below(4);
        let pa = self.block();
        let pb = self.block();
        let exit = self.block();
        let to_b = self.dest(pb, true);
        let to_a = self.dest(pa, true);
        let out = self.dest(exit, true);
        self.prestore();
        self.a.push_u(n);
        self.a.push_u(key);
        self.a.op(op::TSTORE);
        self.bind(pa);
        for _ in 0..ka {
            self.value();
        }
        self.a.push_u(1);
        self.a.push_u(key);
        self.a.ops(&[op::TLOAD, op::SUB, op::DUP1]);
        self.a.push_u(key);
        self.a.ops(&[op::TSTORE, op::ISZERO]);
        self.push_dest(out);
        self.a.op(op::JUMPI);
        self.push_dest(to_b);
        self.a.op(op::JUMP);
        self.bind(pb);
        for _ in 0..kb {
            self.a.op(op::POP);
        }
        self.push_dest(to_a);
        self.a.op(op::JUMP);
        self.bind(exit);
        if n == 0 {
            return h;
        }
        let n = n as i64;
        let x = h + n * ka - (n - 1) * kb;
        if (0..=LIMIT).contains(&x) {
            x
        } else {
            h
        }
    }

    // ----- recursion ----------------------------------------------------------------------

    /// The frame's depth (calldata word 0, or a transient count of the calls so far) against
    /// the limit (calldata word 1); below it, a call to itself with the depth plus one; then
    /// the depth and the child's return data are returned. Only fresh pushes: whatever height
    /// the soup before left.
    fn recursion(&mut self) {
        let leaf = self.block();
        let transient_depth = self.rng.percent(25);
        if transient_depth {
            let key = TKEY_COUNTER + 8;
            self.a.push_u(key);
            self.a.ops(&[op::TLOAD, op::DUP1, op::PUSH1, 1, op::ADD]);
            self.a.push_u(key);
            self.a.op(op::TSTORE);
        } else {
            self.a.push_u(CD_DEPTH);
            self.a.op(op::CALLDATALOAD);
        }
        // [d]: to the leaf when d >= limit.
        self.a.push_u(CD_LIMIT);
        self.a.ops(&[op::CALLDATALOAD, DUP2, op::LT, op::ISZERO]);
        let to_leaf = if self.rng.percent(50) { Dest::Static(leaf) } else { self.dest(leaf, true) };
        self.prestore();
        self.push_dest(to_leaf);
        self.a.op(op::JUMPI);
        // The child's calldata: this frame's, with the depth plus one.
        self.a.ops(&[op::CALLDATASIZE, op::PUSH0]);
        self.a.push_u(CHILD_ARGS);
        self.a.op(op::CALLDATACOPY);
        self.a.ops(&[op::DUP1, op::PUSH1, 1, op::ADD]);
        self.a.push_u(CHILD_ARGS);
        self.a.op(op::MSTORE);
        let call = [op::CALL, op::DELEGATECALL, op::CALLCODE, op::STATICCALL]
            [self.rng.weighted(&[45, 25, 15, 15])];
        let ret_len = *self.rng.pick(&[0u64, 32, 64, 0x400]);
        self.a.push_u(ret_len);
        self.a.push_u(CHILD_RET);
        self.a.op(op::CALLDATASIZE);
        self.a.push_u(CHILD_ARGS);
        if matches!(call, op::CALL | op::CALLCODE) {
            let v = u64::from(self.rng.percent(20));
            self.a.push_u(v);
        }
        self.a.op(op::ADDRESS);
        match self.rng.below(5) {
            0 | 1 => self.a.op(op::GAS),
            2 => self.a.push_u(self.rng.range(5_000, 200_000)),
            3 => self.a.ops(&[op::PUSH1, 2, op::GAS, op::DIV]),
            // GAS - 5000, wrapping to a huge request (capped at 63/64) when less is left.
            _ => self.a.ops(&[op::PUSH2, 0x13, 0x88, op::GAS, op::SUB]),
        }
        self.a.op(call);
        // [d ok]: recorded under the depth (fails in a static frame); mostly in transient
        // storage, as a new storage slot per frame would bound the depth by its 22,100 gas.
        self.a.op(DUP2);
        if self.rng.percent(25) {
            self.a.push_u(0x200);
            self.a.ops(&[op::ADD, op::SSTORE]);
        } else {
            self.a.push_u(TKEY_RESULT);
            self.a.ops(&[op::ADD, op::TSTORE]);
        }
        self.bind(leaf);
        // [d]
        if self.rng.percent(20) {
            // One depth reverts: the frames below keep going with a failed call.
            let ok = self.a.label();
            let r = self.rng.range(0, 4);
            self.a.op(op::DUP1);
            self.a.push_u(r);
            self.a.ops(&[op::EQ, op::ISZERO]);
            self.a.push_label(ok);
            self.a.op(op::JUMPI);
            self.a.ops(&[op::PUSH1, 32, op::PUSH0, op::REVERT]);
            self.a.bind(ok);
        }
        if self.rng.percent(30) {
            // A second soup, at whatever height the frame is.
            self.soup(1);
        }
        self.a.ops(&[op::RETURNDATASIZE, op::PUSH0]);
        self.a.push_u(CHILD_RET);
        self.a.op(op::RETURNDATACOPY);
        self.a.push_u(CHILD_RET - 32);
        self.a.ops(&[op::MSTORE, op::RETURNDATASIZE, op::PUSH1, 32, op::ADD]);
        self.a.push_u(CHILD_RET - 32);
        self.a.op(op::RETURN);
    }
}

/// Random code made of control-flow tokens: JUMPDESTs, PUSH2-JUMP and PUSH2-JUMPI to the
/// JUMPDESTs of the code (so random code does jump somewhere), jumps to targets read from
/// calldata (which holds JUMPDEST positions), DUPs and SWAPs of every depth, pushes, pops,
/// arithmetic and storage. Nothing tracks the height.
pub fn tokens(rng: &mut Rng) -> Program {
    let n = rng.usize(5, 80);
    let mut code: Vec<u8> = Vec::new();
    let mut dests = Vec::new();
    let mut fixups = Vec::new();
    let push2 = |code: &mut Vec<u8>, fixups: &mut Vec<usize>| {
        code.push(op::PUSH2);
        fixups.push(code.len());
        code.extend_from_slice(&[0, 0]);
    };
    for _ in 0..n {
        match rng.weighted(&[15, 12, 12, 5, 3, 12, 10, 10, 5, 6, 5, 5, 3, 2, 1]) {
            0 => {
                dests.push(code.len());
                code.push(op::JUMPDEST);
            }
            1 => {
                push2(&mut code, &mut fixups);
                code.push(op::JUMP);
            }
            2 => {
                match rng.below(6) {
                    0 => code.push(op::PUSH0),
                    1 => code.extend_from_slice(&[op::PUSH1, 1]),
                    2 => code.push(op::GAS),
                    3 => code.push(op::CALLVALUE),
                    4 => code.push(op::DUP1),
                    _ => code.extend_from_slice(&[
                        op::PUSH1,
                        32 * rng.below(8) as u8,
                        op::CALLDATALOAD,
                    ]),
                }
                push2(&mut code, &mut fixups);
                code.push(op::JUMPI);
            }
            3 => code.extend_from_slice(&[
                op::PUSH1,
                32 * rng.below(8) as u8,
                op::CALLDATALOAD,
                op::JUMP,
            ]),
            4 => {
                code.extend_from_slice(&[op::PUSH1, 32 * rng.below(8) as u8, op::CALLDATALOAD]);
                code.extend_from_slice(&[op::PUSH1, 32 * rng.below(8) as u8, op::CALLDATALOAD]);
                code.push(op::JUMPI);
            }
            5 => {
                let k = if rng.percent(70) { rng.range(1, 4) } else { rng.range(1, 16) };
                code.push(op::DUP1 + k as u8 - 1);
            }
            6 => {
                let k = if rng.percent(70) { rng.range(1, 4) } else { rng.range(1, 16) };
                code.push(op::SWAP1 + k as u8 - 1);
            }
            7 => match rng.below(5) {
                0 => code.push(op::PUSH0),
                1 => code.extend_from_slice(&[op::PUSH1, rng.next_u64() as u8]),
                2 => code.push(op::PC),
                3 => code.push(op::GAS),
                _ => code.push(op::CALLDATASIZE),
            },
            8 => code.push(op::POP),
            9 => code.push(*rng.pick(inline_ops())),
            10 => code.push(*rng.pick(&[
                op::SSTORE,
                op::SLOAD,
                op::TLOAD,
                op::TSTORE,
                op::MSTORE,
                op::MLOAD,
                op::CALLDATALOAD,
                op::BALANCE,
            ])),
            // A target left on the stack for a later plain JUMP.
            11 => push2(&mut code, &mut fixups),
            12 => code.push(*rng.pick(&[op::JUMP, op::JUMPI])),
            13 => code.push(rng.next_u64() as u8),
            _ => code.push(*rng.pick(&[op::STOP, op::RETURN, op::REVERT])),
        }
    }
    if dests.is_empty() {
        dests.push(code.len());
        code.push(op::JUMPDEST);
    }
    let len = code.len() as u64;
    let target = |rng: &mut Rng| -> u16 {
        if rng.percent(10) {
            rng.below(len + 2) as u16
        } else {
            *rng.pick(&dests) as u16
        }
    };
    for &at in &fixups {
        let t = target(rng);
        code[at..at + 2].copy_from_slice(&t.to_be_bytes());
    }
    let mut calldata = Vec::new();
    for _ in 0..8 {
        let w = match rng.below(10) {
            0..7 => U256::from(target(rng)),
            7 => U256::from(rng.range(0, 2)),
            8 => U256::from(target(rng)) | (U256::from(1) << 128),
            _ => rng.word(),
        };
        calldata.extend_from_slice(&w.to_be_bytes::<32>());
    }
    if code.starts_with(&[0xef, 0x01]) {
        code[1] = 0;
    }
    Program { code, calldata, storage: vec![] }
}
