//! Bytecode to IR by abstract interpretation of the stack.

use crate::function::{
    Block, BlockId, Function, GasSection, Inst, InstKind, Target, Terminator, Value,
};
use kiln_frontend::blocks::{Cfg, Instruction, JumpTarget, Terminator as FeTerm};
use kiln_frontend::opcode::{self as op, info_in, observes_gas, suspends};
use kiln_frontend::{JumpTable, SpecId};
use ruint::aliases::U256;

/// One IR block under construction.
struct BlockBuilder {
    pc: u32,
    is_jumpdest: bool,
    resume_index: Option<u32>,
    insts: Vec<Inst>,
    sections: Vec<GasSection>,
    section_at: usize,
    section_gas: u64,
    /// The known top of the stack, bottom first; its bottom is `stack_in` below entry top.
    stack: Vec<Value>,
    stack_in: u16,
    growth: i32,
}

impl BlockBuilder {
    fn new(pc: u32, is_jumpdest: bool, resume_index: Option<u32>) -> Self {
        Self {
            pc,
            is_jumpdest,
            resume_index,
            insts: Vec::new(),
            sections: Vec::new(),
            section_at: 0,
            section_gas: 0,
            stack: Vec::new(),
            stack_in: 0,
            growth: 0,
        }
    }

    fn height(&self) -> i32 {
        self.stack.len() as i32 - self.stack_in as i32
    }

    fn emit(
        &mut self,
        values: &mut u32,
        kind: InstKind,
        args: Vec<Value>,
        has_result: bool,
        sp: i32,
        pc: u32,
    ) -> Option<Value> {
        let result = has_result.then(|| {
            *values += 1;
            Value(*values - 1)
        });
        self.insts.push(Inst { kind, args, result, sp, pc });
        result
    }

    /// Makes the top `n` items known, reading deeper entry items as `Input`s.
    fn ensure(&mut self, values: &mut u32, n: usize, pc: u32) {
        while self.stack.len() < n {
            let depth = self.stack_in;
            let sp = self.height();
            let v = self
                .emit(values, InstKind::Input(depth), vec![], true, sp, pc)
                .expect("has result");
            self.stack.insert(0, v);
            self.stack_in += 1;
        }
    }

    fn pop(&mut self, values: &mut u32, pc: u32) -> Value {
        self.ensure(values, 1, pc);
        self.stack.pop().expect("ensured")
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
        self.growth = self.growth.max(self.height());
    }

    fn charge(&mut self, gas: u64) {
        self.section_gas += gas;
    }

    fn close_section(&mut self) {
        if self.section_gas > 0 {
            self.sections.push(GasSection { at: self.section_at, gas: self.section_gas });
        }
        self.section_gas = 0;
        self.section_at = self.insts.len();
    }

    fn finish(mut self, term: Terminator) -> Block {
        self.close_section();
        Block {
            pc: self.pc,
            is_jumpdest: self.is_jumpdest,
            resume_index: self.resume_index,
            insts: self.insts,
            sections: self.sections,
            stack_in: self.stack_in,
            stack_growth: self.growth.max(0) as u16,
            exit: self.stack,
            term,
            prepaid: 0,
        }
    }
}

