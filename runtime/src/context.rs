//! The execution context of one frame: the state that compiled code and the interpreter
//! share, and the ABI between them and the runtime.
//!
//! Native code receives `*mut Context` and reads the fields before `code` at offsets that
//! `std::mem::offset_of!` gives at compile time; AOT objects record [`ABI_VERSION`] and are
//! refused when it differs.

use crate::code::AnalyzedCode;
use crate::gas;
use crate::memory::Memory;
use crate::stack::Stack;
use alloy_primitives::{Address, Bytes, U256};
use std::sync::Arc;

/// Version of the [`Context`] layout, the builtin table and what native code may assume of
/// a frame. Bump on any change to them.
pub const ABI_VERSION: u32 = 12;

/// Native code runs only frames whose gas limit is at most this; larger ones (no real chain
/// comes near) run in the interpreter. Compiled code relies on it: a loop counter cannot
/// outgrow the gas spent on the loop, so bounded gas proves it fits 64 bits.
pub const MAX_NATIVE_GAS: u64 = 1 << 63;

/// Declares [`Status`] and [`Status::ALL`] from one list of its variants, so that the
/// conversion from the byte native code returns cannot miss one.
macro_rules! statuses {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident $(= $value:literal)?,)* }) => {
        $(#[$meta])*
        pub enum $name { $($(#[$vmeta])* $variant $(= $value)?,)* }

        impl $name {
            /// Every status, in the order of their values.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
        }
    };
}

statuses! {
/// How a frame (or one instruction) ended. `Continue` never leaves a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    Continue = 0,
    Stop,
    Return,
    Revert,
    SelfDestruct,
    /// A CALL* or CREATE* was requested; `Context::action` holds it. The frame resumes at
    /// `pc` once the runtime has run the callee.
    Suspend,
    OutOfGas,
    StackUnderflow,
    StackOverflow,
    InvalidJump,
    InvalidOpcode,
    StaticViolation,
    ReturnDataOutOfBounds,
    CreateInitCodeSizeLimit,
    /// Deployed code above the EIP-170 limit.
    CreateContractSizeLimit,
    /// Deployed code starting with 0xEF (EIP-3541).
    CreateContractStartingWithEF,
    /// A precompile rejected its input or ran out of gas.
    PrecompileFailure,
    /// The address a creation would use is taken (EIP-684, EIP-7610). Consumes the gas.
    CreateCollision,
    /// A call or create failed before its frame started: depth above 1024, the caller cannot
    /// pay the value, or its nonce is at 2^64-1. The gas comes back to the caller.
    CallTooDeep,
    OutOfFunds,
    NonceOverflow,
    /// The database failed; the transaction cannot be completed. The text is in the host.
    Fatal,
    /// Compiled code built in checked mode (`KILN_CHECKED=1`) found one of its own accesses
    /// outside the buffers the ABI gives it and stopped before making it: a compiler defect.
    /// The frame loop turns it into [`Status::Fatal`] with a message naming it.
    BoundsFault,
    /// Compiled code reached code it does not hold (a block no run had entered when it was
    /// compiled): it left the stack and the gas in the context and the byte offset to go on
    /// from in `pc`, and the frame continues in the interpreter.
    Interpret,
}
}

impl Status {
    /// STOP, RETURN and SELFDESTRUCT keep the frame's state changes.
    #[inline]
    pub fn is_success(self) -> bool {
        matches!(self, Status::Stop | Status::Return | Status::SelfDestruct)
    }

    /// An exceptional halt: all gas of the frame is consumed and its changes reverted.
    #[inline]
    pub fn is_halt(self) -> bool {
        !matches!(
            self,
            Status::Continue
                | Status::Stop
                | Status::Return
                | Status::Revert
                | Status::SelfDestruct
                | Status::Suspend
                | Status::Interpret
                | Status::CallTooDeep
                | Status::OutOfFunds
                | Status::NonceOverflow
        )
    }
}

/// The result type of every instruction and builtin: `Err` ends the frame (or suspends it).
pub type OpResult = Result<(), Status>;

/// Which CALL-family instruction made a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    Call,
    CallCode,
    DelegateCall,
    StaticCall,
}

/// A message call the runtime should run.
#[derive(Clone, Debug)]
pub struct CallInputs {
    pub kind: CallKind,
    /// The account whose code runs.
    pub code_address: Address,
    /// The account whose storage and balance the callee sees (`ADDRESS`).
    pub target: Address,
    pub caller: Address,
    /// `CALLVALUE` in the callee.
    pub value: U256,
    /// Whether `value` moves from `caller` to `target`.
    pub transfer: bool,
    pub input: Bytes,
    /// Gas for the callee, stipend included.
    pub gas_limit: u64,
    pub is_static: bool,
    /// Where the caller wants the output in its memory.
    pub return_offset: usize,
    pub return_len: usize,
}

/// How a CREATE address is derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateScheme {
    Create,
    Create2 { salt: U256 },
}

