//! EIP-3155 JSON traces: one line per instruction, and the summary line that ends a trace.
//!
//! A line is written once its instruction has run, so that `gasCost` is what the instruction
//! really cost: the gas before it minus the gas after it (for CALL* and CREATE* that includes
//! the gas handed to the callee, whose lines follow the caller's). An instruction that fails
//! gets a line too, with `error`. See `docs/traces.md` for each field and how the lines
//! compare with revm's tracer.

use crate::context::{Context, Status};
use crate::interpreter::Tracer;
use alloy_primitives::{hex, B256};
use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

/// What `step` saw of an instruction, until its cost is known.
struct Pending {
    pc: usize,
    op: u8,
    gas: u64,
    mem_size: usize,
    /// Already formatted: the stack changes as the instruction runs.
    stack: String,
    depth: usize,
    return_data: String,
    refund: u64,
}

/// Writes an EIP-3155 trace line for every instruction the interpreter attempts to `out`.
pub struct JsonTracer<W: Write> {
    out: W,
    /// The first write error; tracing stops there and the caller can report it.
    pub error: Option<std::io::Error>,
    pending: Option<Pending>,
    /// The refund counter of each frame on the call stack as of its last step, by depth. A
    /// frame's counter only reaches its parent when it returns; the EIP's `refund` is the
    /// transaction's, so a line shows the sum over the frames that are running.
    frame_refunds: Vec<i64>,
    line: String,
}

impl<W: Write> JsonTracer<W> {
    pub fn new(out: W) -> Self {
        Self { out, error: None, pending: None, frame_refunds: Vec::new(), line: String::new() }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes one line (the summary, say) after the trace, unless writing already failed.
    pub fn write_line(&mut self, line: &str) {
        if self.error.is_none() {
            if let Err(e) = writeln!(self.out, "{line}") {
                self.error = Some(e);
            }
        }
    }

    /// Writes the pending line, which cost `gas - gas_after`.
    fn flush_pending(&mut self, gas_after: u64, error: Option<Status>) {
        let Some(p) = self.pending.take() else { return };
        if self.error.is_some() {
            return;
        }
        let line = &mut self.line;
        line.clear();
        // Writing to a String cannot fail.
        let _ = write!(
            line,
            "{{\"pc\":{},\"op\":{},\"gas\":\"{:#x}\",\"gasCost\":\"{:#x}\",\"memSize\":{},\
             \"stack\":[{}],\"depth\":{},\"returnData\":\"{}\",\"refund\":\"{:#x}\",\"opName\":\"",
            p.pc,
            p.op,
            p.gas,
            p.gas.saturating_sub(gas_after),
            p.mem_size,
            p.stack,
            p.depth,
            p.return_data,
            p.refund,
        );
        match kiln_frontend::info(p.op) {
            Some(info) => line.push_str(info.name),
            // geth's name for a byte that is no opcode.
            None => {
                let _ = write!(line, "opcode {:#x} not defined", p.op);
            }
        }
        line.push('"');
        if let Some(status) = error {
            let _ = write!(line, ",\"error\":\"{status:?}\"");
        }
        line.push_str("}\n");
        if let Err(e) = self.out.write_all(line.as_bytes()) {
            self.error = Some(e);
        }
    }
}

impl<W: Write> Tracer for JsonTracer<W> {
    const ENABLED: bool = true;

    fn step(&mut self, ctx: &Context, opcode: u8) {
        // The previous instruction of this frame has run: `ctx.gas` is the gas after it.
        self.flush_pending(ctx.gas, None);
        if self.error.is_some() {
            return;
        }
        let depth = ctx.depth;
        // Deeper frames have returned; a new frame starts with a zero counter.
        self.frame_refunds.resize(depth + 1, 0);
        self.frame_refunds[depth] = ctx.refund;
        // The sum cannot be negative (a frame only takes back what the frames below it
        // counted); clamped rather than trusted, as a line must not wrap to 2^64.
        let refund = self.frame_refunds.iter().sum::<i64>().max(0) as u64;
        let mut stack = String::with_capacity(ctx.stack.len() * 8);
        for (i, v) in ctx.stack.as_slice().iter().enumerate() {
            if i > 0 {
                stack.push(',');
            }
            let _ = write!(stack, "\"{v:#x}\"");
        }
        self.pending = Some(Pending {
            pc: ctx.pc,
            op: opcode,
            gas: ctx.gas,
            mem_size: ctx.memory.len(),
            stack,
            depth: depth + 1,
            return_data: hex::encode_prefixed(&ctx.return_data),
            refund,
        });
    }

    fn frame_end(&mut self, ctx: &Context, status: Status) {
        if status.is_halt() {
            // An exceptional halt consumes all the frame's gas: that is what the instruction
            // cost, whatever it had charged before the check that failed (which depends on the
            // order an EVM checks in).
            self.flush_pending(0, Some(status));
        } else {
            self.flush_pending(ctx.gas, None);
        }
    }
}

/// The facts of the line that ends a trace.
pub struct Summary<'a> {
    /// The state root after the transaction.
    pub state_root: B256,
    /// Return data of a success or revert.
    pub output: &'a [u8],
    /// Gas the transaction used, as its receipt reports it (intrinsic gas included, refund
    /// deducted).
    pub gas_used: u64,
    /// Whether the transaction succeeded (no revert, no exceptional halt).
    pub pass: bool,
    /// The fork's name (`Cancun`, ...).
    pub fork: &'a str,
    /// How long the transaction took.
    pub time: Duration,
}

impl Summary<'_> {
    /// The EIP-3155 summary: `{"stateRoot","output","gasUsed","pass","fork","time"}`, with
    /// `time` in nanoseconds, as geth, revm and evmone end their traces.
    pub fn to_line(&self) -> String {
        format!(
            "{{\"stateRoot\":\"{}\",\"output\":\"{}\",\"gasUsed\":\"{:#x}\",\"pass\":{},\
             \"fork\":\"{}\",\"time\":{}}}",
            self.state_root,
            hex::encode_prefixed(self.output),
            self.gas_used,
            self.pass,
            self.fork,
            self.time.as_nanos()
        )
    }
}
