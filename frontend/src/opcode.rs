//! The opcode table: the one place opcode facts live.
//!
//! Every other crate (the interpreter, the IR lifter, code generation, the disassembler) reads
//! mnemonic, immediate size, stack effect, static gas and fork of introduction from here, and
//! the traits passes and code generation decide by: which opcodes suspend the frame, observe
//! the remaining gas or the memory size, may halt, read the code, or access memory inline
//! (the model is evmone's `instructions_traits.hpp`).
//! There is one table per fork: Frontier's written out, and each later fork as its changes
//! over the one before (`fork_changes`). Static gas is the part of an opcode's cost that is
//! known before it runs in that fork; warm/cold surcharges, memory expansion and per-word
//! costs are charged dynamically by the runtime (by `kiln_runtime::Rules`). From Berlin on,
//! the static part of an EIP-2929 opcode is the warm cost.

use crate::spec::SpecId;

/// Facts about one opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpInfo {
    pub name: &'static str,
    /// Bytes of immediate data after the opcode (PUSH1..PUSH32).
    pub immediate: u8,
    /// Stack items consumed.
    pub inputs: u8,
    /// Stack items produced.
    pub outputs: u8,
    /// Gas charged before the opcode runs.
    pub static_gas: u16,
    /// The fork that introduced the opcode.
    pub since: SpecId,
    /// Control never falls through to the next instruction.
    pub terminator: bool,
    /// The frame suspends for a nested frame (CALL*, CREATE*) and resumes with its result.
    pub suspends: bool,
    /// The remaining gas is observable right after the instruction (GAS, SSTORE's stipend
    /// check, what a call or create forwards): static gas must be charged exactly up to it, so
    /// a gas section ends there.
    pub observes_gas: bool,
    /// Reads the size of memory (MSIZE): accesses before it cannot be checked as a group.
    pub observes_memory_size: bool,
    /// May halt for a reason other than running out of gas or stack: a write in a static
    /// frame, return data out of bounds, an invalid jump, INVALID.
    pub may_halt: bool,
    /// Reads the code or the instruction's own offset (PUSH*, PC, JUMP, JUMPI): the
    /// interpreter loop and compiled code run it themselves, never through the shared
    /// executor that the builtin table reaches.
    pub reads_code: bool,
    /// Bytes of memory it reads or writes at its offset operand when compiled inline (MLOAD,
    /// MSTORE, MSTORE8); 0 for the rest.
    pub memory_access: u8,
    /// Compiled code may lower it to native instructions (some only for constant operands or
    /// in-bounds accesses) or a builtin of its own instead of the runtime's shared executor
    /// (`exec_op`); codegen calls that executor for every opcode without it.
    pub inline: bool,
}

impl OpInfo {
    const fn new(name: &'static str, inputs: u8, outputs: u8, static_gas: u16) -> Self {
        Self {
            name,
            immediate: 0,
            inputs,
            outputs,
            static_gas,
            since: SpecId::Frontier,
            terminator: false,
            suspends: false,
            observes_gas: false,
            observes_memory_size: false,
            may_halt: false,
            reads_code: false,
            memory_access: 0,
            inline: false,
        }
    }

    const fn suspends(mut self) -> Self {
        self.suspends = true;
        self.observes_gas = true;
        self
    }

    const fn memory_access(mut self, bytes: u8) -> Self {
        self.memory_access = bytes;
        self.inline = true;
        self
    }

    const fn since(mut self, spec: SpecId) -> Self {
        self.since = spec;
        self
    }

    const fn immediate(mut self, n: u8) -> Self {
        self.immediate = n;
        self
    }

    /// Net change of the stack height.
    pub const fn stack_delta(&self) -> i32 {
        self.outputs as i32 - self.inputs as i32
    }
}

/// The builder methods that set one trait of an [`OpInfo`].
macro_rules! trait_setters {
    ($($name:ident),*) => {
        impl OpInfo {
            $(
                const fn $name(mut self) -> Self {
                    self.$name = true;
                    self
                }
            )*
        }
    };
}

