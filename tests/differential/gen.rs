//! The program generator.
//!
//! A [`Case`] is a pre-state and one transaction. The pre-state always holds the contract under
//! test ([`MAIN`]), two callee contracts ([`CALLEE_B`], [`CALLEE_C`]) that dispatch on the first
//! byte of their calldata to one of several behaviours (return, revert, store and log, halt,
//! loop until out of gas, call back, self-destruct, create, ...), and the other kinds of
//! account a call can meet: an EOA with a balance, an existing empty account (EIP-161), an
//! EIP-7702 delegated account (Prague on), a missing account, the precompiles.
//!
//! The program of [`MAIN`] has a [`Shape`]. Structured shapes are built from *fragments*, each
//! leaving the stack as deep as it found it, so fragments nest (a loop body is a straight-line
//! fragment, a jump-table entry is one too) and chain (the `mixed` shape); an *ending* then
//! stores or returns what was computed so that a difference is observable in the output, the
//! logs or the post-state.

use super::asm::Asm;
use super::control;
use super::rng::Rng;
use alloy_primitives::{Address, B256, U256};
use kiln_frontend::opcode::{self as op, info, info_in};
use kiln_runtime::{SpecId, TxType};

const DUP2: u8 = op::DUP1 + 1;
const DUP3: u8 = op::DUP1 + 2;
const DUP4: u8 = op::DUP1 + 3;
const DUP6: u8 = op::DUP1 + 5;
const SWAP3: u8 = op::SWAP1 + 2;
const LOG2: u8 = op::LOG0 + 2;

pub const fn addr(x: u64) -> Address {
    let b = x.to_be_bytes();
    Address::new([
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
    ])
}

pub const SENDER: Address = addr(0x00a1_1ce0);
pub const MAIN: Address = addr(0x1000);
pub const CALLEE_B: Address = addr(0x2000);
pub const CALLEE_C: Address = addr(0x3000);
/// An EOA with a balance and a nonce.
pub const RICH_EOA: Address = addr(0x4000);
/// An account that exists but is empty: EIP-161 removes it once touched.
pub const EMPTY: Address = addr(0x5000);
/// An account that does not exist.
pub const MISSING: Address = addr(0x6000);
/// An EOA delegated to [`CALLEE_B`] (EIP-7702), from Prague on.
pub const DELEGATED: Address = addr(0x7000);
pub const COINBASE: Address = addr(0x00c0_ffee);
/// The block number; BLOCKHASH sees the 256 blocks before it.
pub const BLOCK_NUMBER: u64 = 1000;

/// How the program of [`MAIN`] is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shape {
    /// Straight-line code over every opcode of the fork with edge-value operands.
    Straight,
    /// Loops with a counter on the stack, in memory, in transient or persistent storage.
    Loop,
    /// Dynamic jumps: jump tables, computed and corrupted targets, jumps into PUSH data,
    /// subroutines returning through the stack, JUMPI conditions in every limb.
    Jumps,
    /// Memory at huge offsets (2^32, 2^64-1, 2^255, ...) and moderate expansion.
    Memory,
    /// CALL/STATICCALL/DELEGATECALL/CALLCODE, CREATE/CREATE2, precompiles, value transfers.
    Calls,
    /// Stack near the 1024 limit, with static and loop-dependent heights; underflow.
    Stack,
    /// Random bytes, random opcodes, and control-flow tokens (JUMPDEST, PUSH2-JUMP to the
    /// code's JUMPDESTs, JUMPI, DUP, SWAP) with jump targets in the calldata.
    Raw,
    /// A structured program with a few random byte mutations.
    Mutant,
    /// Several fragments of the structured shapes in a row.
    Mixed,
    /// Blocks entered at heights other than planned: dynamic JUMP/JUMPI with targets from
    /// calldata, storage, transient storage, a memory jump table, arithmetic; landing pads,
    /// subroutines (see `control.rs`).
    Dynjump,
    /// Loops through dynamic jumps whose height grows or shrinks every iteration, to the
    /// stack limits; heights near 0 and 1024.
    Heights,
    /// The program calling itself (CALL, DELEGATECALL, CALLCODE, STATICCALL to ADDRESS) as
    /// deep as a limit or the gas allows, with dynamic jumps in every frame.
    Recurse,
}

impl Shape {
    pub const ALL: [Shape; 12] = [
        Shape::Straight,
        Shape::Loop,
        Shape::Jumps,
        Shape::Memory,
        Shape::Calls,
        Shape::Stack,
        Shape::Raw,
        Shape::Mutant,
        Shape::Mixed,
        Shape::Dynjump,
        Shape::Heights,
        Shape::Recurse,
    ];
    const WEIGHTS: [u32; 12] = [22, 12, 12, 10, 16, 4, 8, 6, 10, 8, 6, 4];

    pub fn name(self) -> &'static str {
        match self {
            Shape::Straight => "straight",
            Shape::Loop => "loop",
            Shape::Jumps => "jumps",
            Shape::Memory => "memory",
            Shape::Calls => "calls",
            Shape::Stack => "stack",
            Shape::Raw => "raw",
            Shape::Mutant => "mutant",
            Shape::Mixed => "mixed",
            Shape::Dynjump => "dynjump",
            Shape::Heights => "heights",
            Shape::Recurse => "recurse",
        }
    }
}

/// An account of the pre-state.
#[derive(Clone, Debug)]
pub struct Account {
    pub address: Address,
    pub balance: U256,
    pub nonce: u64,
    pub code: Vec<u8>,
    pub storage: Vec<(U256, U256)>,
}

/// One generated test case.
#[derive(Clone, Debug)]
pub struct Case {
    pub shape: Shape,
    pub spec: SpecId,
    pub accounts: Vec<Account>,
    pub tx_type: TxType,
    /// A contract-creation transaction whose initcode is the program of [`MAIN`].
    pub create: bool,
    pub value: U256,
    pub data: Vec<u8>,
    pub access_list: Vec<(Address, Vec<B256>)>,
    pub nonce: u64,
    /// The gas limit of the first run; the harness derives more from its result.
    pub gas_limit: u64,
}

/// Generator switches.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Let CREATE/CREATE2 take initcode of up to the EIP-3860 limit (49152 bytes) from
    /// memory, which is mostly zeros: tens of thousands of STOP blocks, all but the first
    /// unreachable.
    pub big_initcode: bool,
}

/// Generates a case.
pub fn case(rng: &mut Rng, options: Options) -> Case {
    // Mostly the forks of today; a third of the cases under one of the forks before Cancun
    // that revm implements (all but Constantinople, whose EIP-1283 revm leaves out).
    let older: Vec<SpecId> =
        SpecId::all().filter(|&s| s < SpecId::Cancun && s != SpecId::Constantinople).collect();
    let spec = match rng.weighted(&[10, 45, 12, 33]) {
        0 => SpecId::Cancun,
        1 => SpecId::Prague,
        2 => SpecId::Osaka,
        _ => *rng.pick(&older),
    };
    super::asm::allow_push0(spec.is_enabled_in(SpecId::Shanghai));
    let shape = Shape::ALL[rng.weighted(&Shape::WEIGHTS)];
    let mut g = Gen::new(rng, spec);
    g.big_initcode = options.big_initcode;
    let main = g.main_program(shape);
    let mut main_storage = g.preset_storage();
    for (k, v) in std::mem::take(&mut g.main_storage) {
        main_storage.retain(|(k2, _)| *k2 != k);
        main_storage.push((k, v));
    }
    let callee_b = g.callee_program();
    let callee_c = g.callee_program();

    let mut accounts = vec![
        Account {
            address: SENDER,
            balance: U256::from(10u128.pow(24)),
            nonce: 0,
            code: vec![],
            storage: vec![],
        },
        Account {
            address: MAIN,
            balance: *g.rng.pick(&[U256::ZERO, U256::from(12_345), U256::from(10u64.pow(18))]),
            nonce: 1,
            code: main,
            storage: main_storage,
        },
        Account {
            address: CALLEE_B,
            balance: *g.rng.pick(&[U256::ZERO, U256::from(10u64.pow(17))]),
            nonce: 1,
            code: callee_b,
            storage: g.preset_storage(),
        },
        Account {
            address: CALLEE_C,
            balance: *g.rng.pick(&[U256::ZERO, U256::from(777)]),
            nonce: 1,
            code: callee_c,
            storage: g.preset_storage(),
        },
        Account {
            address: RICH_EOA,
            balance: U256::from(10u64.pow(18)),
            nonce: 5,
            code: vec![],
            storage: vec![],
        },
        Account { address: EMPTY, balance: U256::ZERO, nonce: 0, code: vec![], storage: vec![] },
    ];
    if spec.is_enabled_in(SpecId::Prague) {
        let mut designation = vec![0xef, 0x01, 0x00];
        designation.extend_from_slice(CALLEE_B.as_slice());
        accounts.push(Account {
            address: DELEGATED,
            balance: U256::from(10u64.pow(16)),
            nonce: 1,
            code: designation,
            storage: vec![(U256::from(1), U256::from(0xde1e))],
        });
    }
    if g.rng.percent(30) {
        accounts.push(Account {
            address: COINBASE,
            balance: U256::from(1),
            nonce: 0,
            code: vec![],
            storage: vec![],
        });
    }

    let tx_type = match g.rng.weighted(&[60, 20, 20]) {
        1 if spec.is_enabled_in(SpecId::Berlin) => TxType::AccessList,
        2 if spec.is_enabled_in(SpecId::London) => TxType::Eip1559,
        _ => TxType::Legacy,
    };
    let access_list =
        if tx_type != TxType::Legacy && g.rng.percent(70) { g.access_list() } else { vec![] };
    let create = g.rng.percent(7);
    let data = if create {
        accounts[1].code.clone()
    } else if let Some(d) = g.main_data.take() {
        // The program reads its jump targets (or its recursion depth) from the calldata.
        d
    } else {
        // Calldata: its first bytes select behaviour where programs dispatch on it.
        let len = g.rng.usize(0, 100);
        let mut d = g.rng.bytes(len);
        for b in d.iter_mut().take(4) {
            if g.rng.percent(70) {
                *b = g.rng.below(CALLEE_MODES as u64 + 2) as u8;
            }
        }
        d
    };
    let value = match g.rng.weighted(&[70, 25, 5]) {
        0 => U256::ZERO,
        1 => U256::from(g.rng.range(1, 1_000_000)),
        _ => U256::from(10u64.pow(18)),
    };
    let cap = if spec.is_enabled_in(SpecId::Osaka) { 1 << 24 } else { 30_000_000 };
    let mut gas_limit = match g.rng.weighted(&[3, 12, 30, 35, 20]) {
        0 => g.rng.range(21_000, 60_000),
        1 => 100_000,
        2 => 300_000,
        3 => 1_000_000,
        _ => 3_000_000,
    }
    .min(cap);
    if shape == Shape::Recurse && g.rng.percent(30) {
        // All the gas a transaction may have: the deepest recursion (63/64 of the gas per
        // frame bounds it to a few hundred frames).
        gas_limit = cap;
    }
    // Rarely, a transaction every EVM must refuse: above the EIP-7825 cap, or a wrong nonce.
    if spec.is_enabled_in(SpecId::Osaka) && g.rng.percent(1) {
        gas_limit = cap + 1;
    }
    let nonce = u64::from(g.rng.percent(1));
    Case { shape, spec, accounts, tx_type, create, value, data, access_list, nonce, gas_limit }
}

