//! The call/create frame loop. Frames live on a heap-allocated stack: a CALL suspends its
//! frame, the loop runs the callee, then resumes the caller, so a 1024-deep call chain never
//! deepens the native stack.

use crate::builtins::NativeFn;
use crate::code::AnalyzedCode;
use crate::context::{
    Action, CallInputs, Context, CreateInputs, CreateScheme, FrameResult, Status, MAX_NATIVE_GAS,
};
use crate::gas;
use crate::host::Host;
use crate::interpreter::{self, Tracer};
use crate::journal::Checkpoint;
use crate::precompiles::PrecompileOutcome;
use alloy_primitives::{Address, Bytes, B256, KECCAK256_EMPTY, U256};
use smallvec::SmallVec;
use std::sync::Arc;

/// What a frame is running.
enum Kind {
    Call,
    Create { address: Address },
}

/// What a suspended frame waits for, and where it wants the result.
enum Awaiting {
    Call { return_offset: usize, return_len: usize },
    Create,
}

struct Frame {
    ctx: Box<Context>,
    native: Option<NativeFn>,
    checkpoint: Checkpoint,
    kind: Kind,
    awaiting: Awaiting,
}

/// Runs a message to completion, including every nested call.
pub fn execute<T: Tracer>(
    host: &mut Host,
    first: Action,
    tx_level_create: bool,
    tracer: &mut T,
) -> FrameResult {
    // Most transactions nest a few frames: held inline, the frame stack costs no allocation.
    let mut frames: SmallVec<[Frame; 4]> = SmallVec::new();
    if T::ENABLED {
        tracer.call(&first, 0);
    }
    let started = match first {
        Action::Call(mut inputs) => start_call(host, &mut inputs, 0),
        Action::Create(inputs) => start_create(host, &inputs, 0, tx_level_create),
    };
    let mut pending: Option<FrameResult> = match started {
        Ok(frame) => {
            frames.push(frame);
            None
        }
        Err(result) => {
            if T::ENABLED {
                tracer.call_end(&result);
            }
            return result;
        }
    };
    loop {
        if let Some(result) = pending.take() {
            if T::ENABLED {
                tracer.call_end(&result);
            }
            let Some(parent) = frames.last_mut() else { return result };
            if result.status == Status::Fatal {
                return result;
            }
            resume(parent, result);
        }
        let frame = frames.last_mut().expect("a frame is running");
        let status = match frame.native {
            Some(f) => run_native(f, &mut frame.ctx, host),
            None => interpreter::run(&mut frame.ctx, host, tracer),
        };
        if status == Status::Interpret {
            // Compiled code left at a block it does not hold, its stack and gas in the
            // context: the interpreter goes on from `pc`, for the rest of the frame.
            frame.native = None;
            if frame.ctx.pc > frame.ctx.code.len() {
                host.fatal = Some(format!(
                    "compiled code left for the interpreter at {} past the code's end {}",
                    frame.ctx.pc,
                    frame.ctx.code.len()
                ));
                let frame = frames.pop().expect("a frame is running");
                pending = Some(finish(host, frame, Status::Fatal));
                continue;
            }
            // The block starts here, and the instruction that led to it ran natively: record
            // it (a JUMPI's fall-through is recorded by the interpreter's JUMPI alone).
            frame.ctx.cover(frame.ctx.pc);
            if let Some(n) = host.native.as_mut() {
                n.left_native(&frame.ctx.code, host.spec);
            }
            continue;
        }
        if status == Status::Suspend {
            let action = frame.ctx.action.take().expect("suspended frames carry an action");
            let depth = frame.ctx.depth + 1;
            if T::ENABLED {
                tracer.call(&action, depth);
            }
            let started = match action {
                Action::Call(mut inputs) => {
                    frame.awaiting = Awaiting::Call {
                        return_offset: inputs.return_offset,
                        return_len: inputs.return_len,
                    };
                    start_call(host, &mut inputs, depth)
                }
                Action::Create(inputs) => {
                    frame.awaiting = Awaiting::Create;
                    start_create(host, &inputs, depth, false)
                }
            };
            match started {
                Ok(child) => frames.push(child),
                Err(result) => pending = Some(result),
            }
            continue;
        }
        let frame = frames.pop().expect("a frame is running");
        pending = Some(finish(host, frame, status));
    }
}

impl Frame {
    /// A frame about to run its first instruction, in native code if the host has it.
    fn start(host: &mut Host, mut ctx: Context, checkpoint: Checkpoint, kind: Kind) -> Frame {
        let native = native_for(host, &ctx.code, ctx.gas_limit);
        if host.native.as_ref().is_some_and(|n| n.records_coverage()) {
            ctx.coverage = ctx.code.coverage().as_ptr();
        }
        // `awaiting` is only read once the frame suspends, which sets it.
        Frame { ctx: Box::new(ctx), native, checkpoint, kind, awaiting: Awaiting::Create }
    }
}