trait_setters!(terminator, observes_gas, observes_memory_size, may_halt, reads_code, inline);

macro_rules! opcodes {
    ($($value:literal => $ident:ident,)*) => {
        $(pub const $ident: u8 = $value;)*
    };
}

opcodes! {
    0x00 => STOP, 0x01 => ADD, 0x02 => MUL, 0x03 => SUB, 0x04 => DIV, 0x05 => SDIV,
    0x06 => MOD, 0x07 => SMOD, 0x08 => ADDMOD, 0x09 => MULMOD, 0x0a => EXP,
    0x0b => SIGNEXTEND,
    0x10 => LT, 0x11 => GT, 0x12 => SLT, 0x13 => SGT, 0x14 => EQ, 0x15 => ISZERO,
    0x16 => AND, 0x17 => OR, 0x18 => XOR, 0x19 => NOT, 0x1a => BYTE, 0x1b => SHL,
    0x1c => SHR, 0x1d => SAR, 0x1e => CLZ,
    0x20 => KECCAK256,
    0x30 => ADDRESS, 0x31 => BALANCE, 0x32 => ORIGIN, 0x33 => CALLER, 0x34 => CALLVALUE,
    0x35 => CALLDATALOAD, 0x36 => CALLDATASIZE, 0x37 => CALLDATACOPY, 0x38 => CODESIZE,
    0x39 => CODECOPY, 0x3a => GASPRICE, 0x3b => EXTCODESIZE, 0x3c => EXTCODECOPY,
    0x3d => RETURNDATASIZE, 0x3e => RETURNDATACOPY, 0x3f => EXTCODEHASH,
    0x40 => BLOCKHASH, 0x41 => COINBASE, 0x42 => TIMESTAMP, 0x43 => NUMBER,
    0x44 => PREVRANDAO, 0x45 => GASLIMIT, 0x46 => CHAINID, 0x47 => SELFBALANCE,
    0x48 => BASEFEE, 0x49 => BLOBHASH, 0x4a => BLOBBASEFEE,
    0x50 => POP, 0x51 => MLOAD, 0x52 => MSTORE, 0x53 => MSTORE8, 0x54 => SLOAD,
    0x55 => SSTORE, 0x56 => JUMP, 0x57 => JUMPI, 0x58 => PC, 0x59 => MSIZE, 0x5a => GAS,
    0x5b => JUMPDEST, 0x5c => TLOAD, 0x5d => TSTORE, 0x5e => MCOPY, 0x5f => PUSH0,
    0x60 => PUSH1, 0x61 => PUSH2, 0x62 => PUSH3, 0x63 => PUSH4, 0x64 => PUSH5, 0x65 => PUSH6,
    0x66 => PUSH7, 0x67 => PUSH8, 0x68 => PUSH9, 0x69 => PUSH10, 0x6a => PUSH11,
    0x6b => PUSH12, 0x6c => PUSH13, 0x6d => PUSH14, 0x6e => PUSH15, 0x6f => PUSH16,
    0x70 => PUSH17, 0x71 => PUSH18, 0x72 => PUSH19, 0x73 => PUSH20, 0x74 => PUSH21,
    0x75 => PUSH22, 0x76 => PUSH23, 0x77 => PUSH24, 0x78 => PUSH25, 0x79 => PUSH26,
    0x7a => PUSH27, 0x7b => PUSH28, 0x7c => PUSH29, 0x7d => PUSH30, 0x7e => PUSH31,
    0x7f => PUSH32, 0x80 => DUP1, 0x8f => DUP16, 0x90 => SWAP1, 0x9f => SWAP16, 0xa0 => LOG0,
    0xa4 => LOG4,
    0xf0 => CREATE, 0xf1 => CALL, 0xf2 => CALLCODE, 0xf3 => RETURN, 0xf4 => DELEGATECALL,
    0xf5 => CREATE2, 0xfa => STATICCALL, 0xfd => REVERT, 0xfe => INVALID,
    0xff => SELFDESTRUCT,
}