/// Kinds of operand, each with its own distribution of values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Word,
    Small,
    /// Shift amounts.
    Shift,
    /// BYTE and SIGNEXTEND byte positions.
    Index,
    /// Memory offsets.
    Offset,
    /// Memory sizes.
    Size,
    /// Initcode sizes of CREATE and CREATE2.
    InitSize,
    /// Source offsets into calldata or code (no memory expansion).
    SrcOff,
    /// RETURNDATACOPY source offset and length (out of bounds halts).
    RdOff,
    RdLen,
    Addr,
    Slot,
    Value,
    Gas,
    Block,
    Cond,
}

/// Operand roles of `opcode`, top of the stack first.
fn roles(opcode: u8, inputs: u8) -> Vec<Role> {
    use Role::*;
    match opcode {
        op::SIGNEXTEND | op::BYTE => vec![Index, Word],
        op::SHL | op::SHR | op::SAR => vec![Shift, Word],
        op::KECCAK256 => vec![Offset, Size],
        op::BALANCE | op::EXTCODESIZE | op::EXTCODEHASH | op::SELFDESTRUCT => vec![Addr],
        op::CALLDATALOAD => vec![SrcOff],
        op::CALLDATACOPY | op::CODECOPY => vec![Offset, SrcOff, Size],
        op::EXTCODECOPY => vec![Addr, Offset, SrcOff, Size],
        op::RETURNDATACOPY => vec![Offset, RdOff, RdLen],
        op::BLOCKHASH => vec![Block],
        op::BLOBHASH => vec![Small],
        op::MLOAD => vec![Offset],
        op::MSTORE | op::MSTORE8 => vec![Offset, Word],
        op::SLOAD | op::TLOAD => vec![Slot],
        op::SSTORE | op::TSTORE => vec![Slot, Word],
        op::MCOPY => vec![Offset, Offset, Size],
        0xa0..=0xa4 => {
            let mut r = vec![Offset, Size];
            r.extend(std::iter::repeat_n(Word, (opcode - 0xa0) as usize));
            r
        }
        op::CREATE => vec![Value, Offset, InitSize],
        op::CREATE2 => vec![Value, Offset, InitSize, Word],
        op::CALL | op::CALLCODE => vec![Gas, Addr, Value, Offset, Size, Offset, Size],
        op::DELEGATECALL | op::STATICCALL => vec![Gas, Addr, Offset, Size, Offset, Size],
        op::RETURN | op::REVERT => vec![Offset, Size],
        op::JUMPI => vec![Word, Cond],
        _ => vec![Word; inputs as usize],
    }
}

/// Computations compiled code may lower inline rather than through a runtime call, as the
/// opcode table marks them (memory accesses have generators of their own).
pub fn inline_ops() -> &'static [u8] {
    static OPS: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
        (0..=255u8)
            .filter(|&o| info(o).is_some_and(|i| i.inline && i.inputs > 0 && i.memory_access == 0))
            .collect()
    });
    &OPS
}

/// The [`inline_ops`] of two operands.
pub fn inline_binary_ops() -> &'static [u8] {
    static OPS: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
        inline_ops().iter().copied().filter(|&o| info(o).is_some_and(|i| i.inputs == 2)).collect()
    });
    &OPS
}

/// Number of behaviours the callee dispatcher knows.
const CALLEE_MODES: u8 = 14;
/// Where straight-line code stores results in memory (and endings return them from).
const RESULT_MEM: u64 = 0x400;
/// First storage slot results go to.
const RESULT_SLOT: u64 = 0x100;

struct Gen<'r> {
    rng: &'r mut Rng,
    spec: SpecId,
    /// Stack depth at the current emission point (on every path that reaches it).
    depth: usize,
    /// Items below `base` belong to an enclosing fragment (a loop counter, a return address).
    base: usize,
    next_slot: u64,
    next_mem: u64,
    /// Percent of offsets and sizes that are huge.
    huge_pct: u64,
    /// Fragment nesting, to bound recursion.
    nest: u32,
    big_initcode: bool,
    /// Percent of pushed operands made opaque to the compiler.
    opaque_pct: u64,
    edges: Vec<U256>,
    /// Opcodes defined in the fork that straight-line code draws from.
    defined: Vec<u8>,
    undefined: Vec<u8>,
    /// Calldata and storage the program of [`MAIN`] expects (its jump tables).
    main_data: Option<Vec<u8>>,
    main_storage: Vec<(U256, U256)>,
}

fn edge_words() -> Vec<U256> {
    let p = |n: usize| U256::from(1) << n;
    let mut v: Vec<U256> =
        [0u64, 1, 2, 3, 4, 5, 7, 8, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255]
            .iter()
            .map(|&x| U256::from(x))
            .collect();
    v.extend([256u64, 257, 0x7fff_ffff, 0xffff_ffff, 0x5b5b].map(U256::from));
    for n in [31, 32, 63, 64, 127, 128, 159, 160, 191, 192, 224, 255] {
        v.push(p(n));
        v.push(p(n) - U256::from(1));
        v.push(p(n) + U256::from(1));
    }
    v.extend([
        U256::MAX,
        U256::MAX - U256::from(1),
        U256::MAX - U256::from(31),
        U256::MAX - U256::from(32),
        U256::MAX << 8,
        U256::MAX << 128,
        U256::MAX >> 128,
        U256::MAX >> 1,
        p(255) | U256::from(1),
    ]);
    v
}

impl<'r> Gen<'r> {
    fn new(rng: &'r mut Rng, spec: SpecId) -> Self {
        let mut defined = Vec::new();
        let mut undefined = Vec::new();
        for b in 0..=255u8 {
            match info_in(b, spec) {
                None => undefined.push(b),
                Some(i) if !i.terminator && !(op::PUSH1..=op::PUSH32).contains(&b) => {
                    defined.push(b)
                }
                Some(_) => {}
            }
        }
        Self {
            rng,
            spec,
            depth: 0,
            base: 0,
            next_slot: RESULT_SLOT,
            next_mem: 0,
            huge_pct: 1,
            nest: 0,
            big_initcode: false,
            opaque_pct: 35,
            edges: edge_words(),
            defined,
            undefined,
            main_data: None,
            main_storage: Vec::new(),
        }
    }

    fn reset(&mut self) {
        self.depth = 0;
        self.base = 0;
        self.next_slot = RESULT_SLOT;
        self.next_mem = 0;
        self.huge_pct = 1;
        self.nest = 0;
        // Per program: constants only (everything folds), a mix, or mostly opaque values.
        self.opaque_pct = *self.rng.pick(&[0, 35, 35, 70]);
    }

    fn prague(&self) -> bool {
        self.spec.is_enabled_in(SpecId::Prague)
    }

    fn preset_storage(&mut self) -> Vec<(U256, U256)> {
        let mut slots = Vec::new();
        for k in 0..8u64 {
            if !self.rng.percent(50) {
                continue;
            }
            let v = if self.rng.percent(70) {
                U256::from(self.rng.range(1, 5))
            } else {
                self.rng.word()
            };
            slots.push((U256::from(k), v));
        }
        slots
    }

    fn access_list(&mut self) -> Vec<(Address, Vec<B256>)> {
        let pool = [MAIN, CALLEE_B, CALLEE_C, EMPTY, MISSING, addr(1), COINBASE];
        (0..self.rng.range(1, 3))
            .map(|_| {
                let a = *self.rng.pick(&pool);
                let keys = (0..self.rng.range(0, 3))
                    .map(|_| B256::from(U256::from(self.rng.below(6))))
                    .collect();
                (a, keys)
            })
            .collect()
    }

    // ----- values -------------------------------------------------------------------------

    fn edge(&mut self) -> U256 {
        let i = self.rng.below(self.edges.len() as u64) as usize;
        self.edges[i]
    }

    fn word(&mut self) -> U256 {
        match self.rng.below(100) {
            0..45 => self.edge(),
            45..65 => U256::from(self.rng.range(0, 300)),
            65..80 => self.rng.word(),
            80..90 => self.rng.word() >> self.rng.below(256) as usize,
            90..95 => U256::MAX - U256::from(self.rng.range(0, 40)),
            _ => {
                let e = self.edge();
                let d = U256::from(self.rng.range(1, 3));
                if self.rng.percent(50) {
                    e.wrapping_add(d)
                } else {
                    e.wrapping_sub(d)
                }
            }
        }
    }

    fn huge(&mut self) -> U256 {
        let p = |n: usize| U256::from(1) << n;
        let v = [
            p(32) - U256::from(1),
            p(32),
            p(32) - U256::from(32),
            p(32) + U256::from(31),
            p(31),
            p(40),
            p(63),
            p(64) - U256::from(1),
            p(64),
            p(64) - U256::from(32),
            p(128),
            p(255),
            U256::MAX,
            U256::MAX - U256::from(31),
            U256::from(0x10_0000), // 1 MiB: affordable only with a lot of gas
            U256::from(0x0100_0000),
        ];
        *self.rng.pick(&v)
    }

    fn offset(&mut self) -> U256 {
        if self.rng.percent(self.huge_pct) {
            return self.huge();
        }
        U256::from(match self.rng.below(100) {
            0..60 => self.rng.range(0, 1024),
            60..75 => 32 * self.rng.range(0, 32),
            75..90 => self.rng.range(1025, 8192),
            90..97 => self.rng.range(8193, 70_000),
            _ => self.rng.range(70_001, 400_000),
        })
    }

