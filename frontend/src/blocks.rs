//! Basic blocks and the control-flow graph.
//!
//! A block starts at offset 0, at every JUMPDEST, and after every instruction that ends a
//! block (a terminator or JUMPI). Where a PUSH feeds a JUMP or JUMPI directly, the target is
//! resolved statically: to the block at that JUMPDEST, or to "invalid" if the target is not
//! one (PUSH data is never a destination).

use crate::analysis::JumpTable;
use crate::opcode::{self, immediate_size, info_in};
use crate::spec::SpecId;
use std::fmt;

/// One decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instruction {
    pub pc: u32,
    pub opcode: u8,
    /// Offset of the immediate in the code and its length as present (a PUSH at the end of the
    /// code may be truncated; the missing bytes read as zero).
    pub imm_start: u32,
    pub imm_len: u8,
}

impl Instruction {
    /// The PUSH immediate as big-endian bytes, zero-extended on the right if truncated.
    pub fn immediate<'a>(&self, code: &'a [u8]) -> &'a [u8] {
        &code[self.imm_start as usize..self.imm_start as usize + self.imm_len as usize]
    }

    /// The PUSH value as a 32-byte big-endian word (PUSH0 gives zero).
    pub fn push_value(&self, code: &[u8]) -> [u8; 32] {
        let size = immediate_size(self.opcode);
        let mut word = [0u8; 32];
        let data = self.immediate(code);
        word[32 - size..32 - size + data.len()].copy_from_slice(data);
        word
    }

    pub fn is_push(&self) -> bool {
        self.opcode == opcode::PUSH0 || immediate_size(self.opcode) > 0
    }
}

/// A jump whose target is known at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JumpTarget {
    /// Target computed at run time.
    Dynamic,
    /// A valid JUMPDEST, as a block index.
    Block(usize),
    /// A constant that is not a JUMPDEST: taking the jump is an exceptional halt.
    Invalid,
}

/// How control leaves a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminator {
    /// Falls into the next block (which starts at a JUMPDEST).
    FallThrough(usize),
    Jump(JumpTarget),
    /// Conditional jump; otherwise falls through to the block given, which is
    /// `blocks.len()` when the JUMPI is the last instruction (the end of code is STOP).
    JumpI(JumpTarget, usize),
    /// STOP, RETURN, REVERT, INVALID, SELFDESTRUCT, an undefined opcode, or the end of code.
    Exit,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicBlock {
    /// Offset of the first instruction.
    pub start: u32,
    /// Indices into [`Cfg::instructions`].
    pub instructions: std::ops::Range<usize>,
    pub terminator: Terminator,
}

/// The code split into basic blocks.
#[derive(Clone, Debug)]
pub struct Cfg {
    pub instructions: Vec<Instruction>,
    pub blocks: Vec<BasicBlock>,
    /// Block index starting at each valid JUMPDEST offset (`u32::MAX` elsewhere): the dense
    /// pc → block table dynamic jumps go through.
    pub jumpdest_block: Vec<u32>,
}

impl Cfg {
    /// Decodes and splits `code` in one linear pass plus one pass over the blocks.
    pub fn build(code: &[u8], spec: SpecId) -> Self {
        let jumps = JumpTable::analyze(code);
        let mut instructions = Vec::with_capacity(code.len());
        let mut pc = 0usize;
        while pc < code.len() {
            let op = code[pc];
            let size = immediate_size(op);
            let imm_start = (pc + 1).min(code.len());
            let imm_end = (pc + 1 + size).min(code.len());
            instructions.push(Instruction {
                pc: pc as u32,
                opcode: op,
                imm_start: imm_start as u32,
                imm_len: (imm_end - imm_start) as u8,
            });
            pc += 1 + size;
        }

        let ends_block = |op: u8| match info_in(op, spec) {
            None => true,
            Some(i) => i.terminator || op == opcode::JUMPI,
        };
        // Pass 1: block boundaries.
        let mut blocks = Vec::new();
        let mut start = 0;
        for (i, ins) in instructions.iter().enumerate() {
            if ins.opcode == opcode::JUMPDEST && i > start {
                blocks.push((start, i));
                start = i;
            }
            if ends_block(ins.opcode) {
                blocks.push((start, i + 1));
                start = i + 1;
            }
        }
        if start < instructions.len() {
            blocks.push((start, instructions.len()));
        }

        let mut jumpdest_block = vec![u32::MAX; code.len()];
        for (b, &(s, _)) in blocks.iter().enumerate() {
            let first = instructions[s];
            if first.opcode == opcode::JUMPDEST && jumps.is_valid(first.pc as usize) {
                jumpdest_block[first.pc as usize] = b as u32;
            }
        }

        // Pass 2: terminators with static targets.
        let n_blocks = blocks.len();
        let static_target = |ins_idx: usize| -> JumpTarget {
            if ins_idx == 0 {
                return JumpTarget::Dynamic;
            }
            let prev = instructions[ins_idx - 1];
            if !prev.is_push() {
                return JumpTarget::Dynamic;
            }
            let word = prev.push_value(code);
            if word[..28].iter().any(|&b| b != 0) {
                return JumpTarget::Invalid;
            }
            let dest = u32::from_be_bytes(word[28..].try_into().expect("4 bytes")) as usize;
            match jumpdest_block.get(dest) {
                Some(&b) if b != u32::MAX => JumpTarget::Block(b as usize),
                _ => JumpTarget::Invalid,
            }
        };
        let blocks = blocks
            .iter()
            .enumerate()
            .map(|(b, &(s, e))| {
                let last = instructions[e - 1];
                let next = b + 1;
                let terminator = match last.opcode {
                    opcode::JUMP => Terminator::Jump(static_target(e - 1)),
                    opcode::JUMPI => Terminator::JumpI(static_target(e - 1), next),
                    op if ends_block(op) => Terminator::Exit,
                    _ if next < n_blocks => Terminator::FallThrough(next),
                    _ => Terminator::Exit,
                };
                BasicBlock { start: instructions[s].pc, instructions: s..e, terminator }
            })
            .collect();
        Cfg { instructions, blocks, jumpdest_block }
    }