/// Lifts `code` to IR without optimizing. Linear in the size of the code.
pub fn lift(code: &[u8], spec: SpecId) -> Function {
    let cfg = Cfg::build(code, spec);
    let jumps = JumpTable::analyze(code);

    // Each frontend block becomes one IR block plus one per suspending instruction in it.
    let mut first_ir_block = Vec::with_capacity(cfg.blocks.len());
    let mut n = 0;
    for b in &cfg.blocks {
        first_ir_block.push(n);
        let ins = &cfg.instructions[b.instructions.clone()];
        n += 1 + ins
            .iter()
            .filter(|i| suspends(i.opcode) && info_in(i.opcode, spec).is_some())
            .count();
    }
    // A JUMPI that is the last instruction falls through past the end of the code, which is
    // STOP: one extra block stands for that.
    first_ir_block.push(n);
    let end_block = n;
    n += 1;
    let map_target = |t: JumpTarget, v: Value| match t {
        JumpTarget::Block(b) => Target::Block(first_ir_block[b]),
        JumpTarget::Invalid => Target::Invalid,
        JumpTarget::Dynamic => Target::Dynamic(v),
    };

    let mut values = 0u32;
    let mut blocks = Vec::with_capacity(n);
    let mut resumes = Vec::new();
    for b in &cfg.blocks {
        let instructions = &cfg.instructions[b.instructions.clone()];
        let first = instructions[0];
        let is_jumpdest = first.opcode == op::JUMPDEST && jumps.is_valid(first.pc as usize);
        let mut bb = BlockBuilder::new(first.pc, is_jumpdest, None);
        let mut term = None;
        for (k, ins) in instructions.iter().enumerate() {
            let Instruction { pc, opcode, .. } = *ins;
            let Some(info) = info_in(opcode, spec) else {
                term = Some(Terminator::InvalidOpcode);
                break;
            };
            bb.charge(info.static_gas as u64);
            match opcode {
                op::PUSH0..=op::PUSH32 => {
                    let value = U256::from_be_bytes(ins.push_value(code));
                    let sp = bb.height();
                    let v = bb
                        .emit(&mut values, InstKind::Const(value), vec![], true, sp, pc)
                        .expect("result");
                    bb.push(v);
                }
                op::PC => {
                    let sp = bb.height();
                    let v = bb
                        .emit(&mut values, InstKind::Const(U256::from(pc)), vec![], true, sp, pc)
                        .expect("result");
                    bb.push(v);
                }
                op::DUP1..=op::DUP16 => {
                    let n = (opcode - op::DUP1 + 1) as usize;
                    bb.ensure(&mut values, n, pc);
                    let v = bb.stack[bb.stack.len() - n];
                    bb.push(v);
                }
                op::SWAP1..=op::SWAP16 => {
                    let n = (opcode - op::SWAP1 + 1) as usize;
                    bb.ensure(&mut values, n + 1, pc);
                    let top = bb.stack.len() - 1;
                    bb.stack.swap(top, top - n);
                }
                op::POP => {
                    bb.pop(&mut values, pc);
                }
                op::JUMPDEST => {}
                op::STOP => {
                    term = Some(Terminator::Stop);
                    break;
                }
                op::INVALID => {
                    term = Some(Terminator::InvalidOpcode);
                    break;
                }
                op::JUMP => {
                    let target = bb.pop(&mut values, pc);
                    let FeTerm::Jump(t) = b.terminator else { unreachable!("JUMP ends its block") };
                    term = Some(Terminator::Jump(map_target(t, target)));
                    break;
                }
                op::JUMPI => {
                    let target = bb.pop(&mut values, pc);
                    let cond = bb.pop(&mut values, pc);
                    let FeTerm::JumpI(t, next) = b.terminator else {
                        unreachable!("JUMPI ends its block")
                    };
                    term = Some(Terminator::JumpI {
                        cond,
                        target: map_target(t, target),
                        fallthrough: first_ir_block[next],
                    });
                    break;
                }
                _ => {
                    let sp = bb.height();
                    let args: Vec<Value> =
                        (0..info.inputs).map(|_| bb.pop(&mut values, pc)).collect();
                    if suspends(opcode) {
                        // The call's operands go to the runtime; the frame resumes in the next
                        // IR block with the result pushed on the memory stack.
                        bb.emit(&mut values, InstKind::Op(opcode), args, false, sp, pc);
                        let resume_id = blocks.len() + 1;
                        let resume_index = resumes.len() as u32;
                        resumes.push(resume_id);
                        // The call instruction is the last of its block: its section ends here.
                        let done = std::mem::replace(
                            &mut bb,
                            BlockBuilder::new(
                                instructions.get(k + 1).map_or(pc + 1, |i| i.pc),
                                false,
                                Some(resume_index),
                            ),
                        );
                        blocks.push(done.finish(Terminator::Suspend { resume: resume_id }));
                        continue;
                    }
                    let has_result = info.outputs == 1;
                    let v = bb.emit(&mut values, InstKind::Op(opcode), args, has_result, sp, pc);
                    if let Some(v) = v {
                        bb.push(v);
                    }
                    if info.terminator {
                        term = Some(Terminator::Exit);
                        break;
                    }
                    if observes_gas(opcode) {
                        bb.close_section();
                    }
                }
            }
        }
        let term = term.unwrap_or(match b.terminator {
            FeTerm::FallThrough(next) => Terminator::FallThrough(first_ir_block[next]),
            // Running off the end of the code is STOP.
            _ => Terminator::Stop,
        });
        blocks.push(bb.finish(term));
    }
    blocks.push(BlockBuilder::new(code.len() as u32, false, None).finish(Terminator::Stop));
    debug_assert_eq!(blocks.len(), n);
    debug_assert_eq!(end_block, n - 1);

    let jumpdests: Vec<Option<BlockId>> =
        jumps.iter().map(|pc| cfg.block_at(pc).map(|b| first_ir_block[b])).collect();
    let jumpdest_gas = vec![0; jumpdests.len()];
    Function { blocks, num_values: values, code_len: code.len(), jumpdests, jumpdest_gas, resumes }
}