fn native_for(host: &mut Host, code: &Arc<AnalyzedCode>, gas_limit: u64) -> Option<NativeFn> {
    if gas_limit > MAX_NATIVE_GAS {
        return None;
    }
    let spec = host.spec;
    host.native.as_mut().and_then(|n| n.lookup(code, spec))
}

/// Runs (or resumes) a frame in native code.
fn run_native(f: NativeFn, ctx: &mut Context, host: &mut Host) -> Status {
    // SAFETY: `f` was produced for this ABI version by a `NativeCode` provider; it receives
    // the live, exclusively borrowed context and host, and only touches them through the ABI
    // fields and the builtin table.
    let raw = unsafe { f(ctx, host as *mut Host<'_> as *mut std::ffi::c_void) };
    match Status::from_u8(raw) {
        Some(Status::BoundsFault) => {
            host.native_fault = true;
            host.fatal = Some(BOUNDS_FAULT.to_string());
            Status::Fatal
        }
        Some(status) => status,
        None => {
            host.fatal = Some(format!("native code returned an unknown status {raw}"));
            Status::Fatal
        }
    }
}

/// The fatal error of a frame whose compiled code stopped at a failed bounds assertion.
pub const BOUNDS_FAULT: &str = "compiled code (checked mode) stopped before an access outside \
     its stack, memory or context buffers: a compiler defect";

fn early_failure(status: Status, gas: u64) -> FrameResult {
    FrameResult { status, gas_remaining: gas, refund: 0, output: Bytes::new(), created: None }
}

fn fatal(host: &mut Host, err: crate::db::DbError) -> FrameResult {
    host.fail(err);
    early_failure(Status::Fatal, 0)
}

macro_rules! db {
    ($host:ident, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(err) => return Err(fatal($host, err)),
        }
    };
}

/// Every precompile sits below address 2^16: addresses with a non-zero byte among the first
/// 18 are rejected without asking the precompile set.
#[inline(always)]
fn may_be_precompile(address: &Address) -> bool {
    address.0[..18] == [0; 18]
}

/// Starts a call frame; takes the call data out of `inputs`.
fn start_call(
    host: &mut Host,
    inputs: &mut CallInputs,
    depth: usize,
) -> Result<Frame, FrameResult> {
    if depth > gas::CALL_DEPTH_LIMIT {
        return Err(early_failure(Status::CallTooDeep, inputs.gas_limit));
    }
    let checkpoint = host.journal.checkpoint();
    let value = if inputs.transfer { inputs.value } else { U256::ZERO };
    if !db!(host, host.journal.transfer(inputs.caller, inputs.target, value)) {
        return Err(early_failure(Status::OutOfFunds, inputs.gas_limit));
    }
    if may_be_precompile(&inputs.code_address) && host.precompiles.contains(&inputs.code_address) {
        let outcome = host.precompiles.run(&inputs.code_address, &inputs.input, inputs.gas_limit);
        return Err(match outcome {
            Ok(PrecompileOutcome::Success { gas_used, output }) => FrameResult {
                status: Status::Return,
                gas_remaining: inputs.gas_limit - gas_used,
                refund: 0,
                output,
                created: None,
            },
            Ok(PrecompileOutcome::Failure) => {
                host.journal.revert(checkpoint);
                early_failure(Status::PrecompileFailure, 0)
            }
            Err(msg) => {
                host.fatal = Some(msg);
                early_failure(Status::Fatal, 0)
            }
        });
    }
    let (code, _) = db!(host, host.code_to_run(inputs.code_address));
    if code.is_empty() {
        return Err(early_failure(Status::Stop, inputs.gas_limit));
    }
    let ctx = Context::new(
        code,
        std::mem::take(&mut inputs.input),
        inputs.target,
        inputs.caller,
        inputs.value,
        inputs.gas_limit,
        inputs.is_static,
        depth,
    );
    Ok(Frame::start(host, ctx, checkpoint, Kind::Call))
}

/// The address a creation will use, given the creator's nonce before the creation.
pub fn create_address(
    caller: Address,
    scheme: CreateScheme,
    nonce: u64,
    init_code: &[u8],
) -> Address {
    match scheme {
        CreateScheme::Create => caller.create(nonce),
        CreateScheme::Create2 { salt } => caller.create2_from_code(B256::from(salt), init_code),
    }
}

fn start_create(
    host: &mut Host,
    inputs: &CreateInputs,
    depth: usize,
    tx_level: bool,
) -> Result<Frame, FrameResult> {
    let caller = inputs.caller;
    let nonce = db!(host, host.journal.load(caller)).info.nonce;
    let creator_nonce = if tx_level {
        // The transaction already bumped the sender's nonce.
        nonce.wrapping_sub(1)
    } else {
        if depth > gas::CALL_DEPTH_LIMIT {
            return Err(early_failure(Status::CallTooDeep, inputs.gas_limit));
        }
        if db!(host, host.journal.balance(caller)) < inputs.value {
            return Err(early_failure(Status::OutOfFunds, inputs.gas_limit));
        }
        if nonce == u64::MAX {
            return Err(early_failure(Status::NonceOverflow, inputs.gas_limit));
        }
        db!(host, host.journal.set_nonce(caller, nonce + 1));
        nonce
    };
    let address = create_address(caller, inputs.scheme, creator_nonce, &inputs.init_code);
    db!(host, host.journal.load_warm(address));
    let target = db!(host, host.journal.load(address));
    let collision = target.info.nonce != 0 || target.info.code_hash != KECCAK256_EMPTY;
    if collision || db!(host, host.journal.has_db_storage(address)) {
        return Err(early_failure(Status::CreateCollision, 0));
    }
    let checkpoint = host.journal.checkpoint();
    db!(host, host.journal.mark_created(address));
    if host.rules.state_clearing {
        // EIP-161: a new contract starts with nonce 1.
        db!(host, host.journal.set_nonce(address, 1));
    }
    if !db!(host, host.journal.transfer(caller, address, inputs.value)) {
        host.journal.revert(checkpoint);
        return Err(early_failure(Status::OutOfFunds, inputs.gas_limit));
    }
    let code = Arc::new(AnalyzedCode::new(inputs.init_code.clone(), B256::ZERO));
    let ctx = Context::new(
        code,
        Bytes::new(),
        address,
        caller,
        inputs.value,
        inputs.gas_limit,
        false,
        depth,
    );
    Ok(Frame::start(host, ctx, checkpoint, Kind::Create { address }))
}

/// Ends a frame: keeps or reverts its changes and, for a creation, deploys the code.
fn finish(host: &mut Host, frame: Frame, status: Status) -> FrameResult {
    // The context stays in its box: moved out whole, its ~400 bytes were copied.
    let Frame { mut ctx, checkpoint, kind, native, .. } = frame;
    if let Some(n) = host.native.as_mut() {
        n.finished(&ctx.code, host.spec, ctx.gas_limit.saturating_sub(ctx.gas), native.is_some());
    }
    if status == Status::Fatal {
        return early_failure(Status::Fatal, 0);
    }
    if status.is_success() {
        if let Kind::Create { address } = kind {
            let mut code = std::mem::take(&mut ctx.output);
            let deposit = gas::CODE_DEPOSIT_BYTE * code.len() as u64;
            let rules = host.rules;
            let failure = if rules.reject_ef_code && code.first() == Some(&0xef) {
                Some(Status::CreateContractStartingWithEF)
            } else if code.len() > rules.max_code_size {
                Some(Status::CreateContractSizeLimit)
            } else if ctx.gas < deposit && rules.failed_deposit_halts {
                Some(Status::OutOfGas)
            } else {
                None
            };
            if let Some(halt) = failure {
                host.journal.revert(checkpoint);
                return early_failure(halt, 0);
            }
            if ctx.gas < deposit {
                // Frontier: the creation succeeds, without code, and keeps its gas.
                code = Bytes::new();
            } else {
                ctx.gas -= deposit;
            }
            if let Err(err) = host.journal.set_code(address, code) {
                return fatal(host, err);
            }
            return FrameResult {
                status,
                gas_remaining: ctx.gas,
                refund: ctx.refund,
                output: Bytes::new(),
                created: Some(address),
            };
        }
        return FrameResult {
            status,
            gas_remaining: ctx.gas,
            refund: ctx.refund,
            output: std::mem::take(&mut ctx.output),
            created: None,
        };
    }
    host.journal.revert(checkpoint);
    if status == Status::Revert {
        return FrameResult {
            status,
            gas_remaining: ctx.gas,
            refund: 0,
            output: std::mem::take(&mut ctx.output),
            created: None,
        };
    }
    early_failure(status, 0)
}

/// Hands a child's result to its suspended parent: gas, refund, return data, memory, and the
/// success flag or address on the stack.
fn resume(parent: &mut Frame, result: FrameResult) {
    let ctx = &mut parent.ctx;
    ctx.gas += result.gas_remaining;
    let success = result.is_success();
    if success {
        ctx.refund += result.refund;
    }
    match parent.awaiting {
        Awaiting::Call { return_offset, return_len } => {
            let n = return_len.min(result.output.len());
            if n > 0 {
                ctx.memory.slice_mut(return_offset, n).copy_from_slice(&result.output[..n]);
            }
            ctx.return_data = result.output;
            ctx.stack.push(U256::from(success as u64));
        }
        Awaiting::Create => {
            ctx.return_data =
                if result.status == Status::Revert { result.output } else { Bytes::new() };
            let word = match result.created {
                Some(address) if success => address.into_word().into(),
                _ => U256::ZERO,
            };
            ctx.stack.push(word);
        }
    }
}