    /// The block a dynamic jump to `pc` lands in, if `pc` is a valid JUMPDEST.
    pub fn block_at(&self, pc: usize) -> Option<usize> {
        self.jumpdest_block.get(pc).filter(|&&b| b != u32::MAX).map(|&b| b as usize)
    }
}

impl fmt::Display for Cfg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.blocks.iter().enumerate() {
            writeln!(
                f,
                "block{i} @{:#x} ({} instructions) -> {:?}",
                b.start,
                b.instructions.len(),
                b.terminator
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(code: &[u8]) -> Cfg {
        Cfg::build(code, SpecId::Osaka)
    }

    #[test]
    fn splits_at_jumpdest_and_terminators() {
        // 0: PUSH1 4; 2: JUMP; 3: INVALID; 4: JUMPDEST; 5: STOP
        let c = cfg(&[0x60, 0x04, 0x56, 0xfe, 0x5b, 0x00]);
        assert_eq!(c.blocks.len(), 3);
        assert_eq!(c.blocks[0].terminator, Terminator::Jump(JumpTarget::Block(2)));
        assert_eq!(c.blocks[1].terminator, Terminator::Exit);
        assert_eq!(c.blocks[2].start, 4);
        assert_eq!(c.block_at(4), Some(2));
        assert_eq!(c.block_at(3), None);
    }

    #[test]
    fn jumpi_falls_through_and_static_invalid_targets() {
        // 0: PUSH1 1; 2: PUSH1 9; 4: JUMPI; 5: PUSH1 1; 7: JUMP (dynamic? no: PUSH feeds it)
        let c = cfg(&[0x60, 0x01, 0x60, 0x09, 0x57, 0x60, 0x01, 0x56]);
        assert_eq!(c.blocks[0].terminator, Terminator::JumpI(JumpTarget::Invalid, 1));
        assert_eq!(c.blocks[1].terminator, Terminator::Jump(JumpTarget::Invalid));
    }

    #[test]
    fn dynamic_jump_and_push_data_target() {
        // 0: PUSH2 0x5b5b (data, not a JUMPDEST); 3: DUP1; 4: JUMP
        let c = cfg(&[0x61, 0x5b, 0x5b, 0x80, 0x56]);
        assert_eq!(c.blocks[0].terminator, Terminator::Jump(JumpTarget::Dynamic));
        assert_eq!(c.block_at(1), None);
    }

    #[test]
    fn falls_through_into_jumpdest() {
        // 0: PUSH0; 1: JUMPDEST; 2: STOP
        let c = cfg(&[0x5f, 0x5b, 0x00]);
        assert_eq!(c.blocks[0].terminator, Terminator::FallThrough(1));
        assert_eq!(c.blocks[1].terminator, Terminator::Exit);
    }

    #[test]
    fn truncated_push_is_zero_extended() {
        let c = cfg(&[0x61, 0x01]);
        let ins = c.instructions[0];
        assert_eq!(ins.imm_len, 1);
        assert_eq!(&ins.push_value(&[0x61, 0x01])[30..], &[0x01, 0x00]);
    }

    #[test]
    fn undefined_opcode_ends_block_per_fork() {
        // CLZ is undefined before Osaka.
        let code = [0x1e, 0x00];
        assert_eq!(Cfg::build(&code, SpecId::Prague).blocks.len(), 2);
        assert_eq!(Cfg::build(&code, SpecId::Osaka).blocks.len(), 1);
    }

    #[test]
    fn linear_in_size() {
        let code = vec![0x5b; 24 * 1024];
        let c = cfg(&code);
        assert_eq!(c.blocks.len(), code.len());
        let code: Vec<u8> =
            std::iter::repeat_n([0x61, 0x00, 0x00, 0x56], 6 * 1024).flatten().collect();
        assert_eq!(cfg(&code).blocks.len(), 6 * 1024);
    }
}