    fn size(&mut self) -> U256 {
        if self.rng.percent(self.huge_pct / 2) {
            return self.huge();
        }
        U256::from(match self.rng.below(100) {
            0..25 => 0,
            25..60 => self.rng.range(1, 64),
            60..85 => self.rng.range(65, 320),
            85..95 => self.rng.range(321, 4096),
            _ => self.rng.range(4097, 40_000),
        })
    }

    fn address(&mut self) -> U256 {
        let known =
            [MAIN, CALLEE_B, CALLEE_C, RICH_EOA, EMPTY, MISSING, SENDER, COINBASE, DELEGATED];
        let a = match self.rng.below(100) {
            0..45 => *self.rng.pick(&known),
            45..65 => addr(self.precompile()),
            65..72 => addr(self.rng.range(0x12, 0x20)),
            72..77 => Address::ZERO,
            77..87 => Address::from_slice(&self.rng.bytes(20)),
            _ => {
                // A known address with garbage above bit 160: the EVM ignores the high bits.
                let a = U256::from_be_slice(self.rng.pick(&known).as_slice());
                return a | (self.rng.word() << 160);
            }
        };
        U256::from_be_slice(a.as_slice())
    }

    /// A precompile address of the fork (1..=0x0a from Cancun, 0x0b..=0x11 from Prague,
    /// 0x100 from Osaka), sometimes one of a later fork.
    fn precompile(&mut self) -> u64 {
        let max = if self.prague() { 0x11 } else { 0x0a };
        if self.rng.percent(10) {
            0x100
        } else {
            self.rng.range(1, max)
        }
    }

    fn value_for(&mut self, role: Role) -> U256 {
        let r = self.rng.below(100);
        match role {
            Role::Word => self.word(),
            Role::Small => {
                U256::from(if r < 80 { self.rng.range(0, 40) } else { self.rng.range(0, 300) })
            }
            Role::Shift => match r {
                0..50 => U256::from(self.rng.range(0, 260)),
                50..70 => U256::from(*self.rng.pick(&[0u64, 1, 8, 248, 255, 256, 257])),
                70..90 => self.edge(),
                _ => self.word(),
            },
            Role::Index => match r {
                0..60 => U256::from(self.rng.range(0, 32)),
                60..80 => U256::from(*self.rng.pick(&[29u64, 30, 31, 32, 33])),
                _ => self.edge(),
            },
            Role::Offset => self.offset(),
            Role::Size => self.size(),
            Role::InitSize => match r {
                0..20 => U256::ZERO,
                20..75 => U256::from(self.rng.range(1, 200)),
                75..93 => U256::from(self.rng.range(201, 2048)),
                // Just above the EIP-3860 limit: halts before any code runs.
                93..96 => U256::from(49_153),
                _ if self.big_initcode => U256::from(self.rng.range(2049, 49_152)),
                _ => self.huge(),
            },
            Role::SrcOff => match r {
                0..50 => U256::from(self.rng.range(0, 96)),
                50..70 => U256::from(self.rng.range(0, 600)),
                70..90 => self.edge(),
                _ => self.word(),
            },
            Role::RdOff => U256::from(if r < 70 { 0 } else { self.rng.range(0, 40) }),
            Role::RdLen => U256::from(match r {
                0..75 => 0,
                75..90 => self.rng.range(1, 32),
                _ => self.rng.range(33, 200),
            }),
            Role::Addr => self.address(),
            Role::Slot => match r {
                0..50 => U256::from(self.rng.range(0, 7)),
                50..70 => U256::from(self.rng.range(RESULT_SLOT, RESULT_SLOT + 16)),
                70..85 => self.edge(),
                _ => self.word(),
            },
            Role::Value => match r {
                0..65 => U256::ZERO,
                65..80 => U256::from(1),
                80..90 => U256::from(self.rng.range(1, 1_000_000)),
                90..95 => U256::from(self.rng.range(10u64.pow(15), 10u64.pow(18))),
                _ => *self.rng.pick(&[U256::MAX, U256::from(1) << 128]),
            },
            Role::Gas => match r {
                0..15 => U256::MAX,
                15..30 => U256::from(self.rng.range(2290, 2310)),
                30..60 => U256::from(self.rng.range(0, 50_000)),
                60..80 => U256::from(self.rng.range(50_000, 1_000_000)),
                80..88 => U256::from(self.rng.range(0, 1)),
                _ => self.edge(),
            },
            Role::Block => match r {
                0..40 => U256::from(BLOCK_NUMBER - self.rng.range(1, 256)),
                40..55 => U256::from(BLOCK_NUMBER - *self.rng.pick(&[0u64, 256, 257])),
                55..70 => U256::from(BLOCK_NUMBER + self.rng.range(0, 5)),
                _ => self.word(),
            },
            Role::Cond => match r {
                0..30 => U256::ZERO,
                30..45 => U256::from(1),
                45..80 => {
                    let p = |n: usize| U256::from(1) << n;
                    *self.rng.pick(&[p(8), p(32), p(63), p(64), p(128), p(192), p(255), U256::MAX])
                }
                _ => self.word(),
            },
        }
    }

    // ----- emission helpers ---------------------------------------------------------------

    /// Pushes `v`, sometimes with a wider PUSH than needed.
    fn push(&mut self, a: &mut Asm, v: U256) {
        let min = v.bit_len().div_ceil(8);
        if self.rng.percent(8) {
            a.push_n(v, self.rng.usize(min.max(1), 32));
        } else {
            a.push(v);
        }
        self.depth += 1;
    }

    fn push_u(&mut self, a: &mut Asm, v: u64) {
        a.push_u(v);
        self.depth += 1;
    }

    fn operand(&mut self, a: &mut Asm, role: Role) {
        let local = self.depth;
        if matches!(role, Role::Word | Role::Cond | Role::Shift)
            && local > 0
            && self.rng.percent(22)
        {
            let k = self.rng.range(1, local.min(16) as u64) as u8;
            a.op(op::DUP1 + k - 1);
            self.depth += 1;
            return;
        }
        let env = match role {
            Role::Gas if self.rng.percent(25) => Some(op::GAS),
            Role::Addr if self.rng.percent(6) => {
                Some(*self.rng.pick(&[op::ADDRESS, op::CALLER, op::ORIGIN, op::COINBASE]))
            }
            Role::SrcOff if self.rng.percent(8) => {
                Some(*self.rng.pick(&[op::CODESIZE, op::CALLDATASIZE]))
            }
            Role::Word if self.rng.percent(4) => Some(*self.rng.pick(&[
                op::GAS,
                op::PC,
                op::MSIZE,
                op::CALLVALUE,
                op::RETURNDATASIZE,
                op::SELFBALANCE,
            ])),
            _ => None,
        };
        match env {
            Some(o) => {
                a.op(o);
                self.depth += 1;
            }
            None => {
                let v = self.value_for(role);
                self.push(a, v);
                // Not for offsets, sizes, gas or addresses: a call value added to those would
                // change the memory and compile-time budget of the program.
                let value_like = matches!(
                    role,
                    Role::Word
                        | Role::Small
                        | Role::Shift
                        | Role::Index
                        | Role::Cond
                        | Role::Slot
                        | Role::SrcOff
                        | Role::Block
                );
                if value_like && self.rng.percent(self.opaque_pct) {
                    self.opaque(a);
                }
            }
        }
    }

    /// Makes the value on top unknown to the compiler (so constant folding cannot compute
    /// what follows and the inline four-limb code runs): adds CALLVALUE, which is zero in
    /// most transactions and frames, so the value usually stays what the role chose.
    fn opaque(&mut self, a: &mut Asm) {
        match self.rng.below(4) {
            0 | 1 => a.ops(&[op::CALLVALUE, op::ADD]),
            2 => a.ops(&[op::CALLVALUE, op::XOR]),
            _ => a.ops(&[op::CALLVALUE, op::OR]),
        }
    }

    /// Makes sure `n` items above `base` are on the stack.
    fn ensure(&mut self, a: &mut Asm, n: usize) {
        while self.depth < self.base + n {
            self.operand(a, Role::Word);
        }
    }

    fn store_slot(&mut self, a: &mut Asm) {
        let slot = self.next_slot;
        self.next_slot = RESULT_SLOT + (self.next_slot + 1 - RESULT_SLOT) % 48;
        a.push_u(slot);
        a.op(op::SSTORE);
        self.depth -= 1;
    }

    fn store_mem(&mut self, a: &mut Asm) {
        let off = RESULT_MEM + 32 * (self.next_mem % 32);
        self.next_mem += 1;
        a.push_u(off);
        a.op(op::MSTORE);
        self.depth -= 1;
    }

    /// Disposes of the item on top: keeps it as a future operand, stores it, or pops it.
    fn consume(&mut self, a: &mut Asm, may_keep: bool) {
        let r = self.rng.below(100);
        if may_keep && r < 35 && self.depth <= self.base + 10 {
            return;
        }
        match r {
            0..55 => self.store_slot(a),
            55..88 => self.store_mem(a),
            _ => {
                a.op(op::POP);
                self.depth -= 1;
            }
        }
    }

    /// Disposes of everything above `base`.
    fn flush(&mut self, a: &mut Asm, base: usize) {
        while self.depth > base {
            self.consume(a, false);
        }
    }

    /// Writes `bytes` to memory at `off` with PUSH/MSTORE pairs (whole words: the tail of
    /// the last word is zeroed).
    fn write_mem(&mut self, a: &mut Asm, off: u64, bytes: &[u8]) {
        for (i, chunk) in bytes.chunks(32).enumerate() {
            let mut w = [0u8; 32];
            w[..chunk.len()].copy_from_slice(chunk);
            a.push(U256::from_be_bytes(w));
            a.push_u(off + 32 * i as u64);
            a.op(op::MSTORE);
        }
    }

    // ----- programs -----------------------------------------------------------------------

    fn main_program(&mut self, shape: Shape) -> Vec<u8> {
        self.reset();
        let mut code = match shape {
            Shape::Raw => self.raw_program(),
            Shape::Stack => self.stack_program(),
            Shape::Dynjump | Shape::Heights | Shape::Recurse => {
                let p = match shape {
                    Shape::Dynjump => control::dynjump(self.rng),
                    Shape::Heights => control::heights(self.rng),
                    _ => control::recurse(self.rng),
                };
                self.main_data = Some(p.calldata);
                self.main_storage = p.storage;
                p.code
            }
            Shape::Mutant => {
                let inner = *self.rng.pick(&[
                    Shape::Straight,
                    Shape::Loop,
                    Shape::Jumps,
                    Shape::Memory,
                    Shape::Calls,
                    Shape::Mixed,
                    Shape::Dynjump,
                    Shape::Heights,
                ]);
                let code = self.main_program(inner);
                self.mutate(code)
            }
            _ => {
                let mut a = Asm::new();
                if shape == Shape::Mixed {
                    for _ in 0..self.rng.range(2, 4) {
                        let kind = *self.rng.pick(&[
                            Shape::Straight,
                            Shape::Loop,
                            Shape::Jumps,
                            Shape::Memory,
                            Shape::Calls,
                        ]);
                        self.fragment(&mut a, kind);
                    }
                } else {
                    self.fragment(&mut a, shape);
                }
                self.ending(&mut a);
                a.finish()
            }
        };
        // Code in the state may not start with the EIP-7702 designation prefix.
        if code.starts_with(&[0xef, 0x01]) {
            code[1] = 0;
        }
        code
    }

