//! A tiny assembler: opcodes, minimal PUSHes, and labels resolved when the code is finished.

use alloy_primitives::U256;
use kiln_frontend::opcode as op;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

#[derive(Clone, Copy, Debug)]
enum Fixup {
    /// The label's position.
    At(Label),
    /// The label's position minus a base pc (for `PC PUSH2 d ADD JUMP`).
    From(Label, usize),
    /// The same modulo 2^16 (a label before `base` too: `PC PUSH2 d ADD PUSH2 0xffff AND`).
    Wrapping(Label, usize),
}

pub struct Asm {
    code: Vec<u8>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, Fixup)>,
    /// PUSH0 exists in the fork the program is for; without it, `PUSH1 0` stands in.
    push0: bool,
}

thread_local! {
    /// Whether programs assembled on this thread may use PUSH0: set per generated case (by
    /// its fork) rather than passed to each of the generator's many `Asm::new` calls.
    static PUSH0: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Whether the programs assembled next on this thread may use PUSH0 (Shanghai and later).
pub fn allow_push0(allowed: bool) {
    PUSH0.with(|p| p.set(allowed));
}

impl Asm {
    pub fn new() -> Self {
        Self { code: Vec::new(), labels: Vec::new(), fixups: Vec::new(), push0: PUSH0.get() }
    }

    pub fn pc(&self) -> usize {
        self.code.len()
    }

    /// The code emitted from `pc` on (fixups not yet applied).
    pub fn code_from(&self, pc: usize) -> &[u8] {
        &self.code[pc..]
    }

    /// Overwrites emitted bytes at `at` (a placeholder's immediate).
    pub fn patch(&mut self, at: usize, bytes: &[u8]) {
        self.code[at..at + bytes.len()].copy_from_slice(bytes);
    }

    pub fn op(&mut self, opcode: u8) {
        if opcode == op::PUSH0 && !self.push0 {
            self.code.extend_from_slice(&[op::PUSH1, 0]);
        } else {
            self.code.push(opcode);
        }
    }

    /// Opcodes, a PUSHn followed by its n immediate bytes.
    pub fn ops(&mut self, opcodes: &[u8]) {
        let mut i = 0;
        while i < opcodes.len() {
            let n = op::immediate_size(opcodes[i]);
            if n == 0 {
                self.op(opcodes[i]);
            } else {
                let end = (i + 1 + n).min(opcodes.len());
                self.code.extend_from_slice(&opcodes[i..end]);
            }
            i += 1 + n;
        }
    }

    /// Raw bytes (PUSH data, data sections, random bytes).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.code.extend_from_slice(bytes);
    }

    /// The shortest PUSH of `v` (PUSH0 for zero).
    pub fn push(&mut self, v: U256) {
        if v.is_zero() {
            self.op(op::PUSH0);
        } else {
            self.push_n(v, v.bit_len().div_ceil(8));
        }
    }

    pub fn push_u(&mut self, v: u64) {
        self.push(U256::from(v));
    }

    /// PUSHn of the low `n` bytes of `v`.
    pub fn push_n(&mut self, v: U256, n: usize) {
        assert!((1..=32).contains(&n));
        self.op(op::PUSH1 + n as u8 - 1);
        let be = v.to_be_bytes::<32>();
        self.raw(&be[32 - n..]);
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `l` here and emits the JUMPDEST it names.
    pub fn bind(&mut self, l: Label) {
        self.place(l);
        self.op(op::JUMPDEST);
    }

    /// Binds `l` here without a JUMPDEST (an invalid jump target).
    pub fn place(&mut self, l: Label) {
        assert!(self.labels[l.0].is_none(), "label bound twice");
        self.labels[l.0] = Some(self.pc());
    }

    /// The position `l` is bound at (code is only appended to, so it is final once bound).
    pub fn position(&self, l: Label) -> usize {
        self.labels[l.0].expect("label used but never bound")
    }

    /// PUSH2 of the label's position.
    pub fn push_label(&mut self, l: Label) {
        self.op(op::PUSH2);
        self.fixups.push((self.pc(), Fixup::At(l)));
        self.raw(&[0, 0]);
    }

    /// JUMP to `l`.
    pub fn jump(&mut self, l: Label) {
        self.push_label(l);
        self.op(op::JUMP);
    }

    /// JUMPI to `l` on the condition on top of the stack.
    pub fn jumpi(&mut self, l: Label) {
        self.push_label(l);
        self.op(op::JUMPI);
    }

    /// PUSH2 of the label's position minus `base`.
    pub fn push_label_from(&mut self, l: Label, base: usize) {
        self.op(op::PUSH2);
        self.fixups.push((self.pc(), Fixup::From(l, base)));
        self.raw(&[0, 0]);
    }

    /// PUSH2 of the label's position minus `base`, modulo 2^16.
    pub fn push_label_wrapping(&mut self, l: Label, base: usize) {
        self.op(op::PUSH2);
        self.fixups.push((self.pc(), Fixup::Wrapping(l, base)));
        self.raw(&[0, 0]);
    }

    pub fn finish(mut self) -> Vec<u8> {
        for (at, fix) in std::mem::take(&mut self.fixups) {
            let (l, base, wrap) = match fix {
                Fixup::At(l) => (l, 0, false),
                Fixup::From(l, base) => (l, base, false),
                Fixup::Wrapping(l, base) => (l, base, true),
            };
            let pos = self.labels[l.0].expect("label used but never bound");
            let d = pos.wrapping_sub(base);
            let d = if wrap { d & 0xffff } else { d };
            let v = u16::try_from(d).expect("label out of PUSH2 range");
            self.code[at..at + 2].copy_from_slice(&v.to_be_bytes());
        }
        self.code
    }
}
