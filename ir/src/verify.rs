//! The IR verifier: structural invariants every pass must keep.
//!
//! It reports every violation it finds, each with its block, instruction and bytecode offset,
//! rather than stopping at the first: a broken pass usually breaks one invariant in many
//! places, and the pattern says which pass it was.

use crate::function::{Function, InstKind, Target, Terminator, Value};
use kiln_frontend::opcode::info;
use std::collections::HashSet;

/// One violated invariant and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    pub block: usize,
    /// The instruction's index in the block, when the violation is at one.
    pub inst: Option<usize>,
    /// The bytecode offset: the instruction's, or the block's first.
    pub pc: u32,
    pub message: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "block{}", self.block)?;
        if let Some(i) = self.inst {
            write!(f, " inst {i}")?;
        }
        write!(f, " (pc {:#x}): {}", self.pc, self.message)
    }
}

/// Every violation the verifier found, in block order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyErrors(pub Vec<VerifyError>);

impl std::fmt::Display for VerifyErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the IR verifier found {} error(s):", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifyErrors {}

/// Checks that values are defined before use within their block and defined once, that
/// `Input` depths are in range, that every op is one of the opcode table's with its arity
/// (operands, and a result unless it suspends the frame), that gas sections are ordered, that
/// exit stacks match the recorded stack effect, and that every target and resume point names
/// a block.
pub fn verify(f: &Function) -> Result<(), VerifyErrors> {
    let n = f.blocks.len();
    let mut errors = Vec::new();
    let mut defined_anywhere: HashSet<Value> = HashSet::new();
    for (b, block) in f.blocks.iter().enumerate() {
        let mut err = |inst: Option<usize>, message: String| {
            let pc = inst.map_or(block.pc, |i| block.insts[i].pc);
            errors.push(VerifyError { block: b, inst, pc, message });
        };
        let mut defined: HashSet<Value> = HashSet::new();
        let mut inputs_seen = 0u16;
        for (i, inst) in block.insts.iter().enumerate() {
            for a in &inst.args {
                if !defined.contains(a) {
                    err(Some(i), format!("uses v{} before its definition in the block", a.0));
                }
            }
            match inst.kind {
                InstKind::Input(d) => {
                    if d != inputs_seen {
                        err(Some(i), format!("reads input {d}, expected {inputs_seen}"));
                    }
                    inputs_seen = inputs_seen.max(d) + 1;
                }
                InstKind::Const(_) if !inst.args.is_empty() => {
                    err(Some(i), "constant with operands".into());
                }
                InstKind::Op(op) => match info(op) {
                    None => err(Some(i), format!("op {op:#04x} is not in the opcode table")),
                    Some(o) => {
                        if inst.args.len() != o.inputs as usize {
                            err(
                                Some(i),
                                format!(
                                    "{} takes {} operands, has {}",
                                    o.name,
                                    o.inputs,
                                    inst.args.len()
                                ),
                            );
                        }
                        let result = o.outputs == 1 && !o.suspends;
                        if inst.result.is_some() != result {
                            let has = if inst.result.is_some() { "has" } else { "has none" };
                            err(Some(i), format!("{}: result {has}", o.name));
                        }
                    }
                },
                _ => {}
            }
            if let Some(r) = inst.result {
                if r.0 >= f.num_values || !defined_anywhere.insert(r) {
                    err(Some(i), format!("redefines or misnumbers v{}", r.0));
                }
                defined.insert(r);
            }
        }
        if inputs_seen != block.stack_in {
            err(None, format!("stack_in {} but {} inputs read", block.stack_in, inputs_seen));
        }
        for v in &block.exit {
            if !defined.contains(v) {
                err(None, format!("exit stack holds undefined v{}", v.0));
            }
        }
        let mut last = 0;
        for s in &block.sections {
            if s.at < last || s.at > block.insts.len() {
                err(None, format!("gas section at {} out of order", s.at));
            }
            last = s.at;
        }
        let check_block = |err: &mut dyn FnMut(Option<usize>, String), t: usize| {
            if t >= n {
                err(None, format!("target block{t} does not exist"));
            }
        };
        let check_target = |err: &mut dyn FnMut(Option<usize>, String), t: &Target| match t {
            Target::Block(t) => check_block(err, *t),
            Target::Dynamic(v) if !defined.contains(v) => {
                err(None, format!("jump target v{} undefined", v.0))
            }
            _ => {}
        };
        match &block.term {
            Terminator::Jump(t) => check_target(&mut err, t),
            Terminator::JumpI { cond, target, fallthrough } => {
                if !defined.contains(cond) {
                    err(None, format!("condition v{} undefined", cond.0));
                }
                check_target(&mut err, target);
                check_block(&mut err, *fallthrough);
            }
            Terminator::FallThrough(t) => check_block(&mut err, *t),
            Terminator::Suspend { resume } => {
                check_block(&mut err, *resume);
                if *resume < n && f.blocks[*resume].resume_index.is_none() {
                    err(None, format!("suspends into block{resume}, which is not a resume point"));
                }
            }
            Terminator::Stop
            | Terminator::Exit
            | Terminator::InvalidOpcode
            | Terminator::Interpret { .. } => {}
        }
    }
    let at = |b: usize| f.blocks.get(b).map_or(0, |block| block.pc);
    let mut err = |b: usize, message: String| {
        errors.push(VerifyError { block: b, inst: None, pc: at(b), message });
    };
    for (b, block) in f.blocks.iter().enumerate() {
        if block.prepaid == 0 {
            continue;
        }
        let Some(s) = block.term.unconditional() else {
            err(b, "prepays without an unconditional static successor".into());
            continue;
        };
        match f.blocks.get(s).and_then(|s| s.sections.first()) {
            Some(first) if first.at == 0 && first.gas == block.prepaid => {}
            _ => err(b, "prepaid gas is not the successor's entry section".into()),
        }
        if block.sections.last().is_none_or(|l| l.gas < block.prepaid) {
            err(b, "prepaid gas exceeds the last section".into());
        }
    }
    for (i, &r) in f.resumes.iter().enumerate() {
        if r >= n || f.blocks[r].resume_index != Some(i as u32) {
            err(r, format!("resume point {i} mismatched"));
        }
    }
    if f.jumpdest_gas.len() != f.jumpdests.len() {
        err(0, "jumpdest gas table misaligned".into());
    }
    for b in f.jumpdests.iter().flatten() {
        if *b >= n || !f.blocks[*b].is_jumpdest {
            err(*b, "jumpdest table names a non-JUMPDEST block".into());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(VerifyErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::SpecId;

    #[test]
    fn catches_use_before_definition() {
        let mut f = crate::lift(&[0x60, 0x01, 0x60, 0x02, 0x01, 0x00], SpecId::Osaka);
        assert_eq!(verify(&f), Ok(()));
        f.blocks[0].insts.swap(0, 2);
        assert!(verify(&f).is_err());
    }

    #[test]
    fn catches_bad_targets() {
        let mut f = crate::lift(&[0x00], SpecId::Osaka);
        f.blocks[0].term = Terminator::FallThrough(7);
        let errors = verify(&f).unwrap_err().0;
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("block7"), "{}", errors[0]);
    }

    #[test]
    fn reports_every_error_with_its_location() {
        // PUSH1 1 PUSH1 2 ADD; JUMPDEST PUSH1 3 PUSH1 4 MUL STOP
        let code = [0x60, 0x01, 0x60, 0x02, 0x01, 0x5b, 0x60, 0x03, 0x60, 0x04, 0x02, 0x00];
        let mut f = crate::lift(&code, SpecId::Osaka);
        assert_eq!(verify(&f), Ok(()));
        // An ADD that lost an operand, and a MUL that lost its result.
        f.blocks[0].insts[2].args.pop();
        let mul = f.blocks[1].insts.iter().position(|i| i.kind == InstKind::Op(0x02)).unwrap();
        f.blocks[1].insts[mul].result = None;
        let errors = verify(&f).unwrap_err();
        let text = errors.to_string();
        assert!(text.contains("block0 inst 2 (pc 0x4): ADD takes 2 operands, has 1"), "{text}");
        assert!(text.contains("(pc 0xa): MUL: result has none"), "{text}");
        assert!(errors.0.iter().any(|e| e.block == 1 && e.inst == Some(mul)), "{text}");
    }

    #[test]
    fn catches_ops_the_table_does_not_have() {
        let mut f = crate::lift(&[0x60, 0x01, 0x15, 0x00], SpecId::Osaka);
        let iszero = f.blocks[0].insts.iter().position(|i| i.kind == InstKind::Op(0x15)).unwrap();
        f.blocks[0].insts[iszero].kind = InstKind::Op(0x0c);
        let text = verify(&f).unwrap_err().to_string();
        assert!(text.contains("op 0x0c is not in the opcode table"), "{text}");
    }
}