    fn fragment(&mut self, a: &mut Asm, kind: Shape) {
        self.nest += 1;
        let base = self.depth;
        match kind {
            Shape::Loop => self.frag_loop(a),
            Shape::Jumps => self.frag_jumps(a),
            Shape::Memory => self.frag_memory(a),
            Shape::Calls => self.frag_calls(a),
            _ => {
                let n = self.rng.usize(5, 40);
                self.frag_straight(a, n)
            }
        }
        debug_assert_eq!(self.depth, base, "{kind:?} fragment must keep the stack depth");
        self.nest -= 1;
    }

    /// A small depth-neutral fragment for loop bodies, jump-table entries and subroutines:
    /// straight-line code, or (shallowly nested) another structured fragment.
    fn small_fragment(&mut self, a: &mut Asm) {
        if self.nest < 3 && self.rng.percent(15) {
            let kind = *self.rng.pick(&[Shape::Loop, Shape::Jumps, Shape::Memory, Shape::Calls]);
            self.fragment(a, kind);
        } else {
            let n = self.rng.usize(1, 6);
            self.nest += 1;
            self.frag_straight(a, n);
            self.nest -= 1;
        }
    }

    // ----- straight-line ------------------------------------------------------------------

    fn frag_straight(&mut self, a: &mut Asm, n: usize) {
        let saved_base = self.base;
        let base = self.depth;
        self.base = base;
        for _ in 0..n {
            match self.rng.below(100) {
                0..2 => {
                    // Any byte: undefined opcodes (and CLZ before Osaka) halt.
                    let b = self.rng.below(256) as u8;
                    self.emit_any(a, b);
                }
                2..7 => {
                    let n = self.rng.usize(1, 32);
                    let v = self.word();
                    a.push_n(v, n);
                    self.depth += 1;
                    self.consume(a, true);
                }
                7..9 => a.op(op::JUMPDEST),
                9..12 => {
                    let o = *self.rng.pick(&[op::JUMP, op::JUMPI]);
                    self.emit_op(a, o)
                }
                12..27 => self.inline_op(a),
                _ => {
                    let o = *self.rng.pick(&self.defined);
                    self.emit_op(a, o);
                }
            }
        }
        self.flush(a, base);
        self.base = saved_base;
    }

    /// One of the operations the JIT lowers to inline code rather than a runtime call, with
    /// operands the compiler cannot fold, except shift amounts and BYTE indices, which are
    /// mostly constants (the inline code exists for constant ones).
    fn inline_op(&mut self, a: &mut Asm) {
        let o = *self.rng.pick(inline_ops());
        let i = info(o).expect("defined");
        let saved = self.opaque_pct;
        for (k, role) in roles(o, i.inputs).into_iter().enumerate().rev() {
            let amount = k == 0 && matches!(o, op::SHL | op::SHR | op::SAR | op::BYTE);
            self.opaque_pct = if amount { 10 } else { 75 };
            self.operand(a, role);
        }
        self.opaque_pct = saved;
        a.op(o);
        self.depth = self.depth - i.inputs as usize + 1;
        self.consume(a, true);
    }

    fn emit_any(&mut self, a: &mut Asm, b: u8) {
        match info_in(b, self.spec) {
            None => a.op(b),
            Some(i) if i.terminator && b != op::JUMP => {
                // A terminator mid-program: the rest is dead code (which still compiles).
                for role in roles(b, i.inputs).into_iter().rev() {
                    self.operand(a, role);
                }
                a.op(b);
                self.depth -= i.inputs as usize;
            }
            Some(_) if (op::PUSH1..=op::PUSH32).contains(&b) => {
                let n = (b - op::PUSH1 + 1) as usize;
                a.op(b);
                a.raw(&self.rng.bytes(n));
                self.depth += 1;
                self.consume(a, true);
            }
            Some(_) => self.emit_op(a, b),
        }
    }

    /// Emits `opcode` with operands of its roles, and disposes of its results.
    fn emit_op(&mut self, a: &mut Asm, opcode: u8) {
        match opcode {
            op::DUP1..=op::DUP16 => {
                let n = (opcode - op::DUP1 + 1) as usize;
                self.ensure(a, n);
                a.op(opcode);
                self.depth += 1;
                self.consume(a, true);
            }
            op::SWAP1..=op::SWAP16 => {
                let n = (opcode - op::SWAP1 + 1) as usize;
                self.ensure(a, n + 1);
                a.op(opcode);
            }
            op::POP => {
                self.ensure(a, 1);
                a.op(op::POP);
                self.depth -= 1;
            }
            op::JUMP => {
                // A static jump to the next instruction, rarely one to a random target.
                if self.rng.percent(5) {
                    self.operand(a, Role::Word);
                    a.op(op::JUMP);
                    self.depth -= 1;
                } else {
                    let l = a.label();
                    a.jump(l);
                    a.bind(l);
                }
            }
            op::JUMPI => {
                // Either way control reaches the next instruction, unless the target is random.
                self.operand(a, Role::Cond);
                if self.rng.percent(5) {
                    self.operand(a, Role::Word);
                    self.depth -= 1;
                } else {
                    let l = a.label();
                    a.jumpi(l);
                    a.bind(l);
                    self.depth -= 1;
                    return;
                }
                a.op(op::JUMPI);
                self.depth -= 1;
            }
            _ => {
                let Some(i) = info(opcode) else {
                    a.op(opcode);
                    return;
                };
                for role in roles(opcode, i.inputs).into_iter().rev() {
                    self.operand(a, role);
                }
                a.op(opcode);
                self.depth = self.depth - i.inputs as usize + i.outputs as usize;
                if i.outputs == 1 {
                    let is_call = matches!(
                        opcode,
                        op::CALL | op::CALLCODE | op::DELEGATECALL | op::STATICCALL
                    );
                    self.consume(a, !is_call);
                    if is_call && self.rng.percent(50) {
                        a.op(op::RETURNDATASIZE);
                        self.depth += 1;
                        self.consume(a, true);
                    }
                }
            }
        }
    }

    // ----- endings ------------------------------------------------------------------------

    fn ending(&mut self, a: &mut Asm) {
        debug_assert_eq!(self.depth, 0);
        match self.rng.weighted(&[18, 22, 8, 10, 10, 8, 4, 5, 4, 4, 5, 2]) {
            0 => a.op(op::STOP),
            1 | 2 => {
                let (off, len) = self.result_region();
                a.push_u(len);
                a.push_u(off);
                a.op(if self.rng.percent(75) { op::RETURN } else { op::REVERT });
            }
            3 => {
                let topics = self.rng.range(0, 4) as u8;
                for _ in 0..topics {
                    self.operand(a, Role::Word);
                }
                let (off, len) = self.result_region();
                a.push_u(len);
                a.push_u(off);
                a.op(op::LOG0 + topics);
                self.depth = 0;
                a.op(op::STOP);
            }
            4 => {} // falls off the end
            5 => {
                // Truncated PUSH at the very end: the missing bytes read as zeros.
                let n = self.rng.range(1, 32) as u8;
                a.op(op::PUSH1 + n - 1);
                let k = self.rng.below(u64::from(n)) as usize;
                a.raw(&self.rng.bytes(k));
            }
            6 => a.op(op::INVALID),
            7 => {
                self.operand(a, Role::Addr);
                a.op(op::SELFDESTRUCT);
                self.depth = 0;
            }
            8 => {
                let b = *self.rng.pick(&self.undefined);
                a.op(b);
            }
            9 => a.op(op::JUMPDEST),
            10 => {
                // RETURN or REVERT of nothing at a huge offset: no expansion, no charge.
                let off = self.huge();
                a.push_u(if self.rng.percent(80) { 0 } else { 1 });
                a.push(off);
                a.op(if self.rng.percent(70) { op::RETURN } else { op::REVERT });
            }
            _ => {
                // Return a copy of the code (a CREATE transaction deploys its own initcode).
                a.op(op::CODESIZE);
                a.op(op::PUSH0);
                a.op(op::PUSH0);
                a.op(op::CODECOPY);
                a.op(op::CODESIZE);
                a.op(op::PUSH0);
                a.op(op::RETURN);
            }
        }
    }

    fn result_region(&mut self) -> (u64, u64) {
        match self.rng.below(4) {
            0 => (RESULT_MEM, 32 * self.next_mem.clamp(1, 32)),
            1 => (0, self.rng.range(0, RESULT_MEM + 0x400)),
            2 => (self.rng.range(0, 0x600), self.rng.range(0, 0x100)),
            _ => (0, 0),
        }
    }

    // ----- loops --------------------------------------------------------------------------

    fn loop_count(&mut self) -> U256 {
        match self.rng.below(100) {
            0..70 => U256::from(self.rng.range(1, 20)),
            70..80 => U256::ZERO,
            80..92 => U256::from(self.rng.range(21, 300)),
            92..97 => U256::from(self.rng.range(1000, 5000)),
            // Effectively infinite: runs until out of gas.
            _ => U256::MAX,
        }
    }