/// A contract creation the runtime should run.
#[derive(Clone, Debug)]
pub struct CreateInputs {
    pub caller: Address,
    pub scheme: CreateScheme,
    pub value: U256,
    pub init_code: Bytes,
    pub gas_limit: u64,
}

/// What a suspended frame asks for.
#[derive(Clone, Debug)]
pub enum Action {
    Call(Box<CallInputs>),
    Create(Box<CreateInputs>),
}

/// One frame's execution state.
#[repr(C)]
pub struct Context {
    // ---- ABI: native code reads and writes these directly. ----
    /// Gas left in this frame.
    pub gas: u64,
    /// EIP-3529 refund counter of this frame (may go negative before children merge in).
    pub refund: i64,
    pub stack: Stack,
    pub memory: Memory,
    /// Interpreter: byte offset of the next instruction. Compiled code: resume point index.
    pub pc: usize,
    pub builtins: *const crate::builtins::BuiltinTable,
    /// The running code's JUMPDEST bitmap, per-word ranks and length: how native code turns
    /// a dynamic jump target into a block index without calling out.
    pub jump_bits: *const u64,
    pub jump_ranks: *const u32,
    pub code_len: usize,
    /// The call data (`input`, which is immutable for the frame's lifetime): CALLDATALOAD
    /// and CALLDATASIZE read it without calling out.
    pub input_ptr: *const u8,
    pub input_len: usize,
    pub is_static: bool,
    /// The [`Status`] the last builtin call left (see [`crate::builtins::BuiltinTable`]).
    pub builtin_status: u8,
    // ---- Runtime only. ----
    pub gas_limit: u64,
    pub code: Arc<AnalyzedCode>,
    pub input: Bytes,
    /// `ADDRESS`: whose storage this frame uses.
    pub address: Address,
    pub caller: Address,
    pub value: U256,
    pub depth: usize,
    /// Output of the last finished sub-call (`RETURNDATASIZE`).
    pub return_data: Bytes,
    /// Output of this frame (RETURN/REVERT data).
    pub output: Bytes,
    /// Set together with [`Status::Suspend`].
    pub action: Option<Action>,
    /// Where the interpreter records the blocks it enters ([`AnalyzedCode::coverage`] of
    /// `code`, which keeps it alive), or null when nobody asked.
    pub coverage: *const std::sync::atomic::AtomicU64,
}