const PUSH_NAMES: [&str; 32] = [
    "PUSH1", "PUSH2", "PUSH3", "PUSH4", "PUSH5", "PUSH6", "PUSH7", "PUSH8", "PUSH9", "PUSH10",
    "PUSH11", "PUSH12", "PUSH13", "PUSH14", "PUSH15", "PUSH16", "PUSH17", "PUSH18", "PUSH19",
    "PUSH20", "PUSH21", "PUSH22", "PUSH23", "PUSH24", "PUSH25", "PUSH26", "PUSH27", "PUSH28",
    "PUSH29", "PUSH30", "PUSH31", "PUSH32",
];
const DUP_NAMES: [&str; 16] = [
    "DUP1", "DUP2", "DUP3", "DUP4", "DUP5", "DUP6", "DUP7", "DUP8", "DUP9", "DUP10", "DUP11",
    "DUP12", "DUP13", "DUP14", "DUP15", "DUP16",
];
const SWAP_NAMES: [&str; 16] = [
    "SWAP1", "SWAP2", "SWAP3", "SWAP4", "SWAP5", "SWAP6", "SWAP7", "SWAP8", "SWAP9", "SWAP10",
    "SWAP11", "SWAP12", "SWAP13", "SWAP14", "SWAP15", "SWAP16",
];
const LOG_NAMES: [&str; 5] = ["LOG0", "LOG1", "LOG2", "LOG3", "LOG4"];

/// One fork's opcode table, indexed by opcode.
type Table = [Option<OpInfo>; 256];

