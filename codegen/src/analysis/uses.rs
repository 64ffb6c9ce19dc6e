//! Where values are used within a block: what lowering may load lazily, and which operands
//! an instruction uses for the last time.

use kiln_ir::{Target, Terminator};

/// Per instruction of `block`: bit `k` is set when its operand `k` is used for the last time
/// there (not by a later instruction, the terminator or the block's exit stack).
pub fn last_uses(block: &kiln_ir::Block) -> Vec<u8> {
    let mut live = exit_uses(block);
    let mut dies = vec![0u8; block.insts.len()];
    for (i, inst) in block.insts.iter().enumerate().rev() {
        for (k, a) in inst.args.iter().enumerate().take(8) {
            if !live.contains(&a.0) {
                dies[i] |= 1 << k;
            }
        }
        for a in &inst.args {
            live.insert(a.0);
        }
    }
    dies
}

/// The values a block's exit reads: its exit stack and its terminator's operands.
pub fn exit_uses(block: &kiln_ir::Block) -> std::collections::HashSet<u32> {
    let mut used: std::collections::HashSet<u32> = block.exit.iter().map(|v| v.0).collect();
    match block.term {
        Terminator::JumpI { cond, target, .. } => {
            used.insert(cond.0);
            if let Target::Dynamic(t) = target {
                used.insert(t.0);
            }
        }
        Terminator::Jump(Target::Dynamic(t)) => {
            used.insert(t.0);
        }
        _ => {}
    }
    used
}

/// The block's entry items something reads (an instruction or the exit): the stack items a
/// block only pops are not loaded from memory or taken from their variables.
pub fn used_inputs(block: &kiln_ir::Block) -> std::collections::HashSet<u32> {
    let mut used = exit_uses(block);
    used.extend(block.insts.iter().flat_map(|i| i.args.iter().map(|a| a.0)));
    used
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_frontend::opcode as op;
    use kiln_frontend::SpecId;
    use kiln_ir::InstKind;

    #[test]
    fn last_uses_mark_operands_not_needed_after_the_instruction() {
        // fibonacci's loop body: DUP2 DUP2 ADD SWAP2 POP ... on [n, a, b]: the ADD's operands
        // are b (top) and a; a is popped, b stays on the stack.
        let code = alloy_primitives::hex!(
            "5f355f60015b8215601a578181019150909160019003916005565b9150505f5260205ff3"
        );
        let f = kiln_ir::build(&code, SpecId::Prague);
        // The last-use bits of the first instruction with `opcode`.
        let dies = |opcode: u8| {
            f.blocks
                .iter()
                .find_map(|b| {
                    let i = b.insts.iter().position(|i| i.kind == InstKind::Op(opcode))?;
                    Some(last_uses(b)[i])
                })
                .expect("the loop has it")
        };
        assert_eq!(dies(op::ADD), 0b10);
        // The loop counter's ISZERO reads n, which the JUMPI's fallthrough still needs.
        assert_eq!(dies(op::ISZERO), 0);
    }
}