    fn frag_loop(&mut self, a: &mut Asm) {
        let base = self.depth;
        let n = self.loop_count();
        let head = a.label();
        let end = a.label();
        match self.rng.below(6) {
            0 | 1 => {
                // Counter on the stack, tested at the top; sometimes a break from the body.
                self.push(a, n);
                a.bind(head);
                a.ops(&[op::DUP1, op::ISZERO]);
                a.jumpi(end);
                if self.rng.percent(25) {
                    a.op(op::DUP1);
                    a.push_u(self.rng.range(0, 5));
                    a.op(op::EQ);
                    a.jumpi(end);
                }
                self.small_fragment(a);
                a.push_u(1);
                a.ops(&[op::SWAP1, op::SUB]);
                a.jump(head);
                a.bind(end);
                a.op(op::POP);
                self.depth -= 1;
            }
            2 => {
                // Do-while on the stack; a zero count wraps and runs until out of gas.
                self.push(a, n);
                a.bind(head);
                self.small_fragment(a);
                a.push_u(1);
                a.ops(&[op::SWAP1, op::SUB, op::DUP1]);
                a.jumpi(head);
                a.op(op::POP);
                self.depth -= 1;
            }
            3 => {
                // Counter in memory (the body may overwrite it: still deterministic).
                let m = U256::from(self.rng.range(0, 0x3e0));
                a.push(n);
                a.push(m);
                a.op(op::MSTORE);
                a.bind(head);
                a.push(m);
                a.ops(&[op::MLOAD, op::ISZERO]);
                a.jumpi(end);
                self.small_fragment(a);
                a.push_u(1);
                a.push(m);
                a.ops(&[op::MLOAD, op::SUB]);
                a.push(m);
                a.op(op::MSTORE);
                a.jump(head);
                a.bind(end);
            }
            4 => {
                // Counter in transient or persistent storage.
                let (load, store) = if self.rng.percent(70) {
                    (op::TLOAD, op::TSTORE)
                } else {
                    (op::SLOAD, op::SSTORE)
                };
                let n = if store == op::SSTORE { U256::from(self.rng.range(0, 6)) } else { n };
                let k = U256::from(self.rng.range(0, 9));
                a.push(n);
                a.push(k);
                a.op(store);
                a.bind(head);
                a.push(k);
                a.ops(&[load, op::ISZERO]);
                a.jumpi(end);
                self.small_fragment(a);
                a.push_u(1);
                a.push(k);
                a.ops(&[load, op::SUB]);
                a.push(k);
                a.op(store);
                a.jump(head);
                a.bind(end);
            }
            _ => {
                // Nested: an accumulator and two counters on the stack.
                let inner_n = U256::from(self.rng.range(0, 8));
                let inner_head = a.label();
                let inner_end = a.label();
                self.push(a, U256::ZERO); // accumulator
                self.push(a, n.min(U256::from(30)));
                a.bind(head);
                a.ops(&[op::DUP1, op::ISZERO]);
                a.jumpi(end);
                self.push(a, inner_n);
                a.bind(inner_head);
                a.ops(&[op::DUP1, op::ISZERO]);
                a.jumpi(inner_end);
                // acc = acc <op> (i * j)
                let f = *self.rng.pick(&[op::ADD, op::MUL, op::XOR, op::SUB, op::EXP, op::SHL]);
                a.ops(&[op::DUP1, DUP3, op::MUL, DUP4, f, SWAP3, op::POP]);
                self.small_fragment(a);
                a.push_u(1);
                a.ops(&[op::SWAP1, op::SUB]);
                a.jump(inner_head);
                a.bind(inner_end);
                a.op(op::POP);
                self.depth -= 1;
                a.push_u(1);
                a.ops(&[op::SWAP1, op::SUB]);
                a.jump(head);
                a.bind(end);
                a.op(op::POP);
                self.depth -= 1;
                self.store_slot(a);
            }
        }
        debug_assert_eq!(self.depth, base);
    }

    // ----- dynamic jumps ------------------------------------------------------------------

    fn frag_jumps(&mut self, a: &mut Asm) {
        match self.rng.weighted(&[20, 15, 12, 15, 15, 8, 5, 10]) {
            0 => self.jump_table(a),
            1 => self.jump_corrupted_target(a),
            2 => self.jump_into_push_data(a),
            3 => self.subroutine(a),
            4 => self.jumpi_conditions(a),
            5 => self.jump_pc_relative(a),
            6 => self.jump_out_of_code(a),
            _ => self.jump_via_storage(a),
        }
    }

    /// Targets stored in memory, one picked by a runtime value.
    fn jump_table(&mut self, a: &mut Asm) {
        let base = self.depth;
        let n = self.rng.range(2, 6);
        let entries: Vec<_> = (0..n).map(|_| a.label()).collect();
        let join = a.label();
        let m = 0x300 + 32 * self.rng.range(0, 3);
        for (i, &l) in entries.iter().enumerate() {
            a.push_label(l);
            a.push_u(m + 32 * i as u64);
            a.op(op::MSTORE);
        }
        a.push_u(n);
        match self.rng.below(5) {
            0 | 1 => a.ops(&[op::PUSH0, op::CALLDATALOAD]),
            2 => a.op(op::GAS),
            3 => a.op(op::CALLDATASIZE),
            _ => {
                let w = self.word();
                a.push(w)
            }
        }
        a.op(op::MOD);
        a.push_u(32);
        a.op(op::MUL);
        a.push_u(m);
        a.ops(&[op::ADD, op::MLOAD]);
        if self.rng.percent(20) {
            let p = |n: usize| U256::from(1) << n;
            let d = *self.rng.pick(&[U256::from(1), U256::MAX, p(64), p(128), p(192), p(255)]);
            a.push(d);
            a.op(op::ADD);
        }
        a.op(op::JUMP);
        for l in entries {
            a.bind(l);
            self.depth = base;
            self.small_fragment(a);
            a.jump(join);
        }
        a.bind(join);
        self.depth = base;
    }

    /// A static target pushed, then changed by arithmetic: off by one, high bits set (must
    /// not be truncated), or wrapped around 2^256 back to the valid target.
    fn jump_corrupted_target(&mut self, a: &mut Asm) {
        let l = a.label();
        a.push_label(l);
        if self.rng.percent(40) {
            // A target the compiler cannot resolve (unless the call carries value, unchanged).
            self.opaque(a);
        }
        let p = |n: usize| U256::from(1) << n;
        match self.rng.below(6) {
            0 => {}
            1 => {
                let d = *self.rng.pick(&[U256::from(1), U256::from(2), U256::MAX]);
                a.push(d);
                a.op(op::ADD);
            }
            2 => {
                let d = *self.rng.pick(&[p(16), p(32), p(64), p(128), p(192), p(255)]);
                a.push(d);
                a.op(*self.rng.pick(&[op::ADD, op::OR, op::XOR]));
            }
            3 => {
                // +1 then +(2^256-1): the valid target again.
                a.push_u(1);
                a.op(op::ADD);
                a.push(U256::MAX);
                a.op(op::ADD);
            }
            4 => {
                a.push(U256::MAX);
                a.op(op::AND);
            }
            _ => {
                // Through a multiply that overflows: l * (2^255 + 1) = l + 2^255*l.
                a.push(p(255) + U256::from(1));
                a.op(op::MUL);
            }
        }
        self.depth += 1;
        if self.rng.percent(60) {
            a.op(op::JUMP);
            self.depth -= 1;
        } else {
            self.operand(a, Role::Cond);
            a.op(op::SWAP1);
            a.op(op::JUMPI);
            self.depth -= 2;
        }
        self.small_fragment(a);
        a.bind(l);
    }

    /// JUMP or JUMPI to a 0x5b byte inside PUSH data (never a valid destination).
    fn jump_into_push_data(&mut self, a: &mut Asm) {
        let over = a.label();
        let live = self.rng.percent(50);
        if !live {
            a.jump(over);
        }
        let n = self.rng.usize(1, 32);
        let mut data = self.rng.bytes(n);
        let j = self.rng.usize(0, n - 1);
        data[j] = op::JUMPDEST;
        let p = a.pc();
        a.op(op::PUSH1 + n as u8 - 1);
        a.raw(&data);
        if live {
            a.op(op::POP);
        }
        a.bind(over);
        let target = match self.rng.below(4) {
            0 => p, // the PUSH itself
            _ => p + 1 + j,
        };
        if self.rng.percent(60) {
            a.push_u(target as u64);
            a.op(op::JUMP);
        } else {
            self.operand(a, Role::Cond);
            a.push_u(target as u64);
            a.op(op::JUMPI);
            self.depth -= 1;
        }
    }

    /// A subroutine called from two sites, returning through the address on the stack.
    fn subroutine(&mut self, a: &mut Asm) {
        let base = self.depth;
        let sub = a.label();
        let end = a.label();
        for _ in 0..self.rng.range(1, 3) {
            let ret = a.label();
            a.push_label(ret);
            a.jump(sub);
            a.bind(ret);
        }
        a.jump(end);
        a.bind(sub);
        self.depth = base + 1;
        self.small_fragment(a);
        a.op(op::JUMP);
        a.bind(end);
        self.depth = base;
    }

    /// JUMPI over a fragment with conditions that are non-zero in a single limb.
    fn jumpi_conditions(&mut self, a: &mut Asm) {
        let skip = a.label();
        self.operand(a, Role::Cond);
        if self.rng.percent(15) {
            // Condition zero with a bad target: must fall through, not halt.
            a.op(op::POP);
            a.op(op::PUSH0);
            let bad = self.word();
            a.push(bad);
        } else {
            a.push_label(skip);
        }
        a.op(op::JUMPI);
        self.depth -= 1;
        self.small_fragment(a);
        a.bind(skip);
    }

    fn jump_pc_relative(&mut self, a: &mut Asm) {
        let l = a.label();
        let p = a.pc();
        a.op(op::PC);
        a.push_label_from(l, p);
        a.op(op::ADD);
        a.op(op::JUMP);
        self.small_fragment(a);
        a.bind(l);
    }

    /// Targets at or past the end of the code, or far beyond it.
    fn jump_out_of_code(&mut self, a: &mut Asm) {
        match self.rng.below(4) {
            0 => a.op(op::CODESIZE),
            1 => {
                // The last byte: valid only if the program ends with a JUMPDEST.
                a.op(op::CODESIZE);
                a.push_u(1);
                a.ops(&[op::SWAP1, op::SUB]);
            }
            2 => {
                let h = self.huge();
                a.push(h)
            }
            _ => a.op(op::PUSH0),
        }
        self.depth += 1;
        self.operand(a, Role::Cond);
        a.op(op::SWAP1);
        a.op(op::JUMPI);
        self.depth -= 2;
    }

    /// A target that goes through transient storage, storage or memory and back.
    fn jump_via_storage(&mut self, a: &mut Asm) {
        let l = a.label();
        let k = U256::from(self.rng.range(0, 9));
        let (store, load) = *self.rng.pick(&[
            (op::TSTORE, op::TLOAD),
            (op::SSTORE, op::SLOAD),
            (op::MSTORE, op::MLOAD),
        ]);
        a.push_label(l);
        a.push(k);
        a.op(store);
        self.small_fragment(a);
        a.push(k);
        a.op(load);
        a.op(op::JUMP);
        self.small_fragment(a);
        a.bind(l);
    }