/// The opcodes of Frontier with Frontier's static gas. Every later fork is written as its
/// changes over this, in [`fork_changes`].
const fn frontier_table() -> Table {
    let mut t: Table = [None; 256];
    t[STOP as usize] = Some(OpInfo::new("STOP", 0, 0, 0).terminator());
    t[ADD as usize] = Some(OpInfo::new("ADD", 2, 1, 3).inline());
    t[MUL as usize] = Some(OpInfo::new("MUL", 2, 1, 5).inline());
    t[SUB as usize] = Some(OpInfo::new("SUB", 2, 1, 3).inline());
    t[DIV as usize] = Some(OpInfo::new("DIV", 2, 1, 5).inline());
    t[SDIV as usize] = Some(OpInfo::new("SDIV", 2, 1, 5).inline());
    t[MOD as usize] = Some(OpInfo::new("MOD", 2, 1, 5).inline());
    t[SMOD as usize] = Some(OpInfo::new("SMOD", 2, 1, 5).inline());
    t[ADDMOD as usize] = Some(OpInfo::new("ADDMOD", 3, 1, 8));
    t[MULMOD as usize] = Some(OpInfo::new("MULMOD", 3, 1, 8));
    t[EXP as usize] = Some(OpInfo::new("EXP", 2, 1, 10));
    t[SIGNEXTEND as usize] = Some(OpInfo::new("SIGNEXTEND", 2, 1, 5).inline());
    t[LT as usize] = Some(OpInfo::new("LT", 2, 1, 3).inline());
    t[GT as usize] = Some(OpInfo::new("GT", 2, 1, 3).inline());
    t[SLT as usize] = Some(OpInfo::new("SLT", 2, 1, 3).inline());
    t[SGT as usize] = Some(OpInfo::new("SGT", 2, 1, 3).inline());
    t[EQ as usize] = Some(OpInfo::new("EQ", 2, 1, 3).inline());
    t[ISZERO as usize] = Some(OpInfo::new("ISZERO", 1, 1, 3).inline());
    t[AND as usize] = Some(OpInfo::new("AND", 2, 1, 3).inline());
    t[OR as usize] = Some(OpInfo::new("OR", 2, 1, 3).inline());
    t[XOR as usize] = Some(OpInfo::new("XOR", 2, 1, 3).inline());
    t[NOT as usize] = Some(OpInfo::new("NOT", 1, 1, 3).inline());
    t[BYTE as usize] = Some(OpInfo::new("BYTE", 2, 1, 3).inline());
    t[KECCAK256 as usize] = Some(OpInfo::new("KECCAK256", 2, 1, 30).inline());
    t[ADDRESS as usize] = Some(OpInfo::new("ADDRESS", 0, 1, 2));
    t[BALANCE as usize] = Some(OpInfo::new("BALANCE", 1, 1, 20));
    t[ORIGIN as usize] = Some(OpInfo::new("ORIGIN", 0, 1, 2));
    t[CALLER as usize] = Some(OpInfo::new("CALLER", 0, 1, 2));
    t[CALLVALUE as usize] = Some(OpInfo::new("CALLVALUE", 0, 1, 2));
    t[CALLDATALOAD as usize] = Some(OpInfo::new("CALLDATALOAD", 1, 1, 3).inline());
    t[CALLDATASIZE as usize] = Some(OpInfo::new("CALLDATASIZE", 0, 1, 2).inline());
    t[CALLDATACOPY as usize] = Some(OpInfo::new("CALLDATACOPY", 3, 0, 3));
    t[CODESIZE as usize] = Some(OpInfo::new("CODESIZE", 0, 1, 2));
    t[CODECOPY as usize] = Some(OpInfo::new("CODECOPY", 3, 0, 3));
    t[GASPRICE as usize] = Some(OpInfo::new("GASPRICE", 0, 1, 2));
    t[EXTCODESIZE as usize] = Some(OpInfo::new("EXTCODESIZE", 1, 1, 20));
    t[EXTCODECOPY as usize] = Some(OpInfo::new("EXTCODECOPY", 4, 0, 20));
    t[BLOCKHASH as usize] = Some(OpInfo::new("BLOCKHASH", 1, 1, 20));
    t[COINBASE as usize] = Some(OpInfo::new("COINBASE", 0, 1, 2));
    t[TIMESTAMP as usize] = Some(OpInfo::new("TIMESTAMP", 0, 1, 2));
    t[NUMBER as usize] = Some(OpInfo::new("NUMBER", 0, 1, 2));
    t[PREVRANDAO as usize] = Some(OpInfo::new("DIFFICULTY", 0, 1, 2));
    t[GASLIMIT as usize] = Some(OpInfo::new("GASLIMIT", 0, 1, 2));
    t[POP as usize] = Some(OpInfo::new("POP", 1, 0, 2));
    t[MLOAD as usize] = Some(OpInfo::new("MLOAD", 1, 1, 3).memory_access(32));
    t[MSTORE as usize] = Some(OpInfo::new("MSTORE", 2, 0, 3).memory_access(32));
    t[MSTORE8 as usize] = Some(OpInfo::new("MSTORE8", 2, 0, 3).memory_access(1));
    t[SLOAD as usize] = Some(OpInfo::new("SLOAD", 1, 1, 50));
    t[SSTORE as usize] = Some(OpInfo::new("SSTORE", 2, 0, 0).observes_gas().may_halt());
    t[JUMP as usize] = Some(OpInfo::new("JUMP", 1, 0, 8).terminator().may_halt().reads_code());
    t[JUMPI as usize] = Some(OpInfo::new("JUMPI", 2, 0, 10).may_halt().reads_code());
    t[PC as usize] = Some(OpInfo::new("PC", 0, 1, 2).reads_code());
    t[MSIZE as usize] = Some(OpInfo::new("MSIZE", 0, 1, 2).observes_memory_size().inline());
    t[GAS as usize] = Some(OpInfo::new("GAS", 0, 1, 2).observes_gas().inline());
    t[JUMPDEST as usize] = Some(OpInfo::new("JUMPDEST", 0, 0, 1));
    let mut i = 0;
    while i < 32 {
        t[PUSH1 as usize + i] =
            Some(OpInfo::new(PUSH_NAMES[i], 0, 1, 3).immediate(i as u8 + 1).reads_code());
        i += 1;
    }
    let mut i = 0;
    while i < 16 {
        let n = i as u8 + 1;
        t[DUP1 as usize + i] = Some(OpInfo::new(DUP_NAMES[i], n, n + 1, 3));
        t[SWAP1 as usize + i] = Some(OpInfo::new(SWAP_NAMES[i], n + 1, n + 1, 3));
        i += 1;
    }
    let mut i = 0;
    while i < 5 {
        t[LOG0 as usize + i] =
            Some(OpInfo::new(LOG_NAMES[i], 2 + i as u8, 0, 375 * (i as u16 + 1)).may_halt());
        i += 1;
    }
    t[CREATE as usize] = Some(OpInfo::new("CREATE", 3, 1, 32000).suspends().may_halt());
    t[CALL as usize] = Some(OpInfo::new("CALL", 7, 1, 40).suspends().may_halt());
    t[CALLCODE as usize] = Some(OpInfo::new("CALLCODE", 7, 1, 40).suspends());
    t[RETURN as usize] = Some(OpInfo::new("RETURN", 2, 0, 0).terminator());
    t[INVALID as usize] = Some(OpInfo::new("INVALID", 0, 0, 0).terminator().may_halt());
    t[SELFDESTRUCT as usize] = Some(OpInfo::new("SELFDESTRUCT", 1, 0, 0).terminator().may_halt());
    t
}

