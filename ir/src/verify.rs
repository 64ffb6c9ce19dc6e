//! The IR verifier: structural invariants every pass must keep.

use crate::function::{Function, InstKind, Target, Terminator, Value};
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    pub block: usize,
    pub message: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "block{}: {}", self.block, self.message)
    }
}

impl std::error::Error for VerifyError {}

/// Checks that values are defined before use within their block and defined once, that
/// `Input` depths are in range, that gas sections are ordered, that exit stacks match the
/// recorded stack effect, and that every target and resume point names a block.
pub fn verify(f: &Function) -> Result<(), VerifyError> {
    let n = f.blocks.len();
    let mut defined_anywhere: HashSet<Value> = HashSet::new();
    for (b, block) in f.blocks.iter().enumerate() {
        let err = |message: String| Err(VerifyError { block: b, message });
        let mut defined: HashSet<Value> = HashSet::new();
        let mut inputs_seen = 0u16;
        for (i, inst) in block.insts.iter().enumerate() {
            for a in &inst.args {
                if !defined.contains(a) {
                    return err(format!(
                        "inst {i} uses v{} before its definition in the block",
                        a.0
                    ));
                }
            }
            match inst.kind {
                InstKind::Input(d) => {
                    if d != inputs_seen {
                        return err(format!("inst {i} reads input {d}, expected {inputs_seen}"));
                    }
                    inputs_seen += 1;
                }
                InstKind::Const(_) if !inst.args.is_empty() => {
                    return err(format!("inst {i}: constant with operands"));
                }
                _ => {}
            }
            if let Some(r) = inst.result {
                if r.0 >= f.num_values || !defined_anywhere.insert(r) {
                    return err(format!("inst {i} redefines or misnumbers v{}", r.0));
                }
                defined.insert(r);
            }
        }
        if inputs_seen != block.stack_in {
            return err(format!("stack_in {} but {} inputs read", block.stack_in, inputs_seen));
        }
        for v in &block.exit {
            if !defined.contains(v) {
                return err(format!("exit stack holds undefined v{}", v.0));
            }
        }
        let mut last = 0;
        for s in &block.sections {
            if s.at < last || s.at > block.insts.len() {
                return err(format!("gas section at {} out of order", s.at));
            }
            last = s.at;
        }
        let check_block = |t: usize| {
            if t < n {
                Ok(())
            } else {
                Err(VerifyError { block: b, message: format!("target block{t} does not exist") })
            }
        };
        let check_target = |t: &Target| match t {
            Target::Block(t) => check_block(*t),
            Target::Dynamic(v) if !defined.contains(v) => {
                Err(VerifyError { block: b, message: format!("jump target v{} undefined", v.0) })
            }
            _ => Ok(()),
        };
        match &block.term {
            Terminator::Jump(t) => check_target(t)?,
            Terminator::JumpI { cond, target, fallthrough } => {
                if !defined.contains(cond) {
                    return err(format!("condition v{} undefined", cond.0));
                }
                check_target(target)?;
                check_block(*fallthrough)?;
            }
            Terminator::FallThrough(t) => check_block(*t)?,
            Terminator::Suspend { resume } => {
                check_block(*resume)?;
                if f.blocks[*resume].resume_index.is_none() {
                    return err(format!(
                        "suspends into block{resume}, which is not a resume point"
                    ));
                }
            }
            Terminator::Stop | Terminator::Exit | Terminator::InvalidOpcode => {}
        }
    }
    for (b, block) in f.blocks.iter().enumerate() {
        if block.prepaid == 0 {
            continue;
        }
        let err = |message: &str| Err(VerifyError { block: b, message: message.into() });
        let Some(s) = block.term.unconditional() else {
            return err("prepays without an unconditional static successor");
        };
        match f.blocks.get(s).and_then(|s| s.sections.first()) {
            Some(first) if first.at == 0 && first.gas == block.prepaid => {}
            _ => return err("prepaid gas is not the successor's entry section"),
        }
        if block.sections.last().is_none_or(|l| l.gas < block.prepaid) {
            return err("prepaid gas exceeds the last section");
        }
    }
    for (i, &r) in f.resumes.iter().enumerate() {
        if r >= n || f.blocks[r].resume_index != Some(i as u32) {
            return Err(VerifyError { block: r, message: format!("resume point {i} mismatched") });
        }
    }
    if f.jumpdest_gas.len() != f.jumpdests.len() {
        return Err(VerifyError { block: 0, message: "jumpdest gas table misaligned".into() });
    }
    for b in f.jumpdests.iter().flatten() {
        if *b >= n || !f.blocks[*b].is_jumpdest {
            return Err(VerifyError {
                block: *b,
                message: "jumpdest table names a non-JUMPDEST block".into(),
            });
        }
    }
    Ok(())
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
        assert!(verify(&f).unwrap_err().message.contains("block7"));
    }
}