    // ----- memory -------------------------------------------------------------------------

    fn frag_memory(&mut self, a: &mut Asm) {
        let saved = self.huge_pct;
        self.huge_pct = 20;
        let base = self.depth;
        let saved_base = self.base;
        self.base = base;
        for _ in 0..self.rng.range(1, 6) {
            if self.rng.percent(25) {
                self.fields(a);
                continue;
            }
            let o = *self.rng.pick(&[
                op::MLOAD,
                op::MSTORE,
                op::MSTORE8,
                op::MCOPY,
                op::CALLDATACOPY,
                op::CODECOPY,
                op::EXTCODECOPY,
                op::RETURNDATACOPY,
                op::KECCAK256,
                op::LOG0,
                LOG2,
                op::CREATE,
                op::CALL,
                op::STATICCALL,
            ]);
            if self.rng.percent(40) {
                self.zero_size_far(a, o);
            } else {
                self.emit_op(a, o);
            }
            if self.rng.percent(50) {
                a.op(op::MSIZE);
                self.depth += 1;
                self.store_slot(a);
            }
        }
        self.flush(a, base);
        self.base = saved_base;
        self.huge_pct = saved;
    }

    /// Accesses at constant distances from one run-time base, as Solidity reads and writes a
    /// struct's fields; compiled code checks such a run once, at its first access, for the
    /// whole span. The base is MSIZE, sometimes plus a huge constant (far, or wrapping back
    /// to small); MSIZE or GAS is sometimes read in between, which splits the run.
    fn fields(&mut self, a: &mut Asm) {
        let below = self.depth;
        a.op(op::MSIZE);
        self.depth += 1;
        if self.rng.percent(30) {
            let h = self.huge();
            self.push(a, h);
            a.op(op::ADD);
            self.depth -= 1;
        }
        let base = self.depth;
        for _ in 0..self.rng.range(2, 7) {
            let d = *self.rng.pick(&[0u64, 1, 31, 32, 33, 64, 96, 100, 991, 1023, 1100]);
            let o = *self.rng.pick(&[op::MLOAD, op::MSTORE, op::MSTORE, op::MSTORE8]);
            if o != op::MLOAD {
                let v = self.value_for(Role::Word);
                self.push(a, v);
            }
            // The base, then base + d.
            a.op(op::DUP1 + (self.depth - base) as u8);
            self.depth += 1;
            if d > 0 {
                self.push_u(a, d);
                a.op(op::ADD);
                self.depth -= 1;
            }
            a.op(o);
            if o == op::MLOAD {
                self.consume(a, false);
            } else {
                self.depth -= 2;
            }
            if self.rng.percent(15) {
                a.op(*self.rng.pick(&[op::MSIZE, op::GAS]));
                self.depth += 1;
                self.store_mem(a);
            }
        }
        self.flush(a, below);
    }

    /// A memory op of size zero at a huge offset: no expansion, no charge, must succeed.
    fn zero_size_far(&mut self, a: &mut Asm, o: u8) {
        let i = info(o).expect("defined");
        let rs = roles(o, i.inputs);
        for role in rs.iter().rev() {
            match role {
                Role::Size | Role::InitSize | Role::RdLen => self.push(a, U256::ZERO),
                Role::Offset | Role::SrcOff => {
                    let h = self.huge();
                    self.push(a, h)
                }
                Role::RdOff => self.push(a, U256::ZERO),
                r => self.operand(a, *r),
            }
        }
        // MLOAD, MSTORE and MSTORE8 have no size: there a huge offset is an out-of-gas halt.
        a.op(o);
        self.depth = self.depth - i.inputs as usize + i.outputs as usize;
        if i.outputs == 1 {
            self.consume(a, false);
        }
    }

    // ----- calls and creates --------------------------------------------------------------

    fn frag_calls(&mut self, a: &mut Asm) {
        let base = self.depth;
        let saved_base = self.base;
        self.base = base;
        for _ in 0..self.rng.range(1, 4) {
            match self.rng.weighted(&[45, 22, 15, 10, 8]) {
                0 => self.call_action(a),
                1 => self.create_action(a),
                2 => self.precompile_action(a),
                3 => self.transfer_action(a),
                _ => {
                    let o = *self.rng.pick(&[
                        op::CALL,
                        op::CALLCODE,
                        op::DELEGATECALL,
                        op::STATICCALL,
                        op::CREATE,
                        op::CREATE2,
                    ]);
                    self.emit_op(a, o)
                }
            }
        }
        self.flush(a, base);
        self.base = saved_base;
    }

    fn call_target(&mut self) -> U256 {
        let a = match self.rng.weighted(&[30, 25, 5, 8, 5, 5, 4, 6, 12]) {
            0 => CALLEE_B,
            1 => CALLEE_C,
            2 => MAIN,
            3 => DELEGATED,
            4 => EMPTY,
            5 => MISSING,
            6 => RICH_EOA,
            7 => addr(self.precompile()),
            _ => return self.address(),
        };
        U256::from_be_slice(a.as_slice())
    }

    /// Calldata for a callee: the first bytes are the behaviours of the callee and of the
    /// calls it makes in turn; the second word is an argument.
    fn callee_calldata(&mut self) -> Vec<u8> {
        let mut d = self.rng.bytes(64);
        for b in d.iter_mut().take(6) {
            *b = self.rng.below(u64::from(CALLEE_MODES) + 2) as u8;
        }
        if self.rng.percent(50) {
            // The argument: an address (a self-destruct beneficiary) or a small value.
            let v = self.address();
            d[32..].copy_from_slice(&v.to_be_bytes::<32>());
        }
        d
    }

    /// Pushes the result of a call op and the usual follow-ups on return data.
    fn after_call(&mut self, a: &mut Asm, ret_off: u64) {
        self.store_slot(a);
        if self.rng.percent(50) {
            a.op(op::RETURNDATASIZE);
            self.depth += 1;
            self.store_slot(a);
        }
        if self.rng.percent(30) {
            let dst = self.rng.range(0, 0x300);
            match self.rng.weighted(&[50, 20, 10, 20]) {
                0 => {
                    a.op(op::RETURNDATASIZE);
                    a.op(op::PUSH0);
                }
                1 => {
                    a.push_u(32);
                    a.op(op::PUSH0);
                }
                2 => {
                    // One byte from the end of the return data: always out of bounds.
                    a.push_u(1);
                    a.op(op::RETURNDATASIZE);
                }
                _ => {
                    a.op(op::RETURNDATASIZE);
                    a.push_u(self.rng.range(0, 2));
                }
            }
            a.push_u(dst);
            a.op(op::RETURNDATACOPY);
            a.push_u(dst);
            a.op(op::MLOAD);
            self.depth += 1;
            self.store_slot(a);
        }
        if self.rng.percent(20) {
            a.push_u(ret_off);
            a.op(op::MLOAD);
            self.depth += 1;
            self.store_slot(a);
        }
    }

    fn call_action(&mut self, a: &mut Asm) {
        let o = [op::CALL, op::CALLCODE, op::DELEGATECALL, op::STATICCALL]
            [self.rng.weighted(&[45, 10, 25, 20])];
        let r = self.rng.range(0, 0x200);
        let args_off = *self.rng.pick(&[0, 0x40, r]);
        let data = self.callee_calldata();
        self.write_mem(a, args_off, &data);
        let args_len = match self.rng.below(10) {
            0..5 => 64,
            5 => 0,
            6 => 1,
            7 => 32,
            8 => 33,
            _ => self.rng.range(0, 100),
        };
        let r = self.rng.range(0, 0x300);
        let ret_off = *self.rng.pick(&[0, args_off, 0x200, r]);
        let r = self.rng.range(0, 200);
        let ret_len = *self.rng.pick(&[0, 32, 64, r, 0x1000]);
        self.push_u(a, ret_len);
        self.push_u(a, ret_off);
        self.push_u(a, args_len);
        self.push_u(a, args_off);
        if matches!(o, op::CALL | op::CALLCODE) {
            self.operand(a, Role::Value);
        }
        let t = self.call_target();
        self.push(a, t);
        self.operand(a, Role::Gas);
        a.op(o);
        self.depth -= if matches!(o, op::CALL | op::CALLCODE) { 6 } else { 5 };
        self.after_call(a, ret_off);
    }

    fn create_action(&mut self, a: &mut Asm) {
        let init = self.initcode();
        let off = *self.rng.pick(&[0, 0x20, 0x800]);
        self.write_mem(a, off, &init);
        let len = if self.rng.percent(3) {
            // Above the EIP-3860 limit: an exceptional halt of this frame.
            49_153
        } else {
            init.len() as u64
        };
        let create2 = self.rng.percent(50);
        let salt = U256::from(self.rng.range(0, 2));
        if create2 {
            self.push(a, salt);
        }
        self.push_u(a, len);
        self.push_u(a, off);
        self.operand(a, Role::Value);
        a.op(if create2 { op::CREATE2 } else { op::CREATE });
        self.depth -= if create2 { 3 } else { 2 };
        // [created]
        a.op(op::DUP1);
        self.depth += 1;
        self.store_slot(a);
        if self.rng.percent(50) {
            // Call what was created.
            let data = self.callee_calldata();
            self.write_mem(a, 0x100, &data);
            a.push_u(64);
            a.push_u(0x180);
            a.push_u(64);
            a.push_u(0x100);
            a.op(op::PUSH0);
            a.op(DUP6);
            a.op(op::GAS);
            a.op(op::CALL);
            self.depth += 1;
            self.after_call(a, 0x180);
        }
        if self.rng.percent(30) {
            a.op(op::DUP1);
            a.op(*self.rng.pick(&[op::EXTCODESIZE, op::EXTCODEHASH, op::BALANCE]));
            self.depth += 1;
            self.store_slot(a);
        }
        if create2 && self.rng.percent(30) {
            // The same CREATE2 again: an address collision (returns zero) unless the first
            // failed or self-destructed.
            self.push(a, salt);
            self.push_u(a, init.len() as u64);
            self.push_u(a, off);
            self.push(a, U256::ZERO);
            a.op(op::CREATE2);
            self.depth -= 3;
            self.store_slot(a);
        }
        a.op(op::POP);
        self.depth -= 1;
    }