/// What `spec` changed in the opcode table over the fork before it: opcodes it introduced,
/// static gas it repriced. A fork that changed nothing here (SpuriousDragon's EXP repricing is
/// dynamic gas, Petersburg only dropped EIP-1283's SSTORE metering) has no arm.
const fn fork_changes(mut t: Table, spec: SpecId) -> Table {
    use SpecId::*;
    match spec {
        Homestead => {
            t = add(t, DELEGATECALL, OpInfo::new("DELEGATECALL", 6, 1, 40).suspends(), spec);
        }
        // EIP-150: state access repriced against denial-of-service.
        TangerineWhistle => {
            t = reprice(t, &[BALANCE], 400);
            t = reprice(t, &[EXTCODESIZE, EXTCODECOPY, CALL, CALLCODE, DELEGATECALL], 700);
            t = reprice(t, &[SLOAD], 200);
            t = reprice(t, &[SELFDESTRUCT], 5000);
        }
        Byzantium => {
            t = add(t, REVERT, OpInfo::new("REVERT", 2, 0, 0).terminator(), spec);
            t = add(t, RETURNDATASIZE, OpInfo::new("RETURNDATASIZE", 0, 1, 2), spec);
            let copy = OpInfo::new("RETURNDATACOPY", 3, 0, 3).may_halt();
            t = add(t, RETURNDATACOPY, copy, spec);
            t = add(t, STATICCALL, OpInfo::new("STATICCALL", 6, 1, 700).suspends(), spec);
        }
        Constantinople => {
            t = add(t, SHL, OpInfo::new("SHL", 2, 1, 3).inline(), spec);
            t = add(t, SHR, OpInfo::new("SHR", 2, 1, 3).inline(), spec);
            t = add(t, SAR, OpInfo::new("SAR", 2, 1, 3).inline(), spec);
            t = add(t, EXTCODEHASH, OpInfo::new("EXTCODEHASH", 1, 1, 400), spec);
            let create2 = OpInfo::new("CREATE2", 4, 1, 32000).suspends().may_halt();
            t = add(t, CREATE2, create2, spec);
        }
        // EIP-1884 reprices state reads; EIP-1344 and EIP-1884 add two opcodes.
        Istanbul => {
            t = add(t, CHAINID, OpInfo::new("CHAINID", 0, 1, 2), spec);
            t = add(t, SELFBALANCE, OpInfo::new("SELFBALANCE", 0, 1, 5), spec);
            t = reprice(t, &[BALANCE, EXTCODEHASH], 700);
            t = reprice(t, &[SLOAD], 800);
        }
        // EIP-2929: static gas is the warm access cost; a cold access pays a surcharge at
        // run time.
        Berlin => {
            let warm = [
                BALANCE,
                EXTCODESIZE,
                EXTCODECOPY,
                EXTCODEHASH,
                SLOAD,
                CALL,
                CALLCODE,
                DELEGATECALL,
                STATICCALL,
            ];
            t = reprice(t, &warm, 100);
        }
        London => t = add(t, BASEFEE, OpInfo::new("BASEFEE", 0, 1, 2), spec),
        // EIP-4399: DIFFICULTY reads the beacon chain's randomness instead.
        Paris => t = rename(t, PREVRANDAO, "PREVRANDAO"),
        Shanghai => t = add(t, PUSH0, OpInfo::new("PUSH0", 0, 1, 2), spec),
        Cancun => {
            t = add(t, BLOBHASH, OpInfo::new("BLOBHASH", 1, 1, 3), spec);
            t = add(t, BLOBBASEFEE, OpInfo::new("BLOBBASEFEE", 0, 1, 2), spec);
            t = add(t, TLOAD, OpInfo::new("TLOAD", 1, 1, 100), spec);
            t = add(t, TSTORE, OpInfo::new("TSTORE", 2, 0, 100).may_halt(), spec);
            t = add(t, MCOPY, OpInfo::new("MCOPY", 3, 0, 3), spec);
        }
        Osaka => t = add(t, CLZ, OpInfo::new("CLZ", 1, 1, 5), spec),
        Frontier | SpuriousDragon | Petersburg | Prague => {}
    }
    t
}

