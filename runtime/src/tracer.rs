//! EIP-3155 JSON traces: one line per executed instruction.

use crate::context::Context;
use crate::interpreter::Tracer;
use std::io::Write;

/// Writes an EIP-3155 trace line for every step to `out`. `gasCost` is the instruction's
/// static cost; dynamic costs show in the next line's `gas`.
pub struct JsonTracer<W: Write> {
    out: W,
    /// The first write error; tracing stops there and the caller can report it.
    pub error: Option<std::io::Error>,
}

impl<W: Write> JsonTracer<W> {
    pub fn new(out: W) -> Self {
        Self { out, error: None }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Tracer for JsonTracer<W> {
    const ENABLED: bool = true;

    fn step(&mut self, ctx: &Context, opcode: u8, static_gas: u64) {
        if self.error.is_some() {
            return;
        }
        let name = kiln_frontend::info(opcode).map_or("INVALID", |i| i.name);
        let stack: Vec<String> =
            ctx.stack.as_slice().iter().map(|v| format!("\"{v:#x}\"")).collect();
        let line = format!(
            "{{\"pc\":{},\"op\":{},\"gas\":\"{:#x}\",\"gasCost\":\"{:#x}\",\"memSize\":{},\"stack\":[{}],\"depth\":{},\"refund\":{},\"opName\":\"{}\"}}",
            ctx.pc,
            opcode,
            ctx.gas,
            static_gas,
            ctx.memory.len(),
            stack.join(","),
            ctx.depth + 1,
            ctx.refund,
            name
        );
        if let Err(e) = writeln!(self.out, "{line}") {
            self.error = Some(e);
        }
    }
}