    fn precompile_action(&mut self, a: &mut Asm) {
        let p = self.precompile();
        let input = self.precompile_input(p);
        let off = *self.rng.pick(&[0, 0x40]);
        self.write_mem(a, off, &input);
        let len = if self.rng.percent(90) {
            input.len() as u64
        } else {
            self.rng.range(0, input.len() as u64 + 40)
        };
        let ret_off = self.rng.range(0, 0x400);
        let ret_len = *self.rng.pick(&[0, 32, 64, 128, 256]);
        self.push_u(a, ret_len);
        self.push_u(a, ret_off);
        self.push_u(a, len);
        self.push_u(a, off);
        let call = self.rng.percent(30);
        if call {
            // A value sent to a precompile makes its account exist.
            let v = U256::from(self.rng.range(0, 2));
            self.push(a, v);
        }
        self.push_u(a, p);
        if self.rng.percent(70) {
            a.op(op::GAS);
            self.depth += 1;
        } else {
            self.operand(a, Role::Gas);
        }
        a.op(if call { op::CALL } else { op::STATICCALL });
        self.depth -= if call { 6 } else { 5 };
        self.after_call(a, ret_off);
        a.push_u(ret_off);
        a.op(op::MLOAD);
        self.depth += 1;
        self.store_slot(a);
    }

    fn precompile_input(&mut self, p: u64) -> Vec<u8> {
        let word = |v: u64| U256::from(v).to_be_bytes::<32>().to_vec();
        let rnd = self.rng.percent(25);
        match p {
            1 => {
                // ecrecover: hash, v, r, s; random r and s often recover some address.
                let mut d = self.rng.bytes(32);
                d.extend(word(self.rng.range(26, 29)));
                d.extend(self.rng.bytes(64));
                d
            }
            2..=4 => {
                let n = self.rng.usize(0, 100);
                self.rng.bytes(n)
            }
            5 => {
                // modexp: lengths, then base, exponent, modulus.
                let mut lens = [0u64; 3];
                for l in lens.iter_mut() {
                    *l = match self.rng.below(10) {
                        0 => 0,
                        1 => self.rng.range(33, 64),
                        2 if self.rng.percent(20) => 1025,
                        _ => self.rng.range(1, 32),
                    };
                }
                let mut d = Vec::new();
                for l in lens {
                    d.extend(word(l));
                }
                if self.rng.percent(5) {
                    d[32..64].copy_from_slice(&U256::MAX.to_be_bytes::<32>());
                }
                let body: u64 = lens.iter().sum::<u64>().min(2100);
                d.extend(self.rng.bytes(body as usize));
                d
            }
            6 | 7 => {
                // alt_bn128 add/mul: the generator (1, 2), the point at infinity, or noise.
                let mut d = if rnd { self.rng.bytes(64) } else { [word(1), word(2)].concat() };
                if p == 6 {
                    d.extend(if self.rng.percent(50) {
                        vec![0; 64]
                    } else {
                        [word(1), word(2)].concat()
                    });
                } else {
                    d.extend(self.rng.word().to_be_bytes::<32>());
                }
                d
            }
            8 => {
                let k = self.rng.usize(0, 2);
                if rnd {
                    self.rng.bytes(192 * k)
                } else {
                    vec![0; 192 * k]
                }
            }
            9 => {
                // blake2f: rounds, h, m, t, final flag.
                let rounds = self.rng.range(0, 24) as u32;
                let mut d = rounds.to_be_bytes().to_vec();
                d.extend(self.rng.bytes(64 + 128 + 16));
                d.push(if self.rng.percent(90) { self.rng.range(0, 1) as u8 } else { 2 });
                if self.rng.percent(10) {
                    d.pop();
                }
                d
            }
            0x0a => self.rng.bytes(192),
            0x0b..=0x11 => {
                // BLS12-381: all-zero inputs of the right length are valid (points at infinity).
                let len = match p {
                    0x0b => 256,
                    0x0c => 160 * self.rng.usize(1, 2),
                    0x0d => 512,
                    0x0e => 288,
                    0x0f => 384 * self.rng.usize(0, 1),
                    0x10 => 64,
                    _ => 128,
                };
                if rnd {
                    self.rng.bytes(len)
                } else {
                    vec![0; len]
                }
            }
            _ => self.rng.bytes(160),
        }
    }

    /// Value to accounts of every kind, then their balance.
    fn transfer_action(&mut self, a: &mut Asm) {
        let to = *self.rng.pick(&[EMPTY, MISSING, RICH_EOA, SENDER, COINBASE, CALLEE_C, DELEGATED]);
        let to = if self.rng.percent(15) { addr(self.precompile()) } else { to };
        let to = U256::from_be_slice(to.as_slice());
        a.ops(&[op::PUSH0, op::PUSH0, op::PUSH0, op::PUSH0]);
        a.push_u(self.rng.range(0, 1000));
        a.push(to);
        a.push_u(*self.rng.pick(&[0, 0, 2300, 100_000]));
        a.op(op::CALL);
        self.depth += 1;
        self.store_slot(a);
        a.push(to);
        a.op(op::BALANCE);
        self.depth += 1;
        self.store_slot(a);
    }

    /// Initcode for CREATE/CREATE2 (and what it deploys).
    fn initcode(&mut self) -> Vec<u8> {
        let mut a = Asm::new();
        match self.rng.weighted(&[40, 8, 6, 4, 6, 4, 6, 6, 6, 4]) {
            0 => {
                // Deploys a callee-like runtime, after an optional store and log.
                let runtime = if self.rng.percent(50) {
                    self.callee_program_depth(1)
                } else {
                    {
                        let n = self.rng.usize(1, 40);
                        self.rng.bytes(n)
                    }
                };
                let mut runtime = runtime;
                if runtime.first() == Some(&0xef) {
                    runtime[0] = 0;
                }
                if self.rng.percent(30) {
                    a.ops(&[op::CALLVALUE, op::PUSH0, op::SSTORE]);
                }
                if self.rng.percent(20) {
                    a.ops(&[op::PUSH0, op::PUSH0, op::LOG0]);
                }
                // The code below up to the runtime: PUSH2 PUSH2 PUSH1 CODECOPY PUSH2 PUSH1 RETURN.
                let off = a.pc() + 15;
                a.push_n(U256::from(runtime.len()), 2);
                a.push_n(U256::from(off), 2);
                a.push_n(U256::ZERO, 1);
                a.op(op::CODECOPY);
                a.push_n(U256::from(runtime.len()), 2);
                a.push_n(U256::ZERO, 1);
                a.op(op::RETURN);
                debug_assert_eq!(a.pc(), off);
                a.raw(&runtime);
            }
            1 => {
                a.push(self.rng.word());
                a.op(op::PUSH0);
                a.op(op::MSTORE);
                a.push_u(self.rng.range(0, 40));
                a.op(op::PUSH0);
                a.op(op::REVERT);
            }
            2 => {
                // Deployed code starting with 0xEF (EIP-3541).
                a.push_u(0xef);
                a.op(op::PUSH0);
                a.op(op::MSTORE8);
                a.push_u(self.rng.range(1, 3));
                a.op(op::PUSH0);
                a.op(op::RETURN);
            }
            3 => {
                // Code of exactly the EIP-170 limit, or one byte over.
                a.push_u(24_576 + self.rng.range(0, 1));
                a.op(op::PUSH0);
                a.op(op::RETURN);
            }
            4 => {} // empty initcode: an account with no code
            5 => a.op(op::INVALID),
            6 => {
                let l = a.label();
                a.bind(l);
                a.jump(l);
            }
            7 => {
                // Self-destruct during creation: the account is gone after the transaction.
                let b = self.address();
                a.push(b);
                a.op(op::SELFDESTRUCT);
            }
            8 => {
                // Stores, then deploys nothing (or a few bytes of memory).
                a.ops(&[op::GAS, op::PUSH0, op::SSTORE, op::CALLER, op::PUSH1, 1, op::TSTORE]);
                a.push_u(self.rng.range(0, 5));
                a.op(op::PUSH0);
                a.op(op::RETURN);
            }
            _ => {
                let n = self.rng.usize(1, 30);
                a.raw(&self.rng.bytes(n));
            }
        }
        a.finish()
    }

    // ----- callees ------------------------------------------------------------------------

    fn callee_program(&mut self) -> Vec<u8> {
        self.callee_program_depth(0)
    }

    /// A contract that dispatches on the first byte of its calldata.
    fn callee_program_depth(&mut self, level: u32) -> Vec<u8> {
        let saved = (self.depth, self.base, self.nest);
        self.depth = 0;
        self.base = 0;
        self.nest = 2;
        let mut a = Asm::new();
        a.ops(&[op::PUSH0, op::CALLDATALOAD, op::PUSH1, 248, op::SHR]);
        let modes: Vec<_> = (0..CALLEE_MODES).map(|_| a.label()).collect();
        for (m, &l) in modes.iter().enumerate() {
            a.op(op::DUP1);
            a.push_u(m as u64);
            a.op(op::EQ);
            a.jumpi(l);
        }
        a.op(op::POP);
        a.op(op::STOP);
        for (m, &l) in modes.iter().enumerate() {
            a.bind(l);
            a.op(op::POP);
            self.callee_behaviour(&mut a, m as u8, level);
        }
        (self.depth, self.base, self.nest) = saved;
        let mut code = a.finish();
        if code.starts_with(&[0xef, 0x01]) {
            code[1] = 0;
        }
        code
    }

    /// Calldata shifted by one byte, so the next byte selects the next behaviour.
    fn forward_calldata(a: &mut Asm) {
        a.push_u(1);
        a.op(op::CALLDATASIZE);
        a.op(op::SUB);
        a.push_u(1);
        a.op(op::PUSH0);
        a.op(op::CALLDATACOPY);
    }

    /// Return (or revert with) the last call's return data.
    fn pass_return_data(&mut self, a: &mut Asm) {
        a.ops(&[op::RETURNDATASIZE, op::PUSH0, op::PUSH0, op::RETURNDATACOPY]);
        a.ops(&[op::RETURNDATASIZE, op::PUSH0]);
        a.op(if self.rng.percent(80) { op::RETURN } else { op::REVERT });
    }