const fn add(mut t: Table, op: u8, info: OpInfo, spec: SpecId) -> Table {
    t[op as usize] = Some(info.since(spec));
    t
}

const fn reprice(mut t: Table, ops: &[u8], gas: u16) -> Table {
    let mut i = 0;
    while i < ops.len() {
        if let Some(info) = &mut t[ops[i] as usize] {
            info.static_gas = gas;
        }
        i += 1;
    }
    t
}

const fn rename(mut t: Table, op: u8, name: &'static str) -> Table {
    if let Some(info) = &mut t[op as usize] {
        info.name = name;
    }
    t
}

/// Every fork's table, indexed by `SpecId as usize`: each is its predecessor's with
/// [`fork_changes`] applied.
const fn build_tables() -> [Table; SpecId::COUNT] {
    let mut tables = [[None; 256]; SpecId::COUNT];
    let mut t = frontier_table();
    let mut i = 0;
    while i < SpecId::COUNT {
        let spec = SpecId::ALL[i];
        t = fork_changes(t, spec);
        tables[i] = t;
        i += 1;
    }
    tables
}

static TABLES: [Table; SpecId::COUNT] = build_tables();

/// Facts about `op` regardless of fork (as of the latest fork, which removed no opcode), or
/// `None` for a byte that was never an opcode.
#[inline]
pub fn info(op: u8) -> Option<&'static OpInfo> {
    TABLES[SpecId::LATEST as usize][op as usize].as_ref()
}

/// Facts about `op` in `spec` (its static gas and name there), or `None` if `spec` does not
/// define it. `INVALID` (0xFE) is "defined": it halts.
#[inline]
pub fn info_in(op: u8, spec: SpecId) -> Option<&'static OpInfo> {
    TABLES[spec as usize][op as usize].as_ref()
}

/// Whether the remaining gas is observable right after `op` (the `observes_gas` field of [`OpInfo`]).
#[inline]
pub fn observes_gas(op: u8) -> bool {
    info(op).is_some_and(|i| i.observes_gas)
}

/// Whether `op` suspends the frame for a nested one (the `suspends` field of [`OpInfo`]).
#[inline]
pub fn suspends(op: u8) -> bool {
    info(op).is_some_and(|i| i.suspends)
}

/// Whether `op` reads the code or its own offset (the `reads_code` field of [`OpInfo`]).
#[inline]
pub fn reads_code(op: u8) -> bool {
    info(op).is_some_and(|i| i.reads_code)
}

/// Bytes of immediate data after `op`.
#[inline]
pub const fn immediate_size(op: u8) -> usize {
    if op >= PUSH1 && op <= PUSH32 {
        (op - PUSH1 + 1) as usize
    } else {
        0
    }
}

