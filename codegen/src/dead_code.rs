//! Removes instructions whose results nothing uses and that have no effect: chiefly loads of
//! stack limbs a block reads whole but uses in part (a jump target's low limb, a value known
//! to fit 64 bits), and the constants of limbs nothing reads.
//!
//! With the mid-end off (see [`crate::jit::host_isa`]) nothing else removes them, and
//! Cranelift's lowering keeps every load it meets, used or not: each would be machine code
//! run on every pass through its block.

use cranelift_codegen::entity::SecondaryMap;
use cranelift_codegen::ir::{Function, Inst, InstructionData, Opcode, Value};

/// Whether `inst` can go when its results are unused: no call, branch, store, trap or other
/// effect, and a load only if it is marked as unable to trap (every load lowering makes).
fn removable(func: &Function, inst: Inst) -> bool {
    let data = &func.dfg.insts[inst];
    let op = data.opcode();
    if op == Opcode::Load {
        return matches!(data, InstructionData::Load { flags, .. } if func.dfg.mem_flags[*flags].notrap());
    }
    !(op.is_call()
        || op.is_branch()
        || op.is_terminator()
        || op.is_return()
        || op.can_trap()
        || op.can_load()
        || op.can_store()
        || op.other_side_effects())
}

/// Removes unused, effect-free instructions from `func`'s layout, including those only such
/// instructions used.
pub fn remove(func: &mut Function) {
    let mut uses: SecondaryMap<Value, u32> = SecondaryMap::new();
    let mut insts = Vec::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            insts.push(inst);
            for v in func.dfg.inst_values(inst) {
                uses[func.dfg.resolve_aliases(v)] += 1;
            }
        }
    }
    // In reverse, so that within a block an instruction whose only users went is seen after
    // them. A user laid out after its definition's block (a loop's back edge, a cold block
    // moved to the end) keeps that definition: the pass errs on the side of keeping code.
    for &inst in insts.iter().rev() {
        let unused = func.dfg.inst_results(inst).iter().all(|&r| uses[r] == 0);
        if !unused || !removable(func, inst) {
            continue;
        }
        let args: Vec<Value> = func.dfg.inst_values(inst).collect();
        for v in args {
            let v = func.dfg.resolve_aliases(v);
            uses[v] = uses[v].saturating_sub(1);
        }
        func.layout.remove_inst(inst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData, Signature};
    use cranelift_codegen::isa::CallConv;
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

    #[test]
    fn unused_effect_free_instructions_go_and_the_rest_stay() {
        let mut sig = Signature::new(CallConv::SystemV);
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I64));
        let mut func = Function::with_name_signature(Default::default(), sig);
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let p = b.block_params(entry)[0];
        // A chain nothing uses: a load that cannot trap and an addition of it.
        let dead_load = b.ins().load(types::I64, MemFlagsData::trusted(), p, 0);
        let dead_sum = b.ins().iadd_imm_s(dead_load, 1);
        // A load that may trap stays, used or not.
        let trapping = b.ins().load(types::I64, MemFlagsData::new(), p, 8);
        // A used load and what uses it stay; so does a store.
        let used = b.ins().load(types::I64, MemFlagsData::trusted(), p, 16);
        b.ins().store(MemFlagsData::trusted(), used, p, 24);
        b.ins().return_(&[used]);
        b.seal_all_blocks();
        b.finalize(crate::jit::host_isa_for_tools().expect("host").frontend_config());
        remove(&mut func);
        let kept: Vec<Value> = func
            .layout
            .block_insts(entry)
            .flat_map(|i| func.dfg.inst_results(i).to_vec())
            .collect();
        assert!(!kept.contains(&dead_load) && !kept.contains(&dead_sum), "the dead chain went");
        assert!(kept.contains(&trapping) && kept.contains(&used));
        assert_eq!(func.layout.block_insts(entry).count(), 4, "two loads, the store, the return");
    }
}