    fn callee_behaviour(&mut self, a: &mut Asm, mode: u8, level: u32) {
        match mode {
            0 => {
                // Context and argument, returned.
                a.ops(&[op::CALLER, op::PUSH0, op::MSTORE, op::CALLVALUE, op::PUSH1, 32]);
                a.ops(&[op::MSTORE, op::ADDRESS, op::PUSH1, 64, op::MSTORE]);
                a.ops(&[op::PUSH1, 32, op::CALLDATALOAD, op::PUSH1, 96, op::MSTORE]);
                let len = *self.rng.pick(&[0u64, 1, 32, 64, 128, 200]);
                a.push_u(len);
                a.op(op::PUSH0);
                a.op(op::RETURN);
            }
            1 => {
                a.push(self.rng.word());
                a.ops(&[op::PUSH0, op::MSTORE]);
                a.push_u(*self.rng.pick(&[0u64, 4, 32, 36]));
                a.op(op::PUSH0);
                a.op(op::REVERT);
            }
            2 => {
                // Store and log: fails inside STATICCALL; SSTORE needs more than 2300 gas.
                let slot = self.rng.range(0, 9);
                a.ops(&[op::PUSH1, 32, op::CALLDATALOAD]);
                a.push_u(slot);
                a.op(op::SSTORE);
                a.ops(&[op::CALLVALUE, op::CALLER, op::PUSH1, 32, op::PUSH0, LOG2]);
                a.op(op::STOP);
            }
            3 => a.op(op::INVALID),
            4 => {
                let l = a.label();
                a.bind(l);
                a.jump(l);
            }
            5 | 11 => {
                // Call the caller (mode 5) or the other callee (mode 11) with the rest of
                // the calldata, half the gas, and pass its return data on.
                Self::forward_calldata(a);
                a.ops(&[op::PUSH0, op::PUSH0]);
                a.push_u(1);
                a.op(op::CALLDATASIZE);
                a.op(op::SUB);
                a.ops(&[op::PUSH0, op::PUSH0]);
                if mode == 5 {
                    a.op(op::CALLER);
                } else {
                    let t = if self.rng.percent(50) { CALLEE_B } else { CALLEE_C };
                    a.push(U256::from_be_slice(t.as_slice()));
                }
                a.ops(&[op::PUSH1, 2, op::GAS, op::DIV]);
                a.op(*self.rng.pick(&[op::CALL, op::CALL, op::DELEGATECALL, op::CALLCODE]));
                // DELEGATECALL takes no value: the extra PUSH0 becomes its ret size... keep
                // the stack consistent whatever was picked.
                a.op(op::POP);
                self.pass_return_data(a);
            }
            6 => {
                a.ops(&[op::PUSH1, 32, op::CALLDATALOAD]);
                a.op(op::SELFDESTRUCT);
            }
            7 => {
                // Transient storage and balances.
                a.ops(&[op::CALLVALUE, op::PUSH1, 1, op::TSTORE]);
                a.ops(&[op::SELFBALANCE, op::PUSH1, 2, op::SSTORE]);
                a.ops(&[op::PUSH1, 1, op::TLOAD, op::PUSH0, op::MSTORE]);
                a.ops(&[op::ADDRESS, op::BALANCE, op::PUSH1, 32, op::MSTORE]);
                a.ops(&[op::ORIGIN, op::PUSH1, 64, op::MSTORE]);
                a.ops(&[op::PUSH1, 96, op::PUSH0, op::RETURN]);
            }
            8 => {
                let n = self.rng.usize(2, 10);
                self.frag_straight(a, n);
                a.ops(&[op::PUSH1, 64, op::PUSH0, op::RETURN]);
            }
            9 if level == 0 => {
                // Create from inside a callee, return the address.
                let init = self.initcode();
                self.write_mem(a, 0, &init);
                a.push_u(init.len() as u64);
                a.op(op::PUSH0);
                a.op(op::CALLVALUE);
                a.op(op::CREATE);
                a.ops(&[op::PUSH0, op::MSTORE, op::PUSH1, 32, op::PUSH0, op::RETURN]);
            }
            10 => {
                a.push_u(*self.rng.pick(&[0x1000u64, 0x2000, 100]));
                a.op(op::PUSH0);
                a.op(op::RETURN);
            }
            12 => {
                // Gas introspection.
                a.ops(&[op::GAS, op::PUSH0, op::MSTORE, op::PUSH1, 32, op::PUSH0, op::RETURN]);
            }
            13 => {
                // Read back storage written by others (DELEGATECALL writes to the caller).
                a.ops(&[op::PUSH1, 1, op::SLOAD, op::PUSH1, 1, op::TLOAD, op::ADD]);
                a.ops(&[op::PUSH0, op::MSTORE, op::PUSH1, 32, op::PUSH0, op::RETURN]);
            }
            _ => a.op(op::STOP),
        }
    }

    // ----- whole programs -----------------------------------------------------------------

    fn stack_program(&mut self) -> Vec<u8> {
        let mut a = Asm::new();
        match self.rng.below(3) {
            0 => {
                // Static height near the limit.
                let n = match self.rng.below(4) {
                    0 => 1024,
                    1 => 1025,
                    2 => 1023,
                    _ => self.rng.range(1000, 1030),
                };
                for i in 0..n {
                    match self.rng.below(5) {
                        0 => a.op(op::PUSH0),
                        1 => a.ops(&[op::PUSH1, self.rng.next_u64() as u8]),
                        2 if i > 0 => a.op(op::DUP1),
                        3 => a.op(op::PC),
                        _ => a.op(op::GAS),
                    }
                }
                let ops = [op::DUP16, op::SWAP16, op::ADD, op::MUL, op::POP, op::DUP1];
                for _ in 0..self.rng.range(0, 4) {
                    a.op(*self.rng.pick(&ops));
                }
                a.ops(&[op::PUSH1, 0x42, op::SSTORE]);
            }
            1 => {
                // Height that depends on a loop: no static bound.
                let n = if self.rng.percent(70) {
                    self.rng.range(1015, 1025)
                } else {
                    self.rng.range(1, 300)
                };
                let head = a.label();
                a.push_u(n);
                a.bind(head);
                a.ops(&[op::PUSH1, 7, op::SWAP1, op::PUSH1, 1, op::SWAP1, op::SUB, op::DUP1]);
                a.jumpi(head);
                a.op(op::POP);
                for _ in 0..self.rng.range(0, 4) {
                    a.op(*self.rng.pick(&[op::DUP1, op::DUP16, op::SWAP16, op::ADD, op::PUSH0]));
                }
                a.ops(&[op::PUSH1, 0x42, op::SSTORE]);
            }
            _ => {
                // Underflow in the middle of a block, after storage writes.
                a.ops(&[op::PUSH1, 1, op::PUSH1, 2, op::SSTORE]);
                let k = self.rng.range(0, 3);
                for _ in 0..k {
                    a.op(op::PUSH0);
                }
                for _ in 0..=k {
                    a.op(*self.rng.pick(&[op::ADD, op::POP, op::SWAP1, DUP2, op::MSTORE]));
                }
            }
        }
        a.op(op::STOP);
        a.finish()
    }

    fn raw_program(&mut self) -> Vec<u8> {
        let len = self.rng.usize(1, 200);
        match self.rng.below(4) {
            0 => self.rng.bytes(len),
            3 => {
                let p = control::tokens(self.rng);
                self.main_data = Some(p.calldata);
                p.code
            }
            1 => {
                // Opcodes of the fork with random immediates (PUSH data may be cut off).
                let mut code = Vec::new();
                while code.len() < len {
                    let o = if self.rng.percent(90) {
                        *self.rng.pick(&self.defined)
                    } else {
                        self.rng.next_u64() as u8
                    };
                    code.push(o);
                    if (op::PUSH1..=op::PUSH32).contains(&o) {
                        code.extend(self.rng.bytes((o - op::PUSH1 + 1) as usize));
                    }
                }
                code.truncate(len);
                code
            }
            _ => {
                // Control flow heavy: JUMPDESTs, jumps, small pushes.
                let alphabet = [
                    op::JUMPDEST,
                    op::JUMP,
                    op::JUMPI,
                    op::PUSH1,
                    op::PUSH2,
                    op::PUSH0,
                    op::DUP1,
                    op::SWAP1,
                    op::PC,
                    op::ADD,
                    op::ISZERO,
                    op::GAS,
                    op::CALLDATALOAD,
                    op::MSTORE,
                    op::SSTORE,
                    op::STOP,
                ];
                (0..len)
                    .map(|_| {
                        if self.rng.percent(80) {
                            *self.rng.pick(&alphabet)
                        } else {
                            self.rng.below(u64::from(len as u32).max(1)) as u8
                        }
                    })
                    .collect()
            }
        }
    }

    fn mutate(&mut self, mut code: Vec<u8>) -> Vec<u8> {
        for _ in 0..self.rng.range(1, 4) {
            if code.is_empty() {
                break;
            }
            let i = self.rng.usize(0, code.len() - 1);
            match self.rng.below(8) {
                0 => code[i] = self.rng.next_u64() as u8,
                1 => {
                    code[i] = *self.rng.pick(&[
                        op::JUMPDEST,
                        op::JUMP,
                        op::JUMPI,
                        op::STOP,
                        op::INVALID,
                        op::PUSH1,
                        op::PUSH32,
                        op::PUSH0,
                        op::DUP1,
                        op::SWAP1,
                    ])
                }
                2 => code.insert(i, self.rng.next_u64() as u8),
                3 => {
                    code.remove(i);
                }
                4 => code.truncate(i.max(1)),
                6 => {
                    // A jump to a 0x5b byte of the code (a JUMPDEST, or PUSH data), from a
                    // height the program did not plan for.
                    let dests: Vec<usize> =
                        (0..code.len()).filter(|&j| code[j] == op::JUMPDEST).collect();
                    let t = if dests.is_empty() { i } else { *self.rng.pick(&dests) };
                    let jumpi = self.rng.percent(50);
                    // Where the target is once the jump is in.
                    let t = if t >= i { t + if jumpi { 8 } else { 4 } } else { t };
                    let [hi, lo] = (t as u16).to_be_bytes();
                    let jump = if jumpi {
                        vec![op::GAS, op::PUSH1, 1, op::AND, op::PUSH2, hi, lo, op::JUMPI]
                    } else {
                        vec![op::PUSH2, hi, lo, op::JUMP]
                    };
                    code.splice(i..i, jump);
                }
                7 => {
                    // A JUMPDEST (a new block: a landing pad) among DUPs, SWAPs and POPs.
                    let mut piece = vec![op::JUMPDEST];
                    for _ in 0..self.rng.range(0, 4) {
                        let k = self.rng.below(16) as u8;
                        piece.push(*self.rng.pick(&[
                            op::DUP1 + k,
                            op::SWAP1 + k,
                            op::POP,
                            op::PUSH0,
                        ]));
                    }
                    code.splice(i..i, piece);
                }
                _ => {
                    let j = self.rng.usize(i, code.len().min(i + 16));
                    let piece = code[i..j].to_vec();
                    code.splice(i..i, piece);
                }
            }
        }
        code
    }
}