/// Static gas per opcode under `spec`, indexed by opcode so a hot loop pays one load.
/// Undefined opcodes cost 0 here; they are rejected separately.
pub fn static_gas_table(spec: SpecId) -> [u16; 256] {
    let mut out = [0u16; 256];
    for (op, slot) in out.iter_mut().enumerate() {
        if let Some(i) = info_in(op as u8, spec) {
            *slot = i.static_gas;
        }
    }
    out
}

/// Whether the opcode is defined under `spec`.
pub fn defined_table(spec: SpecId) -> [bool; 256] {
    let mut out = [false; 256];
    for (op, slot) in out.iter_mut().enumerate() {
        *slot = info_in(op as u8, spec).is_some();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defined_opcode_has_consistent_facts() {
        for op in 0..=255u8 {
            let Some(i) = info(op) else { continue };
            assert_eq!(i.immediate as usize, immediate_size(op), "{}", i.name);
            assert!(i.inputs <= 17 && i.outputs <= 17, "{}", i.name);
        }
    }

    #[test]
    fn traits_hold_together() {
        let with = |f: fn(&OpInfo) -> bool| -> Vec<&str> {
            (0..=255u8).filter_map(info).filter(|i| f(i)).map(|i| i.name).collect()
        };
        // A frame that suspends hands gas to its child: its section must end there.
        for op in 0..=255u8 {
            if suspends(op) {
                assert!(observes_gas(op), "{op:#x}");
            }
        }
        assert_eq!(
            with(|i| i.suspends),
            ["CREATE", "CALL", "CALLCODE", "DELEGATECALL", "CREATE2", "STATICCALL"]
        );
        assert_eq!(with(|i| i.observes_gas && !i.suspends), ["SSTORE", "GAS"]);
        assert_eq!(with(|i| i.memory_access > 0), ["MLOAD", "MSTORE", "MSTORE8"]);
        assert_eq!(info(MSTORE8).unwrap().memory_access, 1);
        assert_eq!(with(|i| i.observes_memory_size), ["MSIZE"]);
        // Everything that reads the code: the 32 PUSHes with an immediate, PC and the jumps.
        assert_eq!(with(|i| i.reads_code).len(), 35);
        assert!(!reads_code(PUSH0) && reads_code(PUSH31) && reads_code(PC));
        assert!(info(TSTORE).unwrap().may_halt && info(LOG0 + 2).unwrap().may_halt);
        assert!(!info(MSTORE).unwrap().may_halt, "out of gas is not what may_halt means");
    }

    #[test]
    fn osaka_opcode_count() {
        // 0x00..0x0b (12) + 0x10..0x1e (15) + KECCAK256 + 0x30..0x3f (16) + 0x40..0x4a (11)
        // + 0x50..0x5f (16) + PUSH/DUP/SWAP (64) + LOG (5) + 0xf0..0xf5 (6) + STATICCALL,
        // REVERT, INVALID, SELFDESTRUCT (4) = 150
        let n = (0..=255u8).filter(|&op| info_in(op, SpecId::Osaka).is_some()).count();
        assert_eq!(n, 150);
        let cancun = (0..=255u8).filter(|&op| info_in(op, SpecId::Cancun).is_some()).count();
        assert_eq!(cancun, 149, "CLZ is the only Osaka addition");
    }

    #[test]
    fn fork_gating() {
        assert!(info_in(CLZ, SpecId::Prague).is_none());
        assert!(info_in(CLZ, SpecId::Osaka).is_some());
        assert!(info_in(PUSH0, SpecId::Shanghai).is_some());
        assert!(info_in(PUSH0, SpecId::Paris).is_none());
        assert!(info_in(TLOAD, SpecId::Cancun).is_some());
        assert!(info_in(0x0c, SpecId::Osaka).is_none());
        assert!(info_in(0xef, SpecId::Osaka).is_none());
    }

    #[test]
    fn static_gas_by_fork() {
        use SpecId::*;
        let gas = |op, spec| info_in(op, spec).map(|i| i.static_gas);
        // EIP-150, EIP-1884, EIP-2929 (warm cost; the cold surcharge is dynamic).
        let balance = [Frontier, Homestead, TangerineWhistle, Petersburg, Istanbul, Berlin, Osaka]
            .map(|s| gas(BALANCE, s));
        assert_eq!(balance, [20, 20, 400, 400, 700, 100, 100].map(Some));
        let sload = [Frontier, TangerineWhistle, Istanbul, Berlin].map(|s| gas(SLOAD, s));
        assert_eq!(sload, [50, 200, 800, 100].map(Some));
        let call = [Frontier, TangerineWhistle, Berlin].map(|s| gas(CALL, s));
        assert_eq!(call, [40, 700, 100].map(Some));
        assert_eq!(
            [Homestead, TangerineWhistle].map(|s| gas(DELEGATECALL, s)),
            [40, 700].map(Some)
        );
        assert_eq!(gas(DELEGATECALL, Frontier), None);
        assert_eq!([Byzantium, Berlin].map(|s| gas(STATICCALL, s)), [700, 100].map(Some));
        let hash = [Petersburg, Istanbul, Berlin].map(|s| gas(EXTCODEHASH, s));
        assert_eq!(hash, [400, 700, 100].map(Some));
        assert_eq!(
            [Homestead, TangerineWhistle].map(|s| gas(SELFDESTRUCT, s)),
            [0, 5000].map(Some)
        );
        // Repricing never leaks backwards.
        assert_eq!(gas(EXTCODECOPY, Homestead), Some(20));
    }

    #[test]
    fn each_fork_adds_its_opcodes() {
        // Frontier: 0x00..0x0b (12), LT..BYTE (11), SHA3, 0x30..0x3c (13), 0x40..0x45 (6),
        // 0x50..0x5b (12), PUSH/DUP/SWAP (64), LOG (5), CREATE, CALL, CALLCODE, RETURN,
        // INVALID, SELFDESTRUCT = 130.
        let count = |spec| (0..=255u8).filter(|&op| info_in(op, spec).is_some()).count();
        let counts = SpecId::all().map(|s| (s.name(), count(s))).collect::<Vec<_>>();
        assert_eq!(
            counts,
            [
                ("Frontier", 130),
                ("Homestead", 131),
                ("EIP150", 131),
                ("EIP158", 131),
                ("Byzantium", 135),
                ("Constantinople", 140),
                ("ConstantinopleFix", 140),
                ("Istanbul", 142),
                ("Berlin", 142),
                ("London", 143),
                ("Paris", 143),
                ("Shanghai", 144),
                ("Cancun", 149),
                ("Prague", 149),
                ("Osaka", 150),
            ]
        );
        // `since` is the fork whose table first has the opcode.
        for op in 0..=255u8 {
            if let Some(i) = info(op) {
                let first = SpecId::all().find(|&s| info_in(op, s).is_some()).unwrap();
                assert_eq!(i.since, first, "{}", i.name);
            }
        }
        assert_eq!(info_in(PREVRANDAO, SpecId::London).unwrap().name, "DIFFICULTY");
        assert_eq!(info_in(PREVRANDAO, SpecId::Paris).unwrap().name, "PREVRANDAO");
    }

    #[test]
    fn stack_effects_and_gas() {
        let dup16 = info(DUP16).unwrap();
        assert_eq!((dup16.inputs, dup16.outputs), (16, 17));
        let swap16 = info(SWAP16).unwrap();
        assert_eq!((swap16.inputs, swap16.outputs), (17, 17));
        assert_eq!(info(LOG4).unwrap().static_gas, 1875);
        assert_eq!(info(PUSH32).unwrap().immediate, 32);
        assert_eq!(info(CALL).unwrap().inputs, 7);
        assert_eq!(info(STATICCALL).unwrap().inputs, 6);
        assert!(info(JUMP).unwrap().terminator);
        assert!(!info(JUMPI).unwrap().terminator);
        assert_eq!(static_gas_table(SpecId::Osaka)[EXP as usize], 10);
    }
}