impl Context {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        code: Arc<AnalyzedCode>,
        input: Bytes,
        address: Address,
        caller: Address,
        value: U256,
        gas_limit: u64,
        is_static: bool,
        depth: usize,
    ) -> Self {
        let (input_ptr, input_len) = (input.as_ptr(), input.len());
        Self {
            gas: gas_limit,
            refund: 0,
            stack: Stack::new(),
            memory: Memory::new(),
            pc: 0,
            builtins: &crate::builtins::BUILTINS,
            jump_bits: code.jumps().bits().as_ptr(),
            jump_ranks: code.jumps().ranks().as_ptr(),
            code_len: code.len(),
            input_ptr,
            input_len,
            is_static,
            builtin_status: 0,
            gas_limit,
            code,
            input,
            address,
            caller,
            value,
            depth,
            return_data: Bytes::new(),
            output: Bytes::new(),
            action: None,
            coverage: std::ptr::null(),
        }
    }

    /// Charges `amount` gas.
    #[inline(always)]
    pub fn spend(&mut self, amount: u64) -> OpResult {
        if self.gas < amount {
            return Err(Status::OutOfGas);
        }
        self.gas -= amount;
        Ok(())
    }

    /// Makes `[offset, offset+len)` addressable, charging expansion gas, and returns the
    /// range as host integers. A zero length touches nothing, whatever the offset.
    #[inline]
    pub fn memory_range(&mut self, offset: U256, len: U256) -> Result<(usize, usize), Status> {
        self.memory.range(&mut self.gas, offset, len)
    }

    /// Charges the per-word cost of copying `len` bytes.
    #[inline]
    pub fn spend_copy(&mut self, len: usize, per_word: u64) -> OpResult {
        self.spend(per_word * gas::words(len as u64))
    }

    /// Whether the frame records the blocks it enters ([`Context::cover`]).
    #[inline(always)]
    pub fn records_coverage(&self) -> bool {
        !self.coverage.is_null()
    }

    /// Records that a run entered the block starting at `pc` (at most the code's length), if
    /// the frame records coverage. Out of line, and the interpreter tests
    /// [`Context::records_coverage`] before it computes `pc` (two dependent loads through the
    /// code's `Arc`): a loop that never records pays one test per JUMPDEST and JUMPI
    /// fall-through.
    #[cold]
    #[inline(never)]
    pub fn cover(&self, pc: usize) {
        if self.coverage.is_null() {
            return;
        }
        debug_assert!(pc <= self.code.len());
        // SAFETY: `coverage` is non-null only as the coverage of `self.code`, which the
        // context keeps alive, and which has a bit for every offset up to the code's length.
        let word = unsafe { &*self.coverage.add(pc / 64) };
        let bit = 1u64 << (pc % 64);
        if word.load(std::sync::atomic::Ordering::Relaxed) & bit == 0 {
            word.fetch_or(bit, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[inline]
    pub fn spend_refund(&mut self, amount: i64) {
        self.refund += amount;
    }
}

/// Byte offsets of the ABI fields, for code generation.
pub mod offsets {
    use super::Context;
    use std::mem::offset_of;

    pub const GAS: i32 = offset_of!(Context, gas) as i32;
    pub const REFUND: i32 = offset_of!(Context, refund) as i32;
    pub const STACK_PTR: i32 =
        (offset_of!(Context, stack) + crate::stack::Stack::PTR_OFFSET) as i32;
    pub const STACK_LEN: i32 =
        (offset_of!(Context, stack) + crate::stack::Stack::LEN_OFFSET) as i32;
    pub const MEMORY_PTR: i32 =
        (offset_of!(Context, memory) + crate::memory::Memory::PTR_OFFSET) as i32;
    pub const MEMORY_LEN: i32 =
        (offset_of!(Context, memory) + crate::memory::Memory::LEN_OFFSET) as i32;
    pub const MEMORY_LIMIT: i32 =
        (offset_of!(Context, memory) + crate::memory::Memory::LIMIT_OFFSET) as i32;
    pub const PC: i32 = offset_of!(Context, pc) as i32;
    pub const BUILTINS: i32 = offset_of!(Context, builtins) as i32;
    pub const JUMP_BITS: i32 = offset_of!(Context, jump_bits) as i32;
    pub const JUMP_RANKS: i32 = offset_of!(Context, jump_ranks) as i32;
    pub const CODE_LEN: i32 = offset_of!(Context, code_len) as i32;
    pub const INPUT_PTR: i32 = offset_of!(Context, input_ptr) as i32;
    pub const INPUT_LEN: i32 = offset_of!(Context, input_len) as i32;
    pub const BUILTIN_STATUS: i32 = offset_of!(Context, builtin_status) as i32;
}

/// What a finished frame hands back to its parent (or to the transaction).
#[derive(Clone, Debug)]
pub struct FrameResult {
    pub status: Status,
    pub gas_remaining: u64,
    pub refund: i64,
    pub output: Bytes,
    /// The new contract's address, for a successful creation.
    pub created: Option<Address>,
}

impl FrameResult {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

/// A `U256` as a `u64`, saturating: for values that are compared against limits below 2^64.
#[inline(always)]
pub fn saturating_u64(v: U256) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}
