//! The builtin table: how native code calls back into the runtime.
//!
//! Compiled code never calls runtime functions by symbol: it loads `Context::builtins` and
//! calls through this table, so an AOT shared object needs no symbols from the host binary.
//! The table's layout is part of the ABI ([`ABI_VERSION`]).

use crate::code::AnalyzedCode;
use crate::context::{Context, Status, ABI_VERSION};
use crate::host::Host;
use crate::instructions::{arithmetic, system};
use crate::interpreter;
use crate::memory::MAX_ACCESS_SPAN;
use alloy_primitives::U256;
use kiln_frontend::{opcode as op, SpecId};
use std::ffi::c_void;
use std::sync::Arc;

/// A compiled contract: runs (or resumes, at `ctx.pc`) one frame and returns a [`Status`] as
/// its `u8` discriminant. `host` is a `*mut Host`.
pub type NativeFn = unsafe extern "C" fn(ctx: *mut Context, host: *mut c_void) -> u8;

/// How native code passes a builtin's parameter: code generation builds each builtin's
/// signature from these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiType {
    /// A pointer (64 bits).
    Ptr,
    U32,
    U64,
}

/// Declares every builtin once: from one list come the table's fields (in ABI order), the
/// [`Builtin`] names with their offsets in the table and their parameters (what code
/// generation builds signatures and calls from), the register-preserving entries on x86-64
/// and the table itself. The revmc `builtins!` list is the model.
macro_rules! builtins {
    ($(
        $(#[$doc:meta])*
        $name:ident / $variant:ident ($($arg:ident: $ty:ty => $abi:ident),*);
    )*) => {
        /// Native code's way back into the runtime. Entries return nothing: on x86-64 they
        /// preserve every register (Cranelift's `preserve_all`), and Cranelift's verifier
        /// refuses `preserve_all` signatures with return values (a debug build, where the
        /// verifier runs, could compile nothing). Each leaves its status, if it has one, in
        /// `Context::builtin_status`.
        #[repr(C)]
        pub struct BuiltinTable {
            pub abi_version: u32,
            $($(#[$doc])* pub $name: unsafe extern "C" fn($($ty),*),)*
        }

        /// One entry of the [`BuiltinTable`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Builtin {
            $($(#[$doc])* $variant,)*
        }

        impl Builtin {
            pub const ALL: &'static [Builtin] = &[$(Builtin::$variant,)*];

            /// Byte offset of the entry in the table.
            pub const fn offset(self) -> i32 {
                match self {
                    $(Builtin::$variant => std::mem::offset_of!(BuiltinTable, $name) as i32,)*
                }
            }

            /// The entry's parameters, in order.
            pub const fn params(self) -> &'static [AbiType] {
                match self {
                    $(Builtin::$variant => &[$(AbiType::$abi),*],)*
                }
            }

            pub const fn name(self) -> &'static str {
                match self {
                    $(Builtin::$variant => stringify!($name),)*
                }
            }
        }

        /// Entry points that save the C convention's caller-saved general-purpose registers
        /// around the builtin, so that a call from compiled code clobbers nothing but its
        /// result register. Without them every runtime call (a storage read, a division's
        /// slow path, memory growth) forces the register allocator to spill the live stack
        /// slots around it, on the hot path too. Vector registers are not saved: compiled EVM
        /// code holds no float or vector values.
        #[cfg(target_arch = "x86_64")]
        mod preserving {
            #[allow(unused_imports)]
            use super::{c_void, Context};
            $(preserving!($name, super::$name, ($($arg: $ty),*));)*
        }

        /// The one table, shared by every frame. On x86-64 its entries preserve every
        /// general-purpose register (see `preserving`), so compiled code keeps its values in
        /// registers across them.
        #[cfg(target_arch = "x86_64")]
        pub static BUILTINS: BuiltinTable =
            BuiltinTable { abi_version: ABI_VERSION, $($name: preserving::$name,)* };

        #[cfg(not(target_arch = "x86_64"))]
        pub static BUILTINS: BuiltinTable = BuiltinTable { abi_version: ABI_VERSION, $($name,)* };
    };
}

#[cfg(target_arch = "x86_64")]
macro_rules! preserving {
    ($name:ident, $target:path, ($($arg:ident: $ty:ty),*)) => {
        /// The builtin of the same name, preserving every general-purpose register.
        #[unsafe(naked)]
        pub unsafe extern "C" fn $name($($arg: $ty),*) {
            // Nine pushes after the return address leave the stack at the 16-byte alignment
            // the C convention wants at a call.
            core::arch::naked_asm!(
                "push rax",
                "push rcx",
                "push rdx",
                "push rsi",
                "push rdi",
                "push r8",
                "push r9",
                "push r10",
                "push r11",
                "call {target}",
                "pop r11",
                "pop r10",
                "pop r9",
                "pop r8",
                "pop rdi",
                "pop rsi",
                "pop rdx",
                "pop rcx",
                "pop rax",
                "ret",
                target = sym $target,
            )
        }
    };
}

builtins! {
    /// Executes one instruction (`opcode`) whose static gas and stack bounds the caller has
    /// already checked; operands are on `ctx.stack`, results are pushed there. `host` is a
    /// `*mut Host`.
    exec_op / ExecOp(ctx: *mut Context => Ptr, host: *mut c_void => Ptr, opcode: u32 => U32);
    /// Grows memory so that the `width` bytes (1 to [`MAX_ACCESS_SPAN`]) at `offset` are
    /// addressable, charging the expansion to `ctx.gas`: the memory growth of an MLOAD, MSTORE
    /// or MSTORE8 (or of a group of them at constant distances, `codegen`'s `memory_checks`)
    /// whose inline bounds check failed. `offset` is the low limb of the operand; `high` is
    /// non-zero when any higher limb is. The status is `Continue` when the access may go
    /// ahead.
    memory_expand / MemoryExpand(
        ctx: *mut Context => Ptr,
        offset: u64 => U64,
        high: u64 => U64,
        width: u64 => U64
    );
    /// DIV, SDIV, MOD or SMOD (`opcode`) of the two words at `words` (the dividend first, each
    /// four little-endian limbs); the result replaces the dividend. Division touches no frame
    /// state, so native code calls this with its operands in a scratch slot instead of going
    /// through the EVM stack and `exec_op`. It cannot fail; compiled code passes only those
    /// four opcodes (any other gives zero).
    divide / Divide(words: *mut [u64; 8] => Ptr, opcode: u32 => U32);
    /// KECCAK256 of the memory range whose offset and length are the two words at `words`
    /// (the offset first, each four little-endian limbs): charges the memory expansion and
    /// the per-word gas to `ctx.gas` and leaves the hash in the first four limbs. Hashing
    /// touches no stack, so native code passes the operands in a scratch slot instead of
    /// going through the EVM stack and `exec_op`'s dispatch. The status is `Continue` when
    /// the hash is there.
    keccak256 / Keccak256(ctx: *mut Context => Ptr, words: *mut [u64; 8] => Ptr);
}

/// Whether the builtin table's entries preserve all general-purpose registers (Cranelift's
/// `preserve_all` convention at the call site) rather than following the C convention.
pub const BUILTINS_PRESERVE_ALL: bool = cfg!(target_arch = "x86_64");

/// The two words native code stored in a builtin's scratch slot of eight limbs.
///
/// Native code has just stored the limbs one by one: reading them back as wider vector loads
/// (what the compiler would merge plain reads into) misses store forwarding, which measured
/// at nearly half of `divide`'s time. Volatile reads stay one per limb.
///
/// # Safety
/// `words` is a scratch slot of eight limbs native code owns for the call.
unsafe fn read_scratch(words: *const [u64; 8]) -> ([u64; 4], [u64; 4]) {
    // SAFETY: the caller's contract; each read stays inside the eight limbs.
    let limb = |i: usize| unsafe { std::ptr::read_volatile((words as *const u64).add(i)) };
    ([limb(0), limb(1), limb(2), limb(3)], [limb(4), limb(5), limb(6), limb(7)])
}

/// Leaves a builtin's result word in the first four limbs of its scratch slot.
///
/// # Safety
/// As for [`read_scratch`], whose reads are done.
unsafe fn write_scratch(words: *mut [u64; 8], result: &[u64; 4]) {
    // SAFETY: the caller's contract.
    unsafe { (&mut *words)[..4].copy_from_slice(result) };
}

unsafe extern "C" fn divide(words: *mut [u64; 8], opcode: u32) {
    // SAFETY: native code passes a scratch slot of eight limbs it owns for the call.
    let (a, b) = unsafe { read_scratch(words) };
    let r = u8::try_from(opcode).ok().and_then(|op| arithmetic::divide_limbs(op, a, b));
    // SAFETY: as above.
    unsafe { write_scratch(words, &r.unwrap_or_default()) };
}

unsafe extern "C" fn keccak256(ctx: *mut Context, words: *mut [u64; 8]) {
    // SAFETY: native code passes the context the frame loop gave it, live and exclusively
    // borrowed for the duration of the native call, and a scratch slot of eight limbs it
    // owns for the call.
    let (ctx, (offset, len)) = unsafe { (&mut *ctx, read_scratch(words)) };
    let (offset, len) = (U256::from_limbs(offset), U256::from_limbs(len));
    let status = match system::keccak_word(ctx, offset, len) {
        Ok(hash) => {
            // SAFETY: as above.
            unsafe { write_scratch(words, hash.as_limbs()) };
            Status::Continue
        }
        Err(status) => status,
    };
    ctx.builtin_status = status as u8;
}

unsafe extern "C" fn memory_expand(ctx: *mut Context, offset: u64, high: u64, width: u64) {
    // SAFETY: native code passes the context the frame loop gave it, live and exclusively
    // borrowed for the duration of the native call.
    let ctx = unsafe { &mut *ctx };
    ctx.builtin_status = memory_expand_status(ctx, offset, high, width) as u8;
}

fn memory_expand_status(ctx: &mut Context, offset: u64, high: u64, width: u64) -> Status {
    if high != 0 || !(1..=MAX_ACCESS_SPAN).contains(&width) {
        // An offset of 2^64 or more: the expansion costs more gas than there can be.
        return Status::OutOfGas;
    }
    let Context { gas, memory, .. } = ctx;
    match memory.range_fixed(gas, alloy_primitives::U256::from(offset), width) {
        Ok(_) => Status::Continue,
        Err(status) => status,
    }
}

unsafe extern "C" fn exec_op(ctx: *mut Context, host: *mut c_void, opcode: u32) {
    // SAFETY: native code passes the context and host the frame loop gave it, both live and
    // exclusively borrowed for the duration of the native call.
    let (ctx, host) = unsafe { (&mut *ctx, &mut *(host as *mut Host<'_>)) };
    ctx.builtin_status = exec_op_status(ctx, host, opcode) as u8;
}

fn exec_op_status(ctx: &mut Context, host: &mut Host, opcode: u32) -> Status {
    let Ok(opcode) = u8::try_from(opcode) else { return Status::InvalidOpcode };
    // Instructions that read the code or move the program counter are always compiled inline;
    // refusing them here keeps a wrong caller from corrupting the frame.
    if op::reads_code(opcode) {
        return Status::InvalidOpcode;
    }
    match interpreter::execute(ctx, host, opcode, 0, &[]) {
        Ok(()) => Status::Continue,
        Err(status) => status,
    }
}

impl Status {
    /// The status a native function returned, if it is one.
    pub fn from_u8(raw: u8) -> Option<Status> {
        Status::ALL.get(raw as usize).copied().filter(|s| *s as u8 == raw)
    }
}

/// Where the frame loop finds native code: a JIT compiler, an AOT library, or a tier policy.
/// Returning `None` runs the interpreter.
pub trait NativeCode {
    fn lookup(&mut self, code: &Arc<AnalyzedCode>, spec: SpecId) -> Option<NativeFn>;

    /// A frame of `code` finished, having used `gas_used` (its calls' included), in native
    /// code from [`NativeCode::lookup`] or in the interpreter: what a tier policy weighs
    /// besides counting executions, since one execution of a loop can outweigh thousands of
    /// a token transfer.
    fn finished(&mut self, _code: &AnalyzedCode, _spec: SpecId, _gas_used: u64, _native: bool) {}

    /// Whether interpreted frames should record the blocks they enter
    /// ([`AnalyzedCode::coverage`]): a provider that compiles only what ran wants to know.
    fn records_coverage(&self) -> bool {
        false
    }

    /// A frame of `code` left compiled code for the interpreter ([`Status::Interpret`]):
    /// the unit lacks a block that runs, and a provider may compile it again with more.
    fn left_native(&mut self, _code: &AnalyzedCode, _spec: SpecId) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_has_its_own_slot_in_the_table() {
        let size = std::mem::size_of::<BuiltinTable>() as i32;
        let mut offsets: Vec<i32> = Builtin::ALL.iter().map(|b| b.offset()).collect();
        offsets.dedup();
        assert_eq!(offsets.len(), Builtin::ALL.len());
        for (b, &o) in Builtin::ALL.iter().zip(&offsets) {
            assert!(o >= 8 && o % 8 == 0 && o + 8 <= size, "{}", b.name());
        }
        assert_eq!(Builtin::Divide.params(), [AbiType::Ptr, AbiType::U32]);
    }

    #[test]
    fn status_round_trips_through_u8() {
        for raw in 0..=255u8 {
            if let Some(s) = Status::from_u8(raw) {
                assert_eq!(s as u8, raw);
            }
        }
        assert_eq!(Status::from_u8(Status::Fatal as u8), Some(Status::Fatal));
        // Every variant, the last one included, comes back from its byte.
        assert_eq!((0..=255u8).filter_map(Status::from_u8).count(), Status::ALL.len());
        assert_eq!(Status::from_u8(Status::BoundsFault as u8), Some(Status::BoundsFault));
        assert_eq!(Status::from_u8(200), None);
    }
}
